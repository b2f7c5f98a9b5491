"""The train stage: fit the FOMO grid detector, pick the detection threshold on the validation split.

The target of every frame is its centroid grid (:func:`edgeml_vision.grid.encode`,
one-hot per cell). Almost every cell is background, so the loss weighs the
object cells ``object_weight`` times a background cell (weighted cross
entropy, or focal cross entropy with ``loss: focal``), and background cells
touching an object ``neighbour_weight`` times (0 by default: the model may
fire there too, and the post-processing merges touching cells). Augmentation redraws
flips and quarter turns (a top-down view has no "up") and a brightness gain
every epoch from one seeded generator, applied to the frame and its grid
alike. The weights of the epoch with the best validation F1 are kept.

After training, the detection threshold is chosen on the validation split
from ``detect.thresholds`` (unless ``detect.threshold`` fixes it) and
recorded in the model's info with the other post-processing settings, so
validate and the device code use exactly what train decided.

TensorFlow is imported here and nowhere at module level; one seed for
Python, NumPy and TensorFlow and deterministic ops make the weights
reproducible, :func:`edgeml.save_keras` the file byte-identical.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from edgeml import ConfigError, FeatureSet, StageContext, TrainedModel, native_stderr_muted
from edgeml_vision.grid import CENTROIDS, CONNECTIVITY, DecodeSettings, GridGeometry, decode, encode
from edgeml import save_keras as save_model
from edgeml_vision.model import build_fomo, count_macs, output_stride
from edgeml_vision.scoring import detection_metrics

MODEL_FILE = "model.keras"
LOSSES = ("weighted_ce", "focal")


def check_train_config(cfg: Any, width: int, height: int) -> int:
    """The output stride, after checking ``app.train`` against the input size."""
    stride = output_stride(cfg)
    if width % stride or height % stride:
        raise ConfigError(f"input {width}x{height} is not a multiple of the model's stride {stride}: "
                          "change app.preprocess.width/height or app.train.model strides")
    if str(cfg.loss) not in LOSSES:
        raise ConfigError(f"app.train.loss={cfg.loss} is not one of {', '.join(LOSSES)}")
    d = cfg.detect
    if int(d.connectivity) not in CONNECTIVITY:
        raise ConfigError(f"app.train.detect.connectivity={d.connectivity} must be 4 or 8")
    if str(d.centroid) not in CENTROIDS:
        raise ConfigError(f"app.train.detect.centroid={d.centroid} must be one of {', '.join(CENTROIDS)}")
    if float(d.match_radius_px) <= 0:
        raise ConfigError("app.train.detect.match_radius_px must be positive (input pixels)")
    thresholds = [float(d.threshold)] if d.threshold is not None else [float(t) for t in d.thresholds]
    if not thresholds or not all(0 < t < 1 for t in thresholds):
        raise ConfigError("app.train.detect.threshold (or every entry of thresholds) must be in (0, 1)")
    return stride


def geometry(features: FeatureSet, stride: int) -> GridGeometry:
    _, h, w, _ = features.x["train"].shape
    return GridGeometry(width=int(w), height=int(h), grid_w=int(w) // stride, grid_h=int(h) // stride)


def cell_weights(grid: np.ndarray, object_weight: float, neighbour_weight: float) -> np.ndarray:
    """Loss weight of every cell: ``object_weight`` on object cells, ``neighbour_weight`` on background
    cells touching one (8-connected: the object may reach into them), 1 elsewhere."""
    obj = grid > 0
    near = np.zeros_like(obj)
    padded = np.pad(obj, ((0, 0), (1, 1), (1, 1)))
    h, w = obj.shape[1:]
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            near |= padded[:, 1 + dy:1 + dy + h, 1 + dx:1 + dx + w]
    weights = np.ones(grid.shape, np.float32)
    weights[near & ~obj] = neighbour_weight
    weights[obj] = object_weight
    return weights


def augment(x: np.ndarray, grid: np.ndarray, weights: np.ndarray, cfg: Any,
            rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random flips, quarter turns (square frames) and gain, each frame with its target grid and weights."""
    x, grid, weights = x.copy(), grid.copy(), weights.copy()
    aug = cfg.augment
    square = x.shape[1] == x.shape[2]
    gain_lo, gain_hi = (float(v) for v in aug.gain)
    for i in range(len(x)):
        if aug.flips and rng.random() < 0.5:
            x[i], grid[i], weights[i] = x[i, :, ::-1], grid[i, :, ::-1], weights[i, :, ::-1]
        if aug.flips and rng.random() < 0.5:
            x[i], grid[i], weights[i] = x[i, ::-1], grid[i, ::-1], weights[i, ::-1]
        if aug.rot90 and square:
            k = int(rng.integers(4))
            x[i], grid[i], weights[i] = np.rot90(x[i], k), np.rot90(grid[i], k), np.rot90(weights[i], k)
        if gain_hi > gain_lo:
            x[i] = np.clip(x[i] * np.float32(rng.uniform(gain_lo, gain_hi)), 0, 1)
    return x, grid, weights


def decode_settings(d: Any, threshold: float) -> DecodeSettings:
    return DecodeSettings(threshold=float(threshold), connectivity=int(d.connectivity), centroid=str(d.centroid))


def train_fomo(ctx: StageContext, features: FeatureSet) -> TrainedModel:
    with native_stderr_muted():  # TensorFlow's C++ start-up chatter
        import keras
        import tensorflow as tf

    cfg = ctx.app.train
    keras.utils.set_random_seed(int(ctx.seed))
    tf.config.experimental.enable_op_determinism()
    rng = np.random.default_rng([int(ctx.seed), 6])
    geo = geometry(features, check_train_config(cfg, features.x["train"].shape[2], features.x["train"].shape[1]))
    object_classes = features.classes[1:]
    n_classes = len(features.classes)
    epochs, batch = int(cfg.epochs), int(cfg.batch_size)
    x, y = features.x, features.y
    grid_train = encode(y["train"], geo, float(cfg.label_margin_px))
    weight_train = cell_weights(grid_train, float(cfg.object_weight), float(cfg.neighbour_weight))
    eye = np.eye(n_classes, dtype=np.float32)

    model = build_fomo(features.input_shape, n_classes, cfg)
    steps = epochs * int(np.ceil(len(x["train"]) / batch))
    lr = keras.optimizers.schedules.CosineDecay(float(cfg.learning_rate), decay_steps=max(1, steps),
                                                alpha=float(cfg.final_lr_fraction))
    loss = (keras.losses.CategoricalFocalCrossentropy(alpha=1.0, gamma=float(cfg.focal_gamma), name="focal")
            if str(cfg.loss) == "focal" else keras.losses.CategoricalCrossentropy(name="weighted_ce"))
    model.compile(optimizer=keras.optimizers.Adam(lr, name="adam"), loss=loss)
    settings_half = decode_settings(cfg.detect, 0.5)
    radius = float(cfg.detect.match_radius_px)

    def val_f1() -> float:
        scores = model.predict(x["val"], batch_size=256, verbose=0)
        return detection_metrics(decode(scores, geo, settings_half), y["val"], object_classes, radius)["f1"]

    patience = int(cfg.early_stopping_patience or 0)
    best_f1, best_weights, best_epoch, since_best, epochs_run = -1.0, None, 0, 0, 0
    for epoch in range(epochs):
        order = rng.permutation(len(x["train"]))
        xe, ge, we = augment(x["train"][order], grid_train[order], weight_train[order], cfg, rng)
        hist = model.fit(xe, eye[ge], sample_weight=we, batch_size=batch, epochs=epoch + 1,
                         initial_epoch=epoch, shuffle=False, verbose=0)
        epochs_run = epoch + 1
        f1 = val_f1()
        ctx.log_metrics({"train.loss": float(hist.history["loss"][-1]), "val.f1": f1}, step=epochs_run)
        loss_now = float(hist.history["loss"][-1])
        ctx.progress.update(epochs_run, epochs, f"train FOMO (epochs; loss {loss_now:.4f} val F1 {f1:.3f})")
        if f1 > best_f1:
            best_f1, best_weights, best_epoch, since_best = f1, model.get_weights(), epochs_run, 0
        else:
            since_best += 1
            if patience and since_best >= patience:
                break
    if best_weights is not None:
        model.set_weights(best_weights)

    save_model(model, ctx.out_dir / MODEL_FILE)
    scores = {split: model.predict(x[split], batch_size=256, verbose=0).astype(np.float32)
              for split in ("train", "val", "test")}
    threshold, sweep = choose_threshold(scores["val"], y["val"], geo, cfg.detect, object_classes)
    settings = decode_settings(cfg.detect, threshold)
    train_metrics = detection_metrics(decode(scores["train"], geo, settings), y["train"], object_classes, radius)
    macs, params = count_macs(model), int(model.count_params())
    metrics = {"train.f1": train_metrics["f1"], "val.f1": sweep[f"{threshold:g}"], "epochs_run": float(epochs_run),
               "best_epoch": float(best_epoch), "threshold": threshold, "macs": float(macs), "params": float(params)}
    info = {
        "architecture": "FOMO: depthwise-separable backbone cut at stride "
                        f"{geo.width // geo.grid_w}, 1x1 head, per-cell softmax",
        "input_shape": list(features.input_shape), "classes": features.classes,
        "grid": {"width": geo.grid_w, "height": geo.grid_h, "cell_w": geo.cell_w, "cell_h": geo.cell_h,
                 "input_width": geo.width, "input_height": geo.height},
        "detect": {"threshold": threshold, "connectivity": settings.connectivity, "centroid": settings.centroid,
                   "match_radius_px": radius, "threshold_source": "fixed" if cfg.detect.threshold is not None
                   else "best validation F1", "val_f1_by_threshold": sweep},
        "label_margin_px": float(cfg.label_margin_px),
        "loss": {"kind": str(cfg.loss), "object_weight": float(cfg.object_weight),
                 "neighbour_weight": float(cfg.neighbour_weight)},
        "macs": macs, "params": params, "best_epoch": best_epoch, "keras": keras.__version__,
        "tensorflow": tf.__version__}
    lat = ctx.target.latency_model
    if lat is not None:
        info["estimated_latency_ms"] = macs * lat.cycles_per_mac / ctx.target.clock_hz * 1e3
    return TrainedModel(kind="keras", path=MODEL_FILE, test_outputs=scores["test"], metrics=metrics, info=info)


def choose_threshold(val_scores: np.ndarray, y_val: np.ndarray, geo: GridGeometry, d: Any,
                     object_classes: list[str]) -> tuple[float, dict[str, float]]:
    """The threshold with the best validation F1 (the first such in list order), and F1 for each."""
    candidates = [float(d.threshold)] if d.threshold is not None else [float(t) for t in d.thresholds]
    sweep = {}
    for t in candidates:
        preds = decode(val_scores, geo, decode_settings(d, t))
        sweep[f"{t:g}"] = detection_metrics(preds, y_val, object_classes, float(d.match_radius_px))["f1"]
    best = max(candidates, key=lambda t: (sweep[f"{t:g}"], -candidates.index(t)))
    return best, sweep
