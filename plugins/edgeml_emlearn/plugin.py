"""Registers the ``sklearn-c`` compressor and the ``emlearn`` backend (entry point ``emlearn = "edgeml_emlearn.plugin"``)."""

from __future__ import annotations

import edgeml
from edgeml_emlearn.backend import EmlearnBackend
from edgeml_emlearn.compressor import SklearnCCompressor


@edgeml.hookimpl
def edgeml_register_compressors():
    return [SklearnCCompressor()]


@edgeml.hookimpl
def edgeml_register_backends():
    return [EmlearnBackend()]


@edgeml.hookimpl
def edgeml_config_searchpath():
    return ["pkg://edgeml_emlearn.conf"]


@edgeml.hookimpl
def edgeml_validate(validation: edgeml.ValidationInput) -> list[edgeml.Check]:
    """For trees: scikit-learn's own class vs the compiled C's, each difference attributed to its cause."""
    why = (validation.compressed.info or {}).get("sklearn_vs_c")
    if not why:
        return []
    n = int(why["sklearn_argmax_disagreements"])
    explained = int(why["by_8bit_leaves"]) + int(why["by_threshold_literals"])
    compared = int(len(validation.device.test_outputs))
    return [edgeml.Check(
        name="parity.sklearn", passed=n == 0 or explained >= n, blocking=False,
        message=(f"the C predicts scikit-learn's class on all {compared} test inputs" if n == 0 else
                 f"the C predicts another class than scikit-learn on {n} of {compared} test inputs: "
                 f"{why['by_8bit_leaves']} by 8-bit leaves, {why['by_threshold_literals']} by 6-decimal threshold "
                 "literals (emlearn's C format; the device equals its reference exactly)" + (
                     "" if explained >= n else f"; {n - explained} unexplained: report it with the build dir")),
        figures={k: v for k, v in why.items() if k != "explanation"} | {"compared": compared})]
