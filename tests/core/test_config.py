"""Composition: every choice composes, bad input is refused before any work."""

from __future__ import annotations

import re

import pytest
from omegaconf import OmegaConf

from blobs_plugin import ROOT
from edgeml.config import compose, group_options, load_recipe, load_targets
from edgeml.errors import ConfigError, IncompatibleError
from edgeml.targets import TargetProfile


def test_every_target_profile_loads_with_budgets(blobs_registry):
    targets = {t.name: t for t in load_targets(ROOT, blobs_registry)}
    assert {"cortex-m4", "cortex-m0plus", "cortex-m7", "esp32-s3", "esp32-c3"} <= set(targets)
    m4 = targets["cortex-m4"]
    assert (m4.clock_hz, m4.ram_bytes, m4.flash_bytes) == (48_000_000, 20 * 1024, 128 * 1024)
    for t in targets.values():
        assert 0 < t.ram_budget_bytes <= t.ram_bytes and 0 < t.flash_budget_bytes <= t.flash_bytes
        assert t.active_mw > 0 and t.latency_model is not None and t.latency_model.source


@pytest.mark.parametrize("target", ["cortex-m4", "cortex-m0plus", "cortex-m7", "esp32-s3", "esp32-c3"])
def test_every_target_composes(compose_blobs, target):
    bc = compose_blobs(f"target={target}")
    assert bc.target.name == target


@pytest.mark.parametrize("group,value", [("app", "nope"), ("target", "cortex-m99"), ("backend", "vhdl")])
def test_unknown_choice_lists_the_valid_ones(compose_blobs, group, value):
    with pytest.raises(ConfigError, match=rf"unknown {group} '{value}': choose one of .*") as err:
        compose_blobs(f"{group}={value}")
    assert err.value.exit_code == 2
    assert "\n" not in str(err.value)


def test_bad_key_is_a_config_error(compose_blobs):
    with pytest.raises(ConfigError, match="config does not compose"):
        compose_blobs("app.sense.no_such_key=3")


def test_incompatible_backend_is_refused_at_composition(compose_blobs, tmp_path):
    with pytest.raises(IncompatibleError) as err:
        compose_blobs("backend=tflm", build="never")
    msg = str(err.value)
    assert "backend 'tflm' accepts tflite-int8" in msg and "app 'blobs' trains centroids" in msg
    assert "choose backend=pyref" in msg
    assert not (tmp_path / "never").exists()


def test_bad_target_profile_names_the_field():
    with pytest.raises(ConfigError, match="lacks clock_hz"):
        TargetProfile.from_config({"name": "x", "core": "m4", "ram_bytes": 1, "flash_bytes": 1,
                                   "model_ram_share": 0.5, "model_flash_share": 0.5, "active_mw": 1})
    with pytest.raises(ConfigError, match="model_ram_share=1.5 must be in"):
        TargetProfile.from_config({"name": "x", "core": "m4", "clock_hz": 1, "ram_bytes": 1, "flash_bytes": 1,
                                   "model_ram_share": 1.5, "model_flash_share": 0.5, "active_mw": 1})


def test_build_dir_is_derived_from_the_config(blobs_registry, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    bc = compose(["app=blobs", "backend=pyref", "target=cortex-m7"], blobs_registry, ROOT)
    assert bc.build_dir == tmp_path / "builds" / "blobs-cortex-m7-pyref"


def test_plugin_shipped_config_groups_are_found(blobs_registry, blobs_conf):
    assert group_options(ROOT, blobs_registry, "app")["blobs"] == blobs_conf / "app" / "blobs.yaml"


def test_recipes_compose(tmp_path, monkeypatch):
    from edgeml.plugins import load_registry

    monkeypatch.chdir(tmp_path)
    registry = load_registry()
    for path in sorted((ROOT / "pipelines").glob("*.yaml")):
        recipe = load_recipe(ROOT, path.stem)
        assert recipe.description, path
        bc = compose(recipe.overrides, registry, ROOT)
        assert bc.build_dir.is_relative_to(tmp_path), path
    with pytest.raises(ConfigError, match="unknown recipe 'nope'"):
        load_recipe(ROOT, "nope")


def test_every_config_group_option_is_valid_yaml_with_its_name():
    for group in ("app", "target", "backend"):
        for f in (ROOT / "params" / group).glob("*.yaml"):
            assert OmegaConf.load(f).name == f.stem, f


@pytest.mark.parametrize("override,reason", [
    ("seed=abc", "could not be converted to Integer"),
    ("validate.max_int8_drop=lots", "could not be converted to Float"),
    ("validate.nope=1", "Key 'nope' not in 'ValidateConfig'"),
    ("tracking.enabled=maybe", "is not a valid bool"),
])
def test_core_keys_are_typed_at_composition(compose_blobs, override, reason):
    with pytest.raises(ConfigError, match=re.escape(reason)):
        compose_blobs(override)
