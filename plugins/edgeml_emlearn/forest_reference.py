"""emlearn's tree ensemble evaluated in numpy exactly as its generated C evaluates it.

emlearn writes each split as ``if (features[f] < T)`` with ``T`` printed as
``%.6f`` (parsed by the C compiler to the nearest float), and 8-bit leaves as
``round(p * 254) / 254 * 255`` truncated to uint8, summed as
``leaf / 255.0f`` tree by tree and divided by the tree count, all in float32.
This module does the same from the same flattened forest
(``emlearn.trees.Wrapper.forest_``), so its outputs are the reference the
compiled C must equal bit for bit. It also says *why* scikit-learn's own
prediction may differ (8-bit leaves, or a threshold rounded to 6 decimals /
``<`` instead of ``<=`` on an exact tie).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from edgeml_emlearn.models import TREE_CONVERT

F32 = np.float32


@dataclass
class FlatForest:
    feature: np.ndarray      # int64 per decision node
    threshold_c: np.ndarray  # float32: the literal the C compares against
    threshold: np.ndarray    # float64: scikit-learn's threshold
    left: np.ndarray         # >= 0 node index, < 0 leaf (-leaf - 1)
    right: np.ndarray
    roots: list[int]
    leaves_u8: np.ndarray    # (n_leaves, n_classes) uint8
    leaves_p: np.ndarray     # (n_leaves, n_classes) float64, scikit-learn's proportions
    n_classes: int

    @property
    def n_nodes(self) -> int:
        return int(len(self.feature))


def flatten(model: Any) -> FlatForest:
    import emlearn
    from emlearn.cgen import constant
    from emlearn.trees import leaves_to_bytelist

    wrapper = emlearn.convert(model, **TREE_CONVERT)
    nodes, roots, leaves = wrapper.forest_
    n_classes = int(wrapper.n_classes)
    feature = np.array([int(n[0]) for n in nodes], np.int64)
    thr = np.array([float(n[1]) for n in nodes], np.float64)
    # The C literal, e.g. "0.123456f", parsed as the compiler does: to the nearest float.
    thr_c = np.array([F32(constant(float(n[1]), dtype="float").rstrip("f")) for n in nodes], F32)
    u8 = np.asarray(leaves_to_bytelist(leaves, leaf_bits=TREE_CONVERT["leaf_bits"]), np.uint8).reshape(-1, n_classes)
    return FlatForest(feature=feature, threshold_c=thr_c, threshold=thr,
                      left=np.array([int(n[2]) for n in nodes], np.int64),
                      right=np.array([int(n[3]) for n in nodes], np.int64), roots=[int(r) for r in roots],
                      leaves_u8=u8, leaves_p=u8.astype(np.float64) / 255.0, n_classes=n_classes)


def _leaves(forest: FlatForest, x: np.ndarray, root: int, exact: bool) -> tuple[np.ndarray, np.ndarray]:
    """Leaf index of every row for one tree, and the decision nodes visited per row."""
    cur = np.full(len(x), root, np.int64)
    visits = np.zeros(len(x), np.int64)
    rows = np.arange(len(x))
    active = cur >= 0
    while active.any():
        idx, node = rows[active], cur[active]
        values = x[idx, forest.feature[node]]
        if exact:   # scikit-learn: float32(x) <= float64 threshold
            go_left = values.astype(np.float64) <= forest.threshold[node]
        else:       # emlearn's C: x < the float literal
            go_left = values < forest.threshold_c[node]
        cur[idx] = np.where(go_left, forest.left[node], forest.right[node])
        visits[idx] += 1
        active = cur >= 0
    return -cur - 1, visits


def predict_proba(forest: FlatForest, x: np.ndarray, exact_thresholds: bool = False) -> tuple[np.ndarray, float]:
    """Class proportions as the C computes them, and the mean decision nodes visited per inference."""
    x = np.ascontiguousarray(x, F32)
    out = np.zeros((len(x), forest.n_classes), F32)
    visits = np.zeros(len(x), np.int64)
    for root in forest.roots:
        leaf, v = _leaves(forest, x, root, exact_thresholds)
        out = out + forest.leaves_u8[leaf].astype(F32) / F32(255.0)
        visits += v
    out = out / F32(len(forest.roots))
    return out, float(visits.mean()) if len(x) else 0.0


def explain_sklearn_differences(model: Any, forest: FlatForest, x: np.ndarray, reference: np.ndarray) -> dict:
    """Count test inputs whose class differs between scikit-learn and the C, by cause."""
    sk = model.predict_proba(x).argmax(1)
    exact, _ = predict_proba(forest, x, exact_thresholds=True)
    ref = reference.argmax(1)
    ties = int(np.sum((reference == reference.max(1, keepdims=True)).sum(1) > 1))
    leaf_q = int(np.sum(sk != exact.argmax(1)))
    thr = int(np.sum(exact.argmax(1) != ref))
    return {"sklearn_argmax_disagreements": int(np.sum(sk != ref)),
            "by_8bit_leaves": leaf_q, "by_threshold_literals": thr, "output_ties": ties,
            "explanation": "8-bit leaves: class proportions rounded to 1/254 change the vote; threshold literals: "
                           "a split threshold printed with 6 decimals (and < instead of <=) sends an input the "
                           "other way; output ties: two classes with the same probability (argmax takes the first)"}
