"""The train stage: fit the obstacle CNN on frames, deterministically.

Loss: binary cross-entropy per output unit, averaged over the known labels
only (NaN = unknown, e.g. sectors of real collision data), the collision unit
weighted by ``collision_weight``. Augmentation, redrawn every epoch from one
seeded generator: a left-right mirror (sector labels reversed, the collision
flag kept) and a brightness/contrast jitter. The weights of the epoch with the
best validation score (mean of collision ROC AUC and sector accuracy) are kept.
TensorFlow is imported here only.
"""

from __future__ import annotations

import numpy as np

from edgeml import FeatureSet, StageContext, TrainedModel, native_stderr_muted
from edgeml import save_keras as save_model
from edgeml_obstacle.metrics import obstacle_metrics
from edgeml_obstacle.model import build_model, count_macs

MODEL_FILE = "model.keras"


def _augment(x: np.ndarray, y: np.ndarray, rng: np.random.Generator, cfg) -> tuple[np.ndarray, np.ndarray]:
    x, y = x.copy(), y.copy()
    if bool(cfg.mirror):
        flip = rng.random(len(x)) < 0.5
        x[flip] = x[flip, :, ::-1]
        y[flip, :-1] = y[flip, -2::-1]
    jitter = float(cfg.brightness)
    if jitter > 0:
        gain = rng.uniform(1 - jitter, 1 + jitter, (len(x), 1, 1, 1)).astype(np.float32)
        bias = rng.uniform(-jitter / 2, jitter / 2, (len(x), 1, 1, 1)).astype(np.float32)
        x = np.clip(x * gain + bias, 0.0, 1.0)
    return x, y


def train_obstacle(ctx: StageContext, features: FeatureSet) -> TrainedModel:
    with native_stderr_muted():
        import keras
        import tensorflow as tf

    keras.utils.set_random_seed(int(ctx.seed))
    tf.config.experimental.enable_op_determinism()
    rng = np.random.default_rng([int(ctx.seed), 2])
    cfg = ctx.app.train
    epochs, batch = int(cfg.epochs), int(cfg.batch_size)
    x, y = features.x, {s: np.asarray(v, np.float32) for s, v in features.y.items()}
    n_out = y["train"].shape[1]
    weights = np.ones(n_out, np.float32)
    weights[-1] = float(cfg.collision_weight)

    def masked_bce(y_true, y_pred):
        known = tf.math.is_finite(y_true)
        target = tf.where(known, y_true, tf.zeros_like(y_true))
        p = tf.clip_by_value(y_pred, 1e-6, 1 - 1e-6)
        bce = -(target * tf.math.log(p) + (1 - target) * tf.math.log(1 - p))
        w = tf.cast(known, tf.float32) * tf.constant(weights)
        return tf.reduce_sum(bce * w, axis=-1) / tf.maximum(tf.reduce_sum(w, axis=-1), 1e-6)

    model = build_model(features.input_shape, n_out, cfg)
    steps = epochs * int(np.ceil(len(y["train"]) / batch))
    lr = keras.optimizers.schedules.CosineDecay(float(cfg.learning_rate), decay_steps=max(1, steps),
                                                alpha=float(cfg.final_lr_fraction))
    model.compile(optimizer=keras.optimizers.Adam(lr, name="adam"), loss=masked_bce)

    best, best_weights, best_epoch = -np.inf, None, 0
    for epoch in range(epochs):
        order = rng.permutation(len(y["train"]))
        xe, ye = _augment(x["train"][order], y["train"][order], rng, cfg.augment)
        hist = model.fit(xe, ye, batch_size=batch, epochs=epoch + 1, initial_epoch=epoch, shuffle=False, verbose=0)
        val = obstacle_metrics(y["val"], model.predict(x["val"], batch_size=512, verbose=0))
        score = val["selection_score"]
        ctx.log_metrics({"train.loss": float(hist.history["loss"][-1]),
                         "val.collision_roc_auc": float(val["collision_roc_auc"]),
                         "val.sector_accuracy": float(val.get("sector_accuracy") or 0.0)}, step=epoch)
        if score > best:
            best, best_weights, best_epoch = score, model.get_weights(), epoch + 1
        ctx.progress.update(epoch + 1, epochs, "train obstacle CNN (epochs)")
    model.set_weights(best_weights)

    save_model(model, ctx.out_dir / MODEL_FILE)
    scores = {split: model.predict(x[split], batch_size=512, verbose=0).astype(np.float32)
              for split in ("train", "val", "test")}
    threshold = choose_threshold(y["val"], scores["val"])
    metrics: dict[str, float] = {"best_epoch": float(best_epoch), "threshold": threshold}
    for split in ("train", "val"):
        m = obstacle_metrics(y[split], scores[split], threshold)
        metrics[f"{split}.collision_roc_auc"] = float(m["collision_roc_auc"])
        if m.get("sector_accuracy") is not None:
            metrics[f"{split}.sector_accuracy"] = float(m["sector_accuracy"])
    macs, params = count_macs(model), int(model.count_params())
    metrics.update({"macs": float(macs), "params": float(params)})
    info = {"architecture": "strided conv, depthwise-separable blocks, full-map conv head, sigmoid "
                            f"({n_out - 1} sectors + collision)",
            "input_shape": list(features.input_shape), "outputs": list(features.classes), "macs": macs,
            "params": params, "best_epoch": best_epoch, "keras": keras.__version__, "tensorflow": tf.__version__,
            "threshold": threshold,
            "threshold_rule": "the probability cut (0.30-0.70, step 0.01) with the best sector accuracy on the "
                              "validation split (collision flag when the data has no sector labels); ties: nearest 0.5"}
    lat = ctx.target.latency_model
    if lat is not None:
        info["estimated_latency_ms"] = macs * lat.cycles_per_mac / ctx.target.clock_hz * 1e3
    return TrainedModel(kind="keras", path=MODEL_FILE, test_outputs=scores["test"], metrics=metrics, info=info)


def choose_threshold(y_val: np.ndarray, val_scores: np.ndarray) -> float:
    """The decision cut with the best validation accuracy on the sectors (or the collision flag without them)."""
    y_val = np.asarray(y_val, np.float32)
    sectors = np.isfinite(y_val[:, :-1]).any()
    truth = y_val[:, :-1] if sectors else y_val[:, -1:]
    score = np.asarray(val_scores, np.float32).reshape(len(y_val), -1)
    score = score[:, :-1] if sectors else score[:, -1:]
    known = np.isfinite(truth)
    if not known.any():
        return 0.5
    cuts = np.round(np.arange(0.30, 0.705, 0.01), 2)
    acc = [float(((truth[known] > 0.5) == (score[known] >= c)).mean()) for c in cuts]
    best = max(acc)
    return float(min((c for c, a in zip(cuts, acc) if a == best), key=lambda c: abs(c - 0.5)))

