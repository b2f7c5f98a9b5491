"""The train stage: a random forest (or extra trees) sized to the target's flash.

Flash-aware sizing: each candidate forest is converted to C by emlearn the
way the ``emlearn`` backend exports it (inline, float features, 8-bit leaf
proportions) and compiled (:func:`edgeml.csize.host_sizes`); the first
candidate from the largest (``n_estimators`` x ``max_depth``) down whose code
fits the flash the target leaves for the trees is kept. The flash for the
trees is the target's model flash budget minus the feature extractor
(measured in preprocess) and ``reserve_bytes`` for the inference code.

Determinism: scikit-learn with ``random_state`` = the build seed, single
threaded, and the model written with pickle (protocol 4), which is byte-stable
for the same estimator.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np

from edgeml import ConfigError, FeatureSet, StageContext, TrainedModel

MODEL_FILE = "model.pkl"
#: How the emlearn backend converts trees; sizing must measure the same C.
EMLEARN_CONVERT = {"method": "inline", "dtype": "float", "leaf_bits": 8}
#: Used only when no C compiler is present: bytes of inline C per decision node plus per leaf
#: (x86-64 gcc -Os on emlearn 0.23's inline trees, measured on this project's forests).
FALLBACK_BYTES_PER_NODE = 16.0

ESTIMATORS = ("random_forest", "extra_trees")


def check_train_config(cfg: Any) -> None:
    if str(cfg.estimator) not in ESTIMATORS:
        raise ConfigError(f"app.train.estimator={cfg.estimator}: choose one of {', '.join(ESTIMATORS)}")
    for key in ("n_estimators", "max_depth", "min_estimators", "min_depth", "min_samples_leaf"):
        if int(cfg[key]) < 1:
            raise ConfigError(f"app.train.{key}={cfg[key]} must be >= 1")
    if int(cfg.min_estimators) > int(cfg.n_estimators) or int(cfg.min_depth) > int(cfg.max_depth):
        raise ConfigError("app.train: min_estimators/min_depth must not exceed n_estimators/max_depth")


def _estimator(cfg: Any, n: int, depth: int, seed: int):
    from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier

    cls = RandomForestClassifier if str(cfg.estimator) == "random_forest" else ExtraTreesClassifier
    mf = cfg.max_features
    mf = float(mf) if isinstance(mf, float) else mf
    return cls(n_estimators=n, max_depth=depth, min_samples_leaf=int(cfg.min_samples_leaf), max_features=mf,
               random_state=seed, n_jobs=1)


def forest_c_bytes(model) -> tuple[int, str]:
    """Flash of the forest's emlearn C (compiled), or the per-node estimate without a compiler."""
    import emlearn

    from edgeml.csize import HOST_METHOD as METHOD, host_sizes as object_sizes

    nodes = int(sum(e.tree_.node_count for e in model.estimators_))
    code = emlearn.convert(model, **EMLEARN_CONVERT).save(name="sizing_model", include_proba=True)
    # The generated functions are not static: a translation unit that keeps them all.
    sizes = object_sizes({"model.c": code}, [emlearn.includedir])
    if sizes is None:
        return int(nodes * FALLBACK_BYTES_PER_NODE), f"estimate: {nodes} nodes x {FALLBACK_BYTES_PER_NODE} B (no C compiler)"
    return sizes["flash"], f"emlearn inline C, {METHOD}"


def candidates(cfg: Any) -> list[tuple[int, int]]:
    out = []
    for depth in range(int(cfg.max_depth), int(cfg.min_depth) - 1, -1):
        n = int(cfg.n_estimators)
        while n >= int(cfg.min_estimators):
            out.append((n, depth))
            if n == int(cfg.min_estimators):
                break
            n = max(int(cfg.min_estimators), (n * 3) // 4)
    return out


def feature_extractor_flash(ctx: StageContext, features: FeatureSet) -> tuple[int, str]:
    """The feature extractor's flash on this target: its image linked by the runners when one links
    for the target (one frame through it), else preprocess's host estimate."""
    from edgeml_vibration.app import write_device_code
    from edgeml_vibration.feature_check import features_program

    device = features.spec.get("device", {})
    spec = features.spec
    scratch = Path(ctx.out_dir) / "feature_extractor"
    write_device_code(scratch, features)
    program = features_program(int(spec["frame_samples"]), int(spec["n_features"]))
    frame = np.zeros((1, 1 + int(spec["frame_samples"])), np.float32)
    frame[0, 0] = 25.0
    runs = ctx.run_program(program, frame, root=scratch)
    image = next((r for r in reversed(list(runs.runs.values())) if r.flash_bytes is not None), None)
    if image is None:
        return int(device.get("flash_bytes", 0)), str(device.get("flash_method", "preprocess estimate"))
    return int(image.flash_bytes.value), image.flash_bytes.method


def train_forest(ctx: StageContext, features: FeatureSet) -> TrainedModel:
    cfg = ctx.app.train
    x, y = features.x, features.y
    feature_bytes, feature_method = feature_extractor_flash(ctx, features)
    budget = int(ctx.target.flash_budget_bytes) - feature_bytes - int(cfg.reserve_bytes)
    if budget <= 0:
        raise ConfigError(f"target '{ctx.target.name}' leaves no flash for the trees: its model budget is "
                          f"{ctx.target.flash_budget_bytes} B and the feature extractor needs "
                          f"{feature_bytes} B ({feature_method}): pick a larger target")
    tried = []
    chosen = None
    options = candidates(cfg)
    for i, (n, depth) in enumerate(options):
        model = _estimator(cfg, n, depth, int(ctx.seed)).fit(x["train"], y["train"])
        size, method = forest_c_bytes(model)
        nodes = int(sum(e.tree_.node_count for e in model.estimators_))
        tried.append({"n_estimators": n, "max_depth": depth, "nodes": nodes, "c_bytes": size, "fits": size <= budget})
        ctx.log_metrics({"sizing.n_estimators": n, "sizing.max_depth": depth, "sizing.c_bytes": size,
                         "sizing.budget_bytes": budget}, step=i)
        ctx.progress.update(i + 1, len(options), "fit forests until one fits the flash")
        if size <= budget:
            chosen = (model, n, depth, nodes, size, method)
            break
    if chosen is None:
        raise ConfigError(f"no forest down to {cfg.min_estimators} trees of depth {cfg.min_depth} fits the "
                          f"{budget} B of flash target '{ctx.target.name}' leaves for the trees (smallest needs "
                          f"{tried[-1]['c_bytes']} B): lower app.train.min_estimators/min_depth or pick a larger target")
    model, n, depth, nodes, size, method = chosen
    blob = pickle.dumps(model, protocol=4)
    (ctx.out_dir / MODEL_FILE).write_bytes(blob)
    proba = {s: model.predict_proba(x[s]).astype(np.float32) for s in ("train", "val", "test")}
    acc = {s: float(np.mean(proba[s].argmax(1) == y[s])) for s in proba}
    metrics = {"train.accuracy": acc["train"], "val.accuracy": acc["val"], "n_estimators": float(n),
               "max_depth": float(depth), "nodes": float(nodes), "trees_c_bytes": float(size),
               "trees_flash_budget_bytes": float(budget)}
    import sklearn

    info = {"estimator": str(cfg.estimator), "n_estimators": n, "max_depth": depth, "nodes": nodes,
            "min_samples_leaf": int(cfg.min_samples_leaf), "max_features": str(cfg.max_features),
            "flash_sizing": {"trees_c_bytes": size, "method": method, "trees_budget_bytes": budget,
                             "target_flash_budget_bytes": int(ctx.target.flash_budget_bytes),
                             "feature_extractor_bytes": feature_bytes,
                             "feature_extractor_method": feature_method,
                             "reserve_bytes": int(cfg.reserve_bytes), "emlearn_convert": EMLEARN_CONVERT,
                             "candidates_tried": tried},
            "feature_names": features.spec.get("names"), "classes": features.classes,
            "scikit_learn": sklearn.__version__, "model_file": "pickle protocol 4 of the fitted estimator"}
    return TrainedModel(kind="sklearn", path=MODEL_FILE, test_outputs=proba["test"], metrics=metrics, info=info)
