"""The train stage: fit the DS-CNN on MFCC features, deterministically.

TensorFlow is imported here and nowhere at module level. Determinism: one
seed for Python, NumPy and TensorFlow (``keras.utils.set_random_seed``) and
deterministic TF ops, so the same features, config and seed give the same
weights, and :func:`edgeml.save_keras` makes the file byte-identical.
Epoch order and augmentation (:mod:`edgeml_kws.augment`) come from one NumPy
generator seeded by the build seed.
"""

from __future__ import annotations

import numpy as np

from edgeml import FeatureSet, StageContext, TrainedModel, native_stderr_muted
from edgeml_kws.augment import augment, augment_settings, enabled
from edgeml import save_keras as save_model
from edgeml_kws.model import build_dscnn, count_macs

MODEL_FILE = "model.keras"


def train_dscnn(ctx: StageContext, features: FeatureSet) -> TrainedModel:
    with native_stderr_muted():  # TensorFlow's C++ start-up chatter
        import keras
        import tensorflow as tf

    keras.utils.set_random_seed(int(ctx.seed))
    tf.config.experimental.enable_op_determinism()
    rng = np.random.default_rng([int(ctx.seed), 1])
    cfg = ctx.app.train
    epochs, batch = int(cfg.epochs), int(cfg.batch_size)
    x, y = features.x, features.y
    n_classes = len(features.classes)
    aug = augment_settings(cfg)

    model = build_dscnn(features.input_shape, n_classes, cfg)
    steps = epochs * int(np.ceil(len(y["train"]) / batch))
    lr = keras.optimizers.schedules.CosineDecay(float(cfg.learning_rate), decay_steps=max(1, steps),
                                                alpha=float(cfg.get("final_lr_fraction", 0.05)))
    weight_decay = float(cfg.get("weight_decay") or 0.0)
    optimizer = (keras.optimizers.AdamW(lr, weight_decay=weight_decay, name="adamw") if weight_decay
                 else keras.optimizers.Adam(lr, name="adam"))
    loss = keras.losses.CategoricalCrossentropy(label_smoothing=float(cfg.get("label_smoothing") or 0.0))
    model.compile(optimizer=optimizer, loss=loss)
    onehot = np.eye(n_classes, dtype=np.float32)[y["train"]]

    patience = int(cfg.early_stopping_patience or 0)
    best_acc, best_weights, since_best, epochs_run = -1.0, None, 0, 0
    for epoch in range(epochs):
        order = rng.permutation(len(y["train"]))
        xe = augment(x["train"][order], aug, rng) if enabled(aug) else x["train"][order]
        history = model.fit(xe, onehot[order], batch_size=batch, epochs=epoch + 1, initial_epoch=epoch,
                            shuffle=False, verbose=0)
        epochs_run = epoch + 1
        ctx.progress.update(epochs_run, epochs, "train DS-CNN (epochs)")
        val_acc = float(np.mean(model.predict(x["val"], batch_size=512, verbose=0).argmax(1) == y["val"]))
        ctx.log_metrics({"loss": float(history.history["loss"][-1]), "val.accuracy": val_acc}, step=epoch)
        if patience:
            if val_acc > best_acc:
                best_acc, best_weights, since_best = val_acc, model.get_weights(), 0
            else:
                since_best += 1
                if since_best >= patience:
                    break
    if best_weights is not None:
        model.set_weights(best_weights)

    save_model(model, ctx.out_dir / MODEL_FILE)
    scores = {split: model.predict(x[split], batch_size=512, verbose=0) for split in ("train", "val", "test")}
    accuracy = {split: float(np.mean(scores[split].argmax(1) == y[split])) for split in scores}
    macs, params = count_macs(model), int(model.count_params())
    metrics = {"train.accuracy": accuracy["train"], "val.accuracy": accuracy["val"],
               "epochs_run": float(epochs_run), "macs": float(macs), "params": float(params)}
    info = {"architecture": "DS-CNN (conv, depthwise-separable blocks, GAP, 1x1 conv classifier)",
            "input_shape": list(features.input_shape), "classes": features.classes, "macs": macs,
            "params": params, "augment": aug, "keras": keras.__version__, "tensorflow": tf.__version__}
    lat = ctx.target.latency_model
    if lat is not None:
        info["estimated_latency_ms"] = macs * lat.cycles_per_mac / ctx.target.clock_hz * 1e3
    return TrainedModel(kind="keras", path=MODEL_FILE, test_outputs=scores["test"].astype(np.float32),
                        metrics=metrics, info=info)
