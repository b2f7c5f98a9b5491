"""The MLPerf Tiny keyword-spotting DS-CNN as a full-INT8 ``.tflite`` with random weights, for benchmarks.

The shape is the MLPerf Tiny reference's (mlcommons/tiny, benchmark/training/keyword_spotting/
keras_model.py, ``model_name == 'ds_cnn'``): input 49x10x1; Conv2D 64 filters 10x4 stride 2 'same' + BN +
ReLU + Dropout; 4 x [DepthwiseConv2D 3x3 'same' + BN + ReLU, Conv2D 64 1x1 + BN + ReLU]; Dropout;
AveragePooling2D with the reference's ``final_pool_size = (int(49/2), int(10/2)) = (24, 5)`` on the 25x5
map (one 1x1 output: the pool's default stride is its size, so the last row of the map is not read);
Flatten; Dense 12 with softmax. Dropout vanishes in inference and BN folds into the convolutions, so the
converted graph is CONV_2D, 4 x (DEPTHWISE_CONV_2D, CONV_2D), AVERAGE_POOL_2D, FULLY_CONNECTED, SOFTMAX:
320,000 + 4 x (72,000 + 512,000) + 768 = 2,656,768 MACs.

Why He-initialised weights and not Keras' defaults: with Glorot kernels (and Keras' fan-in of a depthwise
kernel counting all 64 channels) every ReLU layer shrinks the activations until the pooled features are
the same for every input and the int8 softmax is one constant vector, which would make the bit-exactness
check say nothing. He-normal kernels (a depthwise 3x3 has fan-in 9) keep every layer's scale, and inputs
with a per-example level and spread make the pooled features, hence the outputs, differ per example. No
training is needed for non-degenerate int8 ranges. The calibration set and the benchmark's examples come
from that same input distribution (different seeds).

The converted model is cached under ``${EDGEML_CACHE_DIR:-~/.cache/edgeml}/bench/`` keyed by a hash of
:class:`DsCnnSpec` (every field, the recipe included), so reruns skip TensorFlow's conversion.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

#: What the spec's hash covers besides its numbers: change it when the builder's code changes meaning.
RECIPE = ("mlperf-tiny ds_cnn shape; kernels he_normal, depthwise N(0, sqrt(2/9)), dense he_normal, zero bias, "
          "BN at Keras defaults; inputs level U(-2,2) + spread U(0.5,2) x N(0,1); TFLiteConverter full INT8, "
          "int8 input and output, Optimize.DEFAULT, TFLITE_BUILTINS_INT8")


@dataclass(frozen=True)
class DsCnnSpec:
    input_shape: tuple[int, int, int] = (49, 10, 1)
    filters: int = 64
    blocks: int = 4
    first_kernel: tuple[int, int] = (10, 4)
    first_stride: tuple[int, int] = (2, 2)
    classes: int = 12
    seed: int = 0
    calibration_examples: int = 64
    recipe: str = RECIPE

    @property
    def pool(self) -> tuple[int, int]:
        """The reference's ``final_pool_size``: half the input's height and width, rounded down."""
        return (self.input_shape[0] // 2, self.input_shape[1] // 2)

    @property
    def name(self) -> str:
        return f"MLPerf Tiny KWS DS-CNN ({self.filters} ch, {self.blocks} blocks)"

    def key(self) -> str:
        text = json.dumps(asdict(self), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def expected_macs(self) -> int:
        """MACs from the shapes alone (CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, as edgeml counts them)."""
        h = -(-self.input_shape[0] // self.first_stride[0])
        w = -(-self.input_shape[1] // self.first_stride[1])
        kh, kw = self.first_kernel
        first = h * w * self.filters * kh * kw * self.input_shape[2]
        block = h * w * self.filters * 9 + h * w * self.filters * self.filters
        return first + self.blocks * block + self.filters * self.classes


TINY = DsCnnSpec(filters=16, blocks=2)


def cache_dir() -> Path:
    return Path(os.environ.get("EDGEML_CACHE_DIR") or Path.home() / ".cache" / "edgeml").expanduser() / "bench"


def float_inputs(spec: DsCnnSpec, n: int, seed: int) -> np.ndarray:
    """``n`` float examples: a per-example level and spread around unit normal noise."""
    rng = np.random.default_rng(seed)
    level = rng.uniform(-2.0, 2.0, (n, 1, 1, 1))
    spread = rng.uniform(0.5, 2.0, (n, 1, 1, 1))
    return (level + spread * rng.standard_normal((n, *spec.input_shape))).astype(np.float32)


def keras_model(spec: DsCnnSpec):
    """The reference topology with batch size 1 (a dynamic batch would add SHAPE/PACK ops to the graph)."""
    import tensorflow as tf

    tf.keras.utils.set_random_seed(spec.seed)
    L = tf.keras.layers
    he = "he_normal"
    x_in = tf.keras.Input(shape=spec.input_shape, batch_size=1)
    x = L.Conv2D(spec.filters, spec.first_kernel, strides=spec.first_stride, padding="same",
                 kernel_initializer=he)(x_in)
    x = L.Activation("relu")(L.BatchNormalization()(x))
    x = L.Dropout(0.2)(x)
    for _ in range(spec.blocks):
        x = L.DepthwiseConv2D(3, padding="same",
                              depthwise_initializer=tf.keras.initializers.RandomNormal(0.0, (2.0 / 9.0) ** 0.5))(x)
        x = L.Activation("relu")(L.BatchNormalization()(x))
        x = L.Conv2D(spec.filters, 1, padding="same", kernel_initializer=he)(x)
        x = L.Activation("relu")(L.BatchNormalization()(x))
    x = L.Dropout(0.4)(x)
    x = L.AveragePooling2D(pool_size=spec.pool)(x)
    x = L.Flatten()(x)
    y = L.Dense(spec.classes, activation="softmax", kernel_initializer=he)(x)
    return tf.keras.Model(x_in, y)


def convert(spec: DsCnnSpec) -> bytes:
    import tensorflow as tf

    model = keras_model(spec)
    calib = float_inputs(spec, spec.calibration_examples, seed=spec.seed + 1000)

    def representative():
        for i in range(len(calib)):
            yield [calib[i:i + 1]]

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = representative
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    return conv.convert()


def tflite(spec: DsCnnSpec, cache: Path | None = None) -> tuple[bytes, str]:
    """The converted model and where it came from ("cache" or "converted now"); the cache file is
    ``ds_cnn-<spec key>.tflite`` with a ``.json`` beside it naming the spec and the converter."""
    from edgeml import native_output_captured

    root = Path(cache) if cache is not None else cache_dir()
    path = root / f"ds_cnn-{spec.key()}.tflite"
    if path.is_file():
        return path.read_bytes(), "cache"
    with native_output_captured((1, 2)):   # TensorFlow's converter logs to both
        data = convert(spec)
        import tensorflow as tf
        converter = f"tensorflow {tf.__version__}"
    root.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_bytes(data)
    tmp.replace(path)
    path.with_suffix(".json").write_text(json.dumps({"spec": asdict(spec), "converter": converter}, indent=2,
                                                    sort_keys=True) + "\n")
    return data, "converted now"
