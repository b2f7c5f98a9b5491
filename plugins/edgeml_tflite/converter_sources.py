"""How a trained model of each kind becomes a TFLite converter.

Each entry takes the trained model file and returns ``(converter, version)``:
a ``tf.lite.TFLiteConverter`` holding the float graph, and a string naming
the converter. A new input kind (torch through ONNX, say) is one more function
registered in :data:`CONVERTER_SOURCES`; quantization and everything after it
is shared.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import edgeml


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


#: Model kind -> converter factory. The compressor's ``input_kinds`` are its keys.
CONVERTER_SOURCES: dict[str, Callable[[Path], tuple[Any, str]]] = {
    "keras": keras_converter,
}
