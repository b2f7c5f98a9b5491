"""The KWS app's knobs for edgeml fit: declared, in range, and every corner composes and passes App.check."""

from __future__ import annotations

import itertools

from blobs_plugin import ROOT
from edgeml.config import compose
from edgeml.fit import Search, declared_knobs, hydra_value
from edgeml.plugins import load_registry
from edgeml.progress import Progress


def test_kws_declares_model_knobs_and_the_configured_model_is_trial_zero(tmp_path):
    registry = load_registry()
    search = Search(["app=kws", "target=cortex-m4", f"build_dir={tmp_path / 'b'}"], registry, ROOT,
                    Progress(enabled=False))
    paths = [k.path for k in search.knobs]
    assert paths == ["app.train.model.first_filters", "app.train.model.block_filters", "app.preprocess.coefficients"]
    assert search.configured_point() == {"app.train.model.first_filters": 14,
                                         "app.train.model.block_filters": [32, 32],
                                         "app.preprocess.coefficients": 10}
    assert "app.train.epochs=1" in search.probe and "app.train.epochs=10" in search.rank
    # every corner of the space is a valid kws config (App.check runs in compose)
    corners = [[(k.path, v) for v in ((k.choices[0], k.choices[-1]) if k.kind == "choice" else (int(k.low), int(k.high)))]
               for k in search.knobs]
    for combo in itertools.product(*corners):
        bc = compose(["app=kws", "target=cortex-m0plus"] + [f"{p}={hydra_value(v)}" for p, v in combo], registry, ROOT)
        assert [k.path for k in declared_knobs(bc.config)] == paths


def test_a_knob_given_on_the_command_line_is_fixed(tmp_path):
    search = Search(["app=kws", "app.preprocess.coefficients=8", f"build_dir={tmp_path / 'b'}"], load_registry(), ROOT,
                    Progress(enabled=False))
    assert search.fixed == {"app.preprocess.coefficients": 8}
    assert "app.preprocess.coefficients" not in [k.path for k in search.knobs]
