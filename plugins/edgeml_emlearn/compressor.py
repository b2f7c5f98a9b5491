"""The ``sklearn-c`` compressor: a scikit-learn model to the form emlearn's C computes.

It does not change the model (the pickle is copied byte for byte); it fixes
what the C will compute and records it as the reference the device must
match: for trees, the emlearn tables evaluated in numpy
(:mod:`edgeml_emlearn.forest_reference`: float thresholds as the C literals,
8-bit leaf proportions), so parity is exact; for MLP, Gaussian mixture and
elliptic envelope, scikit-learn's own outputs in float32 (the C's float32
arithmetic and 6-decimal weights differ in the last bits: parity reports it).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

import edgeml

from edgeml_emlearn.models import TREE_CONVERT, load_model, model_kind, sklearn_outputs

MODEL_FILE = "model.pkl"
TREE_REFERENCE = ("emlearn tree tables in numpy (float32: thresholds as the C literals, "
                  f"{TREE_CONVERT['leaf_bits']}-bit leaf proportions, tree-by-tree sum)")


class SklearnCCompressor(edgeml.Compressor):
    name = "sklearn-c"
    version = "0.1.0"
    description = "scikit-learn model -> the arithmetic of its emlearn C (trees: exact numpy twin)"
    input_kinds = ("sklearn",)
    output_format = "sklearn"

    def compress(self, ctx: edgeml.StageContext, model: edgeml.TrainedModel,
                 features: edgeml.FeatureSet) -> edgeml.CompressedModel:
        if model.kind not in self.input_kinds:
            raise edgeml.IncompatibleError(f"compressor '{self.name}' takes sklearn models, not '{model.kind}': "
                                           "choose another compressor")
        src = Path(ctx.input_dir("train")) / model.path
        est = load_model(src)
        kind = model_kind(est, str(src))
        shutil.copyfile(src, Path(ctx.out_dir) / MODEL_FILE)
        x = features.x["test"].reshape(len(features.x["test"]), -1)
        info: dict = {"estimator": type(est).__name__, "model_kind": kind}
        metrics: dict[str, float] = {}
        if kind == "trees":
            from edgeml_emlearn.forest_reference import explain_sklearn_differences, flatten, predict_proba

            forest = flatten(est)
            outputs, visits = predict_proba(forest, x)
            why = explain_sklearn_differences(est, forest, x, outputs)
            reference = TREE_REFERENCE
            model_macs = int(round(visits))
            info.update({"convert": TREE_CONVERT, "decision_nodes": forest.n_nodes, "trees": len(forest.roots),
                         "unique_leaves": int(len(forest.leaves_u8)), "mean_nodes_visited": visits,
                         "sklearn_vs_c": why})
            metrics.update({"sklearn_argmax_disagreements": float(why["sklearn_argmax_disagreements"]),
                            "mean_nodes_visited": visits})
            kinds = {"tree_compare": model_macs}
        else:
            outputs = sklearn_outputs(est, kind, x)
            reference = f"scikit-learn {type(est).__name__} (float64, outputs as float32)"
            model_macs = _dense_macs(est, kind)
            kinds = {"dense": model_macs}
        return edgeml.CompressedModel(
            format=self.output_format, path=MODEL_FILE, test_outputs=np.asarray(outputs, np.float32),
            reference=reference, macs=model_macs, macs_by_kind=kinds, metrics=metrics, info=info)


def _dense_macs(est, kind: str) -> int:
    if kind == "mlp":
        return int(sum(w.size for w in est.coefs_))
    if kind == "gmm":
        nf = int(est.means_.shape[1])
        return int(est.n_components) * (nf * nf + nf)
    if kind == "elliptic":
        nf = int(est.location_.shape[0])
        return nf * nf + nf
    return 0
