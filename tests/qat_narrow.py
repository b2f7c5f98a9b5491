"""A narrow Keras CNN on data with rare loud examples: the case where INT8 PTQ loses accuracy.

Three classes by the energy of the top half of a 12x8 input. 3 % of the
examples are 10 x louder, so the calibrated input range is wide and ordinary
examples land on a coarse INT8 grid: plain post-training quantization loses
many points (about 18 on this seed), which quantization-aware training, trained on
that grid, partly recovers. Without the loud examples (``loud=0``) INT8 costs nothing.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from omegaconf import OmegaConf

import edgeml
from edgeml.testing import mark_finished
from tiny_keras_build import ROOT, TinyBuild

SHAPE = (12, 8, 1)


def narrow_features(loud: float = 0.03, gain: float = 10.0, seed: int = 0) -> edgeml.FeatureSet:
    rng = np.random.default_rng(seed)
    x, y = {}, {}
    for split, n in (("train", 1200), ("val", 200), ("test", 600)):
        xs = rng.normal(size=(n, *SHAPE)).astype(np.float32) * rng.uniform(0.3, 2.0, size=(n, 1, 1, 1))
        xs[rng.random(n) < loud] *= gain
        energy = np.abs(xs[:, :6]).mean(axis=(1, 2, 3))
        x[split], y[split] = xs.astype(np.float32), np.digitize(energy, [0.5, 1.0]).astype(np.int64)
    return edgeml.FeatureSet(x=x, y=y, classes=["low", "mid", "high"], spec={"kind": "narrow QAT benchmark"})


def make_narrow_build(compress: dict, loud: float = 0.03, width: int = 4, epochs: int = 30,
                      root: Path | None = None) -> TinyBuild:
    """Train conv(width) -> depthwise -> GAP -> dense -> softmax and return a build ready to compress."""
    import keras
    import tensorflow as tf

    features = narrow_features(loud)
    keras.utils.set_random_seed(0)
    tf.config.experimental.enable_op_determinism()
    L = keras.layers
    model = keras.Sequential([
        keras.Input(SHAPE), L.Conv2D(width, 3, padding="same", name="conv"), L.ReLU(name="conv_relu"),
        L.DepthwiseConv2D(3, padding="same", name="dw"), L.ReLU(name="dw_relu"),
        L.GlobalAveragePooling2D(name="pool"), L.Dense(3, name="classifier"), L.Softmax(name="scores")])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
    model.fit(features.x["train"], features.y["train"], epochs=epochs, batch_size=32, verbose=0)
    root = Path(root or tempfile.mkdtemp(prefix="qat-narrow-"))
    (root / "train").mkdir(parents=True)
    model.save(root / "train" / "model.keras")
    mark_finished(root / "train")
    trained = edgeml.TrainedModel(kind="keras", path="model.keras",
                                  test_outputs=model.predict(features.x["test"], verbose=0))
    defaults = {"compressor": None, "representative_samples": 200,
                "prune": {"fraction": 0.0, "fine_tune_epochs": 4, "learning_rate": 0.003, "batch_size": 32},
                "qat": {"enabled": False, "epochs": 10, "learning_rate": 0.003, "batch_size": 32}}
    config = OmegaConf.create({"seed": 0, "compress": OmegaConf.merge(defaults, compress)})
    target = edgeml.TargetProfile.from_config(OmegaConf.load(ROOT / "params" / "target" / "cortex-m4.yaml"))
    return TinyBuild(build_dir=root, features=features, trained=trained, config=config, target=target)


def accuracy(outputs, features: edgeml.FeatureSet) -> float:
    return float(np.mean(np.asarray(outputs).argmax(1) == features.y["test"]))
