"""The orchestrator: stages, manifests, the content-hash cache, atomic stage dirs, reports."""

from __future__ import annotations

import json

import numpy as np
import pytest

from edgeml import orchestrator
from edgeml.artifacts import tree_hashes
from edgeml.errors import BudgetError, StageOrderError
from edgeml.stages import STAGES


def _cached(records):
    return {r.stage: r.cached for r in records}


def test_full_run_writes_every_stage_and_a_report(compose_blobs):
    bc = compose_blobs()
    records, report = orchestrator.run(bc)
    assert [r.stage for r in records] == list(STAGES)
    for stage in STAGES:
        manifest = json.loads((bc.build_dir / stage / "manifest.json").read_text())
        assert manifest["schema"] == "edgeml.manifest/1"
        assert manifest["stage"] == stage
        assert manifest["outputs"] == tree_hashes(bc.build_dir / stage, exclude=("manifest.json",))
        assert set(manifest["inputs"]) == set(STAGES[: STAGES.index(stage)])
        assert manifest["plugin"]["name"] in {"blobs", "centroid-int8", "pyref"}
        assert len(manifest["config_hash"]) == 64
    on_disk = json.loads((bc.build_dir / "report.json").read_text())
    assert on_disk == report
    assert report["schema"] == "edgeml.report/1"
    assert (report["app"], report["target"], report["backend"], report["seed"]) == ("blobs", "cortex-m4", "pyref", 0)
    assert report["accuracy"]["float"] > 0.9 and report["accuracy"]["int8"] > 0.9
    assert report["accuracy"]["device"] == report["accuracy"]["int8"]
    assert report["parity"] == report["parity"] | {"bit_exact": True, "mismatches": 0}
    assert report["memory"]["ram_budget_bytes"] == int(20480 * 0.8)
    assert report["fits"] is True and report["passed"] is True
    # latency: MACs x cycles/MAC of the profile, at its clock; energy from its active power
    macs = report["latency"]["macs"]
    assert report["latency"]["cycles"] == pytest.approx(macs * 3.8)
    assert report["latency"]["ms"] == pytest.approx(macs * 3.8 / 48e6 * 1e3)
    assert report["energy_uj"] == pytest.approx(5.0 * report["latency"]["ms"])
    assert report["latency"]["method"].startswith("estimate")
    assert report["tracking"] == {}


def test_second_run_is_all_cached_and_a_param_reruns_only_later_stages(compose_blobs):
    orchestrator.run(compose_blobs())
    records, _ = orchestrator.run(compose_blobs())
    assert all(_cached(records).values())
    records, _ = orchestrator.run(compose_blobs("app.train.shrink=0.9"))
    assert _cached(records) == {"sense": True, "preprocess": True, "train": False,
                                "compress": False, "export": False, "validate": False}
    records, _ = orchestrator.run(compose_blobs("app.train.shrink=0.9", "validate.max_int8_drop=0.5"))
    assert [s for s, c in _cached(records).items() if not c] == ["validate"]


def test_same_config_and_seed_give_identical_stage_dirs(compose_blobs):
    a, b = compose_blobs(build="a"), compose_blobs(build="b")
    orchestrator.run(a)
    orchestrator.run(b)
    for stage in STAGES:
        assert tree_hashes(a.build_dir / stage) == tree_hashes(b.build_dir / stage), stage
    c = compose_blobs("seed=1", build="c")
    orchestrator.run(c)
    assert tree_hashes(a.build_dir / "sense") != tree_hashes(c.build_dir / "sense")


def test_a_failed_stage_leaves_the_previous_result_and_no_partial_dir(compose_blobs):
    bc = compose_blobs()
    orchestrator.run(bc)
    before = tree_hashes(bc.build_dir / "sense")
    with pytest.raises(RuntimeError, match="sensor unplugged"):
        orchestrator.run(compose_blobs("app.sense.fail=true"))
    assert tree_hashes(bc.build_dir / "sense") == before
    assert not [p for p in bc.build_dir.iterdir() if p.name.startswith(".sense.tmp")]
    # the old sense dir no longer matches the config, so it is not taken as cached
    assert not orchestrator.is_current(compose_blobs("app.sense.fail=true"), "sense")


def test_tampered_output_is_not_trusted(compose_blobs):
    bc = compose_blobs()
    orchestrator.run(bc)
    np.save(bc.build_dir / "train" / "centroids.npy", np.zeros((3, 8), np.float32))
    records, _ = orchestrator.run(bc)
    assert _cached(records)["train"] is False and _cached(records)["sense"] is True


def test_stage_mode_needs_current_upstream(compose_blobs):
    bc = compose_blobs()
    with pytest.raises(StageOrderError, match="run `edgeml stage sense` first"):
        orchestrator.run(bc, stages=["preprocess"], mode="stage")
    orchestrator.run(bc, stages=["sense"], mode="stage")
    orchestrator.run(bc, stages=["preprocess"], mode="stage")
    with pytest.raises(StageOrderError, match="'preprocess' is missing or out of date"):
        orchestrator.run(compose_blobs("app.preprocess.scale=2.0"), stages=["train"], mode="stage")


def test_budget_failure_writes_report_then_fails_with_the_fit_message(compose_blobs):
    bc = compose_blobs("backend.ram_bytes=23654")
    with pytest.raises(BudgetError, match=r"RAM: model needs 23.1 KB, cortex-m4 allows 16.0 KB"):
        orchestrator.run(bc)
    report = json.loads((bc.build_dir / "report.json").read_text())
    assert report["fits"] is False and report["passed"] is False
    failed = [c["name"] for c in report["checks"] if not c["passed"]]
    assert failed == ["budget.ram"]


def test_parity_mismatch_is_reported_and_fails(compose_blobs):
    bc = compose_blobs("backend.corrupt=true")
    with pytest.raises(BudgetError, match="device outputs differ .* on 1 of 80"):
        orchestrator.run(bc)
    report = json.loads((bc.build_dir / "report.json").read_text())
    assert report["parity"]["bit_exact"] is False and report["parity"]["mismatches"] == 1


def test_constant_outputs_fail_the_build(compose_blobs):
    """A model that answers the same for every input proves nothing, however exact its parity."""
    bc = compose_blobs("app.train.shrink=0.0", "app.preprocess.scale=0.0", "validate.max_int8_drop=1.0")
    with pytest.raises(BudgetError, match="device outputs take 1 distinct values over 80 test inputs"):
        orchestrator.run(bc)


def test_report_md_and_the_report_command(compose_blobs, capsys):
    from edgeml.cli import main

    bc = compose_blobs()
    orchestrator.run(bc)
    md = (bc.build_dir / "report.md").read_text()
    assert md.startswith("# edgeml build: blobs on cortex-m4 via pyref")
    assert "| budget.ram | pass | RAM: model needs" in md and "| parity.device | pass |" in md
    assert main(["report", str(bc.build_dir)]) == 0
    assert "verdict   PASS" in capsys.readouterr().out
    assert main(["report", str(bc.build_dir / "nope")]) == 1
    assert "no report at" in capsys.readouterr().err
