"""Registration of the vision plugin and the config checks that run at composition."""

from __future__ import annotations

import pytest

import edgeml
from edgeml.plugins import get_plugin_manager, load_registry


def test_plugin_registers_the_vision_app():
    import edgeml_vision.plugin

    registry = load_registry(get_plugin_manager(extra_plugins=[edgeml_vision.plugin], load_entry_points=False))
    app = registry.apps["vision"]
    assert isinstance(app, edgeml.App)
    assert (app.task, app.primary_metric, app.model_kinds) == ("detection", "f1", ("keras",))
    assert "pkg://edgeml_vision.conf" in registry.searchpath


@pytest.mark.parametrize("override, error, message", [
    ("app.preprocess.resize=cubic", edgeml.ConfigError, "resize=cubic is not one of"),
    ("app.preprocess.channels=3", edgeml.ConfigError, "grayscale"),
    ("app.preprocess.width=100", edgeml.ConfigError, r"input 100x96 is not a multiple of the model's stride 8"),
    ("app.train.model.block_strides=[2,2]", edgeml.ConfigError, "block_strides has 2 entries for 4 blocks"),
    ("app.train.detect.connectivity=6", edgeml.ConfigError, "connectivity=6 must be 4 or 8"),
    ("app.sense.generator.persons=[3,1]", edgeml.ConfigError, "persons"),
])
def test_bad_app_config_is_refused_at_composition(tmp_path, override, error, message):
    from edgeml.config import compose

    from vision_tiny import ROOT

    with pytest.raises(error, match=message):
        compose(["app=vision", "target=cortex-m7", f"build_dir={tmp_path / 'b'}", override], load_registry(), ROOT)
    assert not (tmp_path / "b").exists()


def test_missing_data_dir_is_refused_at_composition(tmp_path):
    from edgeml.config import compose

    from vision_tiny import ROOT

    with pytest.raises(edgeml.DataError, match=r"app.data_dir=\S+ is not a directory"):
        compose(["app=vision", f"app.data_dir={tmp_path / 'none'}"], load_registry(), ROOT)
