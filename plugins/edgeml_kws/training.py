"""The train stage: fit the DS-CNN on MFCC features, deterministically.

TensorFlow is imported here and nowhere at module level. Determinism: one
seed for Python, NumPy and TensorFlow (``keras.utils.set_random_seed``) and
deterministic TF ops, so the same features, config and seed give the same
weights, and :mod:`edgeml_kws.keras_archive` makes the file byte-identical.
"""

from __future__ import annotations

import numpy as np

from edgeml import FeatureSet, StageContext, TrainedModel
from edgeml_kws.keras_archive import save_model
from edgeml_kws.model import build_dscnn, count_macs

MODEL_FILE = "model.keras"


def train_dscnn(ctx: StageContext, features: FeatureSet) -> TrainedModel:
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(int(ctx.seed))
    tf.config.experimental.enable_op_determinism()
    cfg = ctx.app.train
    epochs, batch = int(cfg.epochs), int(cfg.batch_size)
    x, y = features.x, features.y

    model = build_dscnn(features.input_shape, len(features.classes), cfg)
    steps = epochs * int(np.ceil(len(y["train"]) / batch))
    lr = keras.optimizers.schedules.CosineDecay(float(cfg.learning_rate), decay_steps=max(1, steps),
                                                alpha=0.05)
    model.compile(optimizer=keras.optimizers.Adam(lr, name="adam"), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])

    progress = ctx.progress

    class EpochProgress(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            progress.update(epoch + 1, epochs, "train DS-CNN (epochs)")

    callbacks = [EpochProgress()]
    if cfg.early_stopping_patience:
        callbacks.append(keras.callbacks.EarlyStopping(monitor="val_accuracy", mode="max", restore_best_weights=True,
                                                       patience=int(cfg.early_stopping_patience)))
    history = model.fit(x["train"], y["train"], validation_data=(x["val"], y["val"]), epochs=epochs,
                        batch_size=batch, shuffle=True, verbose=0, callbacks=callbacks)

    save_model(model, ctx.out_dir / MODEL_FILE)
    scores = {split: model.predict(x[split], batch_size=512, verbose=0) for split in ("train", "val", "test")}
    accuracy = {split: float(np.mean(scores[split].argmax(1) == y[split])) for split in scores}
    macs, params = count_macs(model), int(model.count_params())
    metrics = {"train.accuracy": accuracy["train"], "val.accuracy": accuracy["val"],
               "epochs_run": float(len(history.history["loss"])), "macs": float(macs), "params": float(params)}
    info = {"architecture": "DS-CNN (conv, depthwise-separable blocks, GAP, 1x1 conv classifier)",
            "input_shape": list(features.input_shape), "classes": features.classes, "macs": macs,
            "params": params, "keras": keras.__version__, "tensorflow": tf.__version__}
    lat = ctx.target.latency_model
    if lat is not None:
        info["estimated_latency_ms"] = macs * lat.cycles_per_mac / ctx.target.clock_hz * 1e3
    return TrainedModel(kind="keras", path=MODEL_FILE, test_outputs=scores["test"].astype(np.float32),
                        metrics=metrics, info=info)
