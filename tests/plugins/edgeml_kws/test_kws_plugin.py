"""Registration of the kws plugin (its import cost: tests/core/test_cli.py)."""

from __future__ import annotations

import pytest

import edgeml
from edgeml.plugins import get_plugin_manager, load_registry


def test_plugin_registers_the_kws_app():
    import edgeml_kws.plugin

    registry = load_registry(get_plugin_manager(extra_plugins=[edgeml_kws.plugin], load_entry_points=False))
    app = registry.apps["kws"]
    assert isinstance(app, edgeml.App)
    assert (app.task, app.model_kinds) == ("classification", ("keras",))
    assert app.version and app.description


def test_bad_app_config_is_refused_at_composition(tmp_path):
    """App.check runs when the config is composed: no data is made for a config that cannot build."""
    from edgeml.config import compose
    from edgeml.plugins import load_registry
    from blobs_plugin import ROOT

    registry = load_registry()
    base = ["app=kws", f"build_dir={tmp_path / 'b'}"]
    with pytest.raises(edgeml.ConfigError, match="fft_length=500 is not an arm_rfft_fast_f32 size"):
        compose(base + ["app.preprocess.fft_length=500"], registry, ROOT)
    with pytest.raises(edgeml.DataError, match=r"app.data_dir=\S+ is not a directory"):
        compose(base + [f"app.data_dir={tmp_path / 'missing'}"], registry, ROOT)
    with pytest.raises(edgeml.ConfigError, match="block_strides has 1 entries for 2 blocks"):
        compose(base + ["app.train.model.block_strides=[[1,1]]"], registry, ROOT)
    assert not (tmp_path / "b").exists()
