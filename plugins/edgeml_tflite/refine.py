"""Pruning and quantization-aware training of a Keras model before its INT8 conversion.

``compress.prune.fraction > 0``: structured channel pruning (:mod:`pruning`)
and a fine-tune; the pruned float model's test outputs are the ``pruned``
level of the report. ``compress.qat.enabled``: a QAT fine-tune (:mod:`qat`);
the plain post-training quantization of the same (pruned) model is kept as
the ``ptq`` level, so report.json shows what QAT bought. Both fine-tunes fit
the model to the training split: for single-label classification with
probability outputs, to half the one-hot label and half the float model's
own output (distillation keeps what the float model knew); otherwise to the
float model's outputs (mean squared error).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import edgeml

from edgeml_tflite.keras_chain import build, chain_of, fold_batch_norm, weights_of
from edgeml_tflite.pruning import prune_channels


@dataclass
class Refined:
    model: Any                      # the Keras model to convert (pruned and/or QAT-trained, plain layers)
    ptq_model: Any | None           # with QAT: the model before QAT, for the plain PTQ comparison
    levels: dict[str, np.ndarray] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)


def wanted(cfg: Any) -> bool:
    """Whether ``config.compress`` asks for pruning or QAT."""
    prune, qat = cfg.get("prune") or {}, cfg.get("qat") or {}
    return float(prune.get("fraction") or 0.0) > 0 or bool(qat.get("enabled", False))


def refine_keras(model_path: Path, features: edgeml.FeatureSet, cfg: Any, seed: int,
                 progress: edgeml.Progress, calibration_x: np.ndarray) -> Refined:
    with edgeml.native_stderr_muted():
        import keras
        import tensorflow as tf

    keras.utils.set_random_seed(int(seed))
    tf.config.experimental.enable_op_determinism()
    teacher = keras.models.load_model(model_path, compile=False)
    chain = fold_batch_norm(chain_of(teacher))
    x_train, x_test = features.x["train"].astype(np.float32), features.x["test"].astype(np.float32)
    loss, targets = _objective(teacher.predict(x_train, batch_size=512, verbose=0), features)
    out = Refined(model=build(chain), ptq_model=None)
    fraction = float(cfg.prune.fraction)
    if fraction > 0:
        chain, kept = prune_channels(chain, fraction)
        pruned = build(chain)
        epochs = int(cfg.prune.fine_tune_epochs)
        _fine_tune(pruned, x_train, targets, loss, epochs, float(cfg.prune.learning_rate),
                   int(cfg.prune.batch_size), progress, "fine-tune pruned model")
        chain = weights_of(pruned, chain)
        out.model = build(chain)
        out.levels["pruned"] = out.model.predict(x_test, batch_size=512, verbose=0).astype(np.float32)
        out.info["pruning"] = {"fraction": fraction, "criterion": "L1 norm of each output channel's BN-folded kernel",
                               "kept_channels": kept, "fine_tune_epochs": epochs,
                               "params_before": int(teacher.count_params()),
                               "params_after": int(out.model.count_params())}
    if cfg.qat.enabled:
        out.ptq_model = out.model
        qat_model = build(chain, qat=True)
        set_ranges(qat_model, calibration_x)
        epochs = int(cfg.qat.epochs)
        _fine_tune(qat_model, x_train, targets, loss, epochs, float(cfg.qat.learning_rate),
                   int(cfg.qat.batch_size), progress, "quantization-aware training",
                   on_epoch=lambda: set_ranges(qat_model, calibration_x))
        out.model = build(weights_of(qat_model, chain))
        out.info["qat"] = {"epochs": epochs, "learning_rate": float(cfg.qat.learning_rate),
                           "method": "fake-quant fine-tune (TensorFlow fake_quant ops, straight-through): "
                                     "per-channel symmetric INT8 weights of the BN-folded kernels, "
                                     "moving-average INT8 activation ranges; weights then converted by the "
                                     "normal full-integer TFLite conversion",
                           "ptq_level": "ptq = plain post-training INT8 of the same model before QAT"}
    out.info["objective"] = loss if isinstance(loss, str) else "categorical cross-entropy"
    return out


def _objective(teacher_train: np.ndarray, features: edgeml.FeatureSet) -> tuple[Any, np.ndarray]:
    y = np.asarray(features.y["train"])
    probs = teacher_train.ndim == 2 and np.all(teacher_train >= 0) and \
        np.allclose(teacher_train.sum(1), 1.0, atol=1e-3)
    if np.issubdtype(y.dtype, np.integer) and y.ndim == 1 and probs and \
            teacher_train.shape[1] == len(features.classes):
        onehot = np.eye(len(features.classes), dtype=np.float32)[y]
        return "categorical_crossentropy", 0.5 * onehot + 0.5 * teacher_train.astype(np.float32)
    return "mean_squared_error", teacher_train.astype(np.float32)


def set_ranges(qat_model, calibration_x: np.ndarray) -> None:
    """Each activation fake-quant's range := min/max of its input over the calibration set, in
    order (a range depends on the ranges before it), as the converter will calibrate them."""
    import keras

    from edgeml_tflite.qat import ActivationQuant

    for layer in qat_model.layers:
        if isinstance(layer, ActivationQuant):
            probe = keras.Model(qat_model.inputs, layer.input)
            values = probe.predict(calibration_x, batch_size=256, verbose=0)
            layer.set_range(float(np.min(values)), float(np.max(values)))


def _fine_tune(model, x: np.ndarray, targets: np.ndarray, loss: str, epochs: int, lr: float, batch: int,
               progress: edgeml.Progress, task: str, on_epoch=None) -> None:
    import keras

    if epochs <= 0:
        return
    model.compile(optimizer=keras.optimizers.Adam(lr, name="adam"), loss=loss)

    class _Progress(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            progress.update(epoch + 1, epochs, task)
            if on_epoch is not None and epoch + 1 < epochs:
                on_epoch()

    model.fit(x, targets, batch_size=batch, epochs=epochs, shuffle=True, verbose=0, callbacks=[_Progress()])
