"""Which scikit-learn models the emlearn path takes, and how each becomes C.

Every supported estimator is converted by emlearn 0.23 (``emlearn.convert``)
into C under one symbol prefix; :func:`entry_body` is the body of the
deliverable's single entry point ``int <prefix>_model_outputs(const float
*features, float *outputs)`` for that kind:

* trees (random forest, extra trees, decision tree): emlearn ``inline``,
  float features, 8-bit leaf class proportions; outputs = class
  probabilities (the mean of the trees' leaf proportions);
* ``MLPClassifier``: emlearn ``loadable`` (``eml_net``); outputs = class
  probabilities (``eml_net_predict_proba``);
* ``GaussianMixture``: outputs = one log-likelihood (``eml_mixture_score``),
  scikit-learn's ``score_samples``;
* ``EllipticEnvelope``: outputs = minus the squared Mahalanobis distance,
  scikit-learn's ``score_samples``.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgeml import DataError, IncompatibleError

KINDS = {
    "RandomForestClassifier": "trees", "ExtraTreesClassifier": "trees", "DecisionTreeClassifier": "trees",
    "MLPClassifier": "mlp", "GaussianMixture": "gmm", "BayesianGaussianMixture": "gmm",
    "EllipticEnvelope": "elliptic",
}
#: Tree conversion: what the C is, and what the numpy reference mirrors.
TREE_CONVERT = {"method": "inline", "dtype": "float", "leaf_bits": 8}


def load_model(path: Path) -> Any:
    try:
        return pickle.loads(Path(path).read_bytes())
    except FileNotFoundError as exc:
        raise DataError(f"{path} is missing: re-run the train stage") from exc
    except Exception as exc:  # noqa: BLE001 - unpickling raises many types
        raise DataError(f"{path} is not a readable pickled scikit-learn model ({exc}): re-run the train stage") from exc


def model_kind(model: Any, where: str) -> str:
    name = type(model).__name__
    kind = KINDS.get(name)
    if kind is None:
        raise IncompatibleError(f"{where} holds a {name}, which the emlearn path does not take: train one of "
                                f"{', '.join(sorted(KINDS))}")
    return kind


def n_features(model: Any) -> int:
    return int(model.n_features_in_)


def n_outputs(model: Any, kind: str) -> int:
    if kind in ("trees", "mlp"):
        return int(len(model.classes_))
    return 1


@dataclass
class ModelC:
    """The emlearn-generated C of a model and the entry point's body."""

    code: str
    body: str
    n_features: int
    n_outputs: int
    kind: str


def generate(model: Any, kind: str, prefix: str) -> ModelC:
    import contextlib
    import tempfile

    # emlearn.convert compiles a Python-side twin of some models (MLP, elliptic envelope) under
    # ./tmp of the current directory: give it a scratch directory, not the user's project.
    with tempfile.TemporaryDirectory(prefix="edgeml-emlearn-convert-") as scratch, contextlib.chdir(scratch):
        return _generate(model, kind, prefix)


def _generate(model: Any, kind: str, prefix: str) -> ModelC:
    import emlearn

    name = f"{prefix}_emlearn"
    nf, no = n_features(model), n_outputs(model, kind)
    if kind == "trees":
        code = emlearn.convert(model, **TREE_CONVERT).save(name=name, include_proba=True)
        body = f"return {name}_predict_proba(features, {nf}, outputs, {no});"
    elif kind == "mlp":
        code = emlearn.convert(model, method="loadable").save(name=name, inference=["loadable"])
        body = f"return (int)eml_net_predict_proba(&{name}, features, {nf}, outputs, {no});"
    elif kind == "gmm":
        code = emlearn.convert(model, method="inline").save(name=name)
        nc = int(model.n_components)
        body = (f"float component_log_proba[{nc}];\n"
                f"    return (int){name}_score(features, {nf}, component_log_proba, &outputs[0]);")
    elif kind == "elliptic":
        code = emlearn.convert(model, method="inline").save(name=name)
        body = f"outputs[0] = -{name}_predict(features, {nf});\n    return 0;"
    else:  # pragma: no cover - model_kind() refuses first
        raise IncompatibleError(f"no C generator for model kind '{kind}'")
    return ModelC(code=code, body=body, n_features=nf, n_outputs=no, kind=kind)


def sklearn_outputs(model: Any, kind: str, x: np.ndarray) -> np.ndarray:
    """scikit-learn's own outputs of the kind's entry point, as float32 (n, n_outputs)."""
    if kind in ("trees", "mlp"):
        return model.predict_proba(x).astype(np.float32)
    return model.score_samples(x).astype(np.float32).reshape(-1, 1)
