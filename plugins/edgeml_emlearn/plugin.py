"""Registers the ``sklearn-c`` compressor, the ``emlearn`` backend and emlearn's headers as the
C library ``emlearn`` (entry point ``emlearn = "edgeml_emlearn.plugin"``)."""

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


class EmlearnHeaders(edgeml.CLibrary):
    """emlearn's C headers (header-only), as the installed Python package ships them."""

    name = "emlearn"
    version = "0.1.0"
    description = "emlearn's C headers (eml_trees.h, eml_fft.h...) from the installed emlearn package"

    def locate(self) -> edgeml.LibraryFiles:
        import numpy as np

        try:
            with np.errstate():   # emlearn/bayes.py calls numpy.seterr(all="raise") on import
                import emlearn
        except ImportError as exc:
            raise edgeml.IncompatibleError("emlearn is not installed: run `bash scripts/setup.sh` "
                                           "(pip install emlearn==0.23.2)") from exc
        from pathlib import Path

        root = Path(emlearn.includedir)
        return edgeml.LibraryFiles(root=root, include_dirs=[root], version=str(emlearn.__version__))


@edgeml.hookimpl
def edgeml_register_c_libraries():
    return [EmlearnHeaders()]


@edgeml.hookimpl
def edgeml_config_searchpath():
    return ["pkg://edgeml_emlearn.conf"]


@edgeml.hookimpl
def edgeml_validate(validation: edgeml.ValidationInput) -> list[edgeml.Check]:
    """The deliverable's golden-vector self test on every runner; for trees, scikit-learn's own class vs the
    compiled C's, each difference attributed to its cause."""
    checks = []
    selftest = (validation.deliverable.info or {}).get("selftest")
    if selftest and selftest.get("differing_outputs"):
        bad = {k: v for k, v in selftest["differing_outputs"].items() if v}
        ran = ", ".join(selftest["differing_outputs"])
        checks.append(edgeml.Check(
            name="selftest.golden_vectors", passed=not bad,
            message=(f"the deliverable's self test passes its {selftest['vectors']} golden vectors on {ran}" if not bad
                     else f"the deliverable's self test fails on {', '.join(f'{k} ({v} outputs differ)' for k, v in bad.items())}"
                          ": the C differs from the outputs it was verified with; report it with the build dir"),
            figures=selftest))
    why = (validation.compressed.info or {}).get("sklearn_vs_c")
    if not why:
        return checks
    n = int(why["sklearn_argmax_disagreements"])
    explained = int(why["by_8bit_leaves"]) + int(why["by_threshold_literals"])
    compared = int(len(validation.device.test_outputs))
    return checks + [edgeml.Check(
        name="parity.sklearn", passed=n == 0 or explained >= n, blocking=False,
        message=(f"the C predicts scikit-learn's class on all {compared} test inputs" if n == 0 else
                 f"the C predicts another class than scikit-learn on {n} of {compared} test inputs: "
                 f"{why['by_8bit_leaves']} by 8-bit leaves, {why['by_threshold_literals']} by 6-decimal threshold "
                 "literals (emlearn's C format; the device equals its reference exactly)" + (
                     "" if explained >= n else f"; {n - explained} unexplained: report it with the build dir")),
        figures={k: v for k, v in why.items() if k != "explanation"} | {"compared": compared})]
