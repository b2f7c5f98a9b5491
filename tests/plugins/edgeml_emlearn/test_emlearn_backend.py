"""The sklearn-c compressor and the emlearn backend on tiny scikit-learn models: export, host compile, parity."""

from __future__ import annotations

import numpy as np
import pytest

import edgeml
from emlearn_tiny import random_features, run_emlearn

pytestmark = pytest.mark.slow


def _fit(est, features, supervised=True):
    return est.fit(features.x["train"], features.y["train"]) if supervised else est.fit(features.x["train"])


@pytest.mark.parametrize("name", ["RandomForestClassifier", "ExtraTreesClassifier", "DecisionTreeClassifier"])
def test_trees_are_bit_exact_and_agree_with_sklearn(tmp_path, name):
    import sklearn.ensemble
    import sklearn.tree

    cls = getattr(sklearn.ensemble, name, None) or getattr(sklearn.tree, name)
    kwargs = {"n_estimators": 7} if name != "DecisionTreeClassifier" else {}
    features = random_features()
    est = _fit(cls(max_depth=6, random_state=0, **kwargs), features)
    run = run_emlearn(tmp_path, est, features, runners=("host", "emulator"))
    ref, dev = run.compressed.test_outputs, run.outputs
    assert dev.dtype == np.float32 and dev.shape == ref.shape == (120, 3)
    assert set(run.runs.runs) == {"host", "emulator"} and not run.runs.differences
    for name, r in run.runs.runs.items():   # the sanitized host build and the emulated Cortex-M4 image
        assert r.outputs.tobytes() == ref.tobytes(), name
    emulated = run.runs.runs["emulator"]
    assert emulated.cycles.value > emulated.instructions.value > 20
    # The deliverable's golden-vector self test ran on both, and passed.
    assert run.deliverable.info["selftest"]["differing_outputs"] == {"host": 0, "emulator": 0}
    assert 500 < emulated.flash_bytes.value < run.deliverable.flash_bytes.value + 8192
    # Against scikit-learn itself: every differing class is attributed to a cause.
    why = run.compressed.info["sklearn_vs_c"]
    assert why["sklearn_argmax_disagreements"] <= why["by_8bit_leaves"] + why["by_threshold_literals"]
    sk = est.predict_proba(features.x["test"])
    assert np.abs(sk - dev).max() < 0.01   # 8-bit leaves: within 1/254 per tree, averaged
    assert (sk.argmax(1) == dev.argmax(1)).mean() >= 0.97
    d = run.deliverable
    assert d.entry_point == "edgeml_model_outputs"
    assert {"emlearn/edgeml_model_emlearn.h", "edgeml_inference.c", "edgeml_inference.h", "test_vectors.h",
            "edgeml_selftest.c"} == set(d.files)
    assert 500 < d.flash_bytes.value < 60000 and "-Os" in d.flash_bytes.method
    assert d.ram_bytes.value == 4 * (6 + 3)     # trees keep no buffers: the feature and output vectors
    assert run.compressed.macs > 0 and run.compressed.macs_by_kind["tree_compare"] > 0


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_mlp_classifier_runs_close_to_sklearn(tmp_path):
    from sklearn.neural_network import MLPClassifier

    features = random_features()
    est = _fit(MLPClassifier((12,), max_iter=400, random_state=0), features)
    run = run_emlearn(tmp_path, est, features)
    ref, dev = run.compressed.test_outputs, run.outputs
    assert dev.shape == ref.shape == (120, 3)
    assert np.abs(ref - dev).max() < 1e-4
    assert (ref.argmax(1) == dev.argmax(1)).all()
    assert run.compressed.macs == 6 * 12 + 12 * 3
    assert run.deliverable.ram_bytes.value >= 4 * (12 + 12)   # eml_net's two layer buffers


@pytest.mark.parametrize("kind", ["GaussianMixture", "EllipticEnvelope"])
def test_anomaly_models_give_sklearns_score_samples(tmp_path, kind):
    from sklearn.covariance import EllipticEnvelope
    from sklearn.mixture import GaussianMixture

    features = random_features(n_features=4)
    est = (GaussianMixture(3, covariance_type="full", random_state=0) if kind == "GaussianMixture"
           else EllipticEnvelope(random_state=0))
    est = _fit(est, features, supervised=False)
    run = run_emlearn(tmp_path, est, features)
    ref, dev = run.compressed.test_outputs, run.outputs
    assert dev.shape == ref.shape == (120, 1)
    assert np.allclose(dev, ref, rtol=1e-3, atol=1e-3)
    assert np.corrcoef(dev[:, 0], ref[:, 0])[0, 1] > 0.9999
    assert len(np.unique(dev)) > 100


def test_unsupported_estimator_is_refused(tmp_path):
    from sklearn.linear_model import LogisticRegression

    features = random_features()
    with pytest.raises(edgeml.IncompatibleError, match="holds a LogisticRegression, which the emlearn path does not "
                                                       "take: train one of"):
        run_emlearn(tmp_path, _fit(LogisticRegression(), features), features)
