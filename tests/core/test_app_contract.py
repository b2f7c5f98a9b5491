"""The app's optional contract: evaluate, primary_metric, device_code, illustrate,
log_metrics, compressor levels, default_backend and deployment requirements."""

from __future__ import annotations

import json

import pytest

import edgeml
from edgeml import orchestrator
from edgeml.errors import BudgetError, PluginError
from edgeml.testing import registry_with
from rich_blobs_plugin import Recorder, RichBlobsApp, RichPlugin, compose_rich


def test_the_app_scores_every_level_and_adds_its_code_and_figures(blobs_conf, tmp_path):
    recorder = Recorder()
    registry = registry_with(RichPlugin(blobs_conf), recorder)
    bc = compose_rich(registry, tmp_path)
    assert bc.backend.name == "pyref"  # the app's default_backend: no backend= given
    _, report = orchestrator.run(bc)
    m = report["metrics"]
    assert m["primary"] == "macro_f1" == report["primary_metric"]
    assert m["levels"] == ["float", "halfway", "int8", "device"]  # build order (JSON sorts keys)
    assert all(m[level]["level_seen"] == level for level in ("float", "halfway", "int8", "device"))
    assert m["device"]["confusion"] and set(m["device"]["per_class"]) == {"c0", "c1", "c2"}
    acc = next(c for c in report["checks"] if c["name"] == "accuracy.compression")
    assert acc["figures"]["float"] == m["float"]["macro_f1"]
    # device_code: the app's C sits in the deliverable beside the backend's files
    deliverable = json.loads((bc.build_dir / "export" / "deliverable.json").read_text())
    assert "blobs/features.h" in deliverable["files"] and "model.h" in deliverable["files"]
    assert (bc.build_dir / "export" / "blobs" / "features.h").read_text().startswith("#define BLOBS_SCALE")
    # ... and its costs on top of the model's, shown apart
    parts = report["memory"]["parts"]
    assert report["memory"]["flash_bytes"] == parts["model"]["flash_bytes"] + 120
    assert report["memory"]["ram_bytes"] == parts["model"]["ram_bytes"] + 32
    assert "app 'blobs' device code 120 B (counted by hand)" in report["memory"]["flash_method"]
    assert report["latency"]["parts"]["app_code_macs"] == 8
    assert report["latency"]["macs"] == report["latency"]["parts"]["model_macs"] + 8
    assert report["figures"] == ["validate/blobs.txt"]
    assert (bc.build_dir / "validate" / "blobs.txt").read_text().startswith("device:")
    # log_metrics reached the observers, per step, under the stage that sent them
    assert [(s, st) for s, _, st in recorder.calls] == [("train", 0), ("train", 1), ("train", 2)]
    assert recorder.calls[2][1] == {"loss": pytest.approx(1 / 3)}
    train_metrics = json.loads((bc.build_dir / "train" / "manifest.json").read_text())["metrics"]
    assert "test.macro_f1" in train_metrics and "test.per_class.c0.recall" in train_metrics


def test_an_explicit_backend_beats_the_apps_default(blobs_conf, tmp_path):
    from edgeml.errors import ConfigError

    registry = registry_with(RichPlugin(blobs_conf))
    with pytest.raises(ConfigError, match="unknown backend 'tflmx'"):
        compose_rich(registry, tmp_path, "backend=tflmx")


def test_evaluate_without_the_primary_metric_is_a_plugin_error(blobs_conf, tmp_path):
    class NoPrimary(RichBlobsApp):
        def evaluate(self, ev):
            return {"accuracy": 1.0}

    bc = compose_rich(registry_with(RichPlugin(blobs_conf, NoPrimary())), tmp_path)
    with pytest.raises(PluginError, match="primary metric 'macro_f1'"):
        orchestrator.run(bc, stages=["sense", "preprocess", "train"])


def test_device_code_may_not_overwrite_the_backends_files(blobs_conf, tmp_path):
    class Clobber(RichBlobsApp):
        def device_code(self, ctx, model, features):
            (ctx.out_dir / "model.h").write_text("/* mine */\n")
            return ["model.h"]

    bc = compose_rich(registry_with(RichPlugin(blobs_conf, Clobber())), tmp_path)
    with pytest.raises(PluginError, match="overwrote the backend's model.h"):
        orchestrator.run(bc)
    assert not (bc.build_dir / "export").exists()


def test_average_power_at_the_deployment_rate_is_reported_and_judged(blobs_conf, tmp_path):
    registry = registry_with(RichPlugin(blobs_conf))
    _, report = orchestrator.run(compose_rich(registry, tmp_path, "validate.rate_hz=10", "validate.max_power_mw=1.0",
                                          "+target.sleep_mw=0.01"))
    p, ms = report["power"], report["latency"]["ms"]
    assert p["rate_hz"] == 10 and p["duty_cycle"] == pytest.approx(ms / 100)
    assert p["average_mw"] == pytest.approx((5.0 * ms + 0.01 * (100 - ms)) / 100)
    check = next(c for c in report["checks"] if c["name"] == "budget.power")
    assert check["passed"] and "mW average at 10/s" in check["message"]
    with pytest.raises(BudgetError, match="power: .* budget 0.001 mW: shrink the model"):
        orchestrator.run(compose_rich(registry, tmp_path, "validate.rate_hz=10", "validate.max_power_mw=0.001",
                                  "+target.sleep_mw=0.01"))


def test_a_power_budget_without_a_rate_says_what_is_missing(blobs_conf, tmp_path):
    registry = registry_with(RichPlugin(blobs_conf))
    with pytest.raises(BudgetError, match="no inference rate: set validate.rate_hz"):
        orchestrator.run(compose_rich(registry, tmp_path, "validate.max_power_mw=30"))


def test_quantization_is_judged_from_the_level_the_int8_model_was_converted_from(blobs_conf, tmp_path):
    from rich_blobs_plugin import LevelledCompressor

    class PrunedFirst(LevelledCompressor):
        def compress(self, ctx, model, features):
            out = super().compress(ctx, model, features)
            out.info["quantized_from"] = "halfway"
            return out

    class Plugin(RichPlugin):
        @edgeml.hookimpl
        def edgeml_register_compressors(self):
            return [PrunedFirst()]

    _, report = orchestrator.run(compose_rich(registry_with(Plugin(blobs_conf)), tmp_path))
    checks = {c["name"]: c for c in report["checks"]}
    assert checks["accuracy.compression"]["figures"]["from"] == "halfway"
    assert "from halfway to int8" in checks["accuracy.compression"]["message"]
    assert checks["accuracy.halfway"]["blocking"] is False
