"""How a trained model of each kind becomes a TFLite converter.

Each entry takes the trained model file, the compress stage's output
directory, the feature set and the progress display, and returns a
:class:`ConverterSource`: a ``tf.lite.TFLiteConverter`` holding the float
graph, a string naming the converter, and the outputs of any intermediate
model made on the way (torch: the ONNX file, run in onnxruntime), which
become ``CompressedModel.levels``. Quantization and everything after it is
shared by every kind.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

import edgeml


@dataclass
class ConverterSource:
    converter: Any
    version: str
    levels: dict[str, np.ndarray] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)


def keras_converter(model_path: Path) -> tuple[Any, str]:
    """A Keras 3 ``.keras`` file, with a batch of one, through ``TFLiteConverter.from_keras_model``.

    Measured with TF 2.21 / Keras 3: ``from_keras_model`` works (it exports a
    temporary SavedModel itself); ``from_concrete_functions`` on
    ``model.__call__`` leaves resource-variable reads in the graph and fails.
    The model is first wrapped with a fixed batch of one, as a microcontroller
    runs it: with the batch left dynamic every Reshape/Flatten becomes
    SHAPE + STRIDED_SLICE + PACK + RESHAPE (a small conv+flatten+dense model
    went from 11 ops and 5.4 KB to 4 ops and 3.9 KB).
    """
    with edgeml.native_stderr_muted():  # TensorFlow's C++ start-up chatter
        import keras
        import tensorflow as tf

    if not model_path.is_file():
        raise edgeml.DataError(f"{model_path} is missing: re-run the train stage")
    try:
        model = keras.models.load_model(model_path, compile=False)
    except Exception as exc:  # keras raises many types for a bad file or an unknown custom layer
        raise edgeml.DataError(f"{model_path} does not load as a Keras {keras.__version__} model "
                               f"({type(exc).__name__}: {_first_line(exc)}): re-run the train stage") from exc
    return keras_model_converter(model)


def keras_model_converter(model) -> tuple[Any, str]:
    """A converter for a Keras model in memory (the compressor's pruned or QAT-trained model too)."""
    import keras
    import tensorflow as tf

    # Fixed names: Keras numbers unnamed inputs and models per process, and
    # the names reach the flatbuffer, which must be byte-identical run to run.
    inputs = [keras.Input(batch_shape=(1, *tensor.shape[1:]), dtype=tensor.dtype, name=f"input_{i}")
              for i, tensor in enumerate(model.inputs)]
    batch_of_one = keras.Model(inputs, model(inputs[0] if len(inputs) == 1 else inputs), name="batch_of_one")
    return (tf.lite.TFLiteConverter.from_keras_model(batch_of_one),
            f"tensorflow {tf.__version__} (keras {keras.__version__})")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def keras_source(model_path: Path, out_dir: Path, features: edgeml.FeatureSet,
                 progress: edgeml.Progress) -> ConverterSource:
    converter, version = keras_converter(model_path)
    return ConverterSource(converter, version)


def torch_source(model_path: Path, out_dir: Path, features: edgeml.FeatureSet,
                 progress: edgeml.Progress) -> ConverterSource:
    """A ``torch.export`` program (``.pt2``) through a kept, checked ONNX file and onnx2tf (:mod:`torch_onnx`)."""
    from edgeml_tflite import torch_onnx

    onnx_path = Path(out_dir) / torch_onnx.ONNX_FILE
    progress.message("tflite-int8: torch.export program -> ONNX (opset %d)" % torch_onnx.OPSET)
    export = torch_onnx.export_onnx(model_path, onnx_path, tuple(features.input_shape))
    checked = torch_onnx.check_onnx(onnx_path)
    outputs, runtime = torch_onnx.run_onnxruntime(onnx_path, features.x["test"], progress)
    progress.message("tflite-int8: ONNX -> TensorFlow (onnx2tf)")
    converter, version = torch_onnx.onnx_converter(onnx_path)
    return ConverterSource(converter, version, levels={"onnx": outputs},
                           info={"onnx": {"file": torch_onnx.ONNX_FILE, "runtime": runtime, **export, **checked}})


#: Model kind -> converter factory. The compressor's ``input_kinds`` are its keys.
CONVERTER_SOURCES: dict[str, Callable[[Path, Path, edgeml.FeatureSet, edgeml.Progress], ConverterSource]] = {
    "keras": keras_source,
    "torch": torch_source,
}
