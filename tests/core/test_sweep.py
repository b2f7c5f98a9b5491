"""Build matrices from sweep overrides."""

from __future__ import annotations

import pytest

from blobs_plugin import ROOT
from edgeml.errors import ConfigError
from edgeml.progress import Progress
from edgeml.sweep import expand, matrix_table, run_sweep


def test_expand_is_the_cartesian_product_in_order():
    jobs = expand(["app=blobs", "target=cortex-m4,cortex-m7", "seed=range(0,2)"])
    assert [j.overrides for j in jobs] == [
        ["app=blobs", "target=cortex-m4", "seed=0"], ["app=blobs", "target=cortex-m4", "seed=1"],
        ["app=blobs", "target=cortex-m7", "seed=0"], ["app=blobs", "target=cortex-m7", "seed=1"]]
    assert jobs[3].swept == {"target": "cortex-m7", "seed": "1"}


def test_a_matrix_builds_each_job_in_its_own_dir_and_reports_failures(blobs_registry, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    base = ["app=blobs", "backend=pyref", "tracking.enabled=false", "progress=false"]
    jobs = run_sweep(base + ["target=cortex-m4,cortex-m7", "seed=0,1", "backend.ram_bytes=1000,200000"],
                     blobs_registry, ROOT, Progress(enabled=False))
    assert len(jobs) == 8 and len({j.build_dir for j in jobs}) == 8
    assert jobs[0].build_dir == tmp_path / "builds" / "blobs-cortex-m4-pyref_seed=0,backend.ram_bytes=1000"
    failed = {(j.swept["target"], j.swept["backend.ram_bytes"]) for j in jobs if j.error}
    # 200,000 B fits the M7's 224 KB model share but not the M4's 16 KB
    assert failed == {("cortex-m4", "200000")}
    assert all(j.report is not None for j in jobs)
    table = matrix_table(jobs)
    assert table.count("PASS") == 6 and table.count("FAIL: RAM: model needs") == 2


def test_a_bad_job_fails_the_matrix_before_any_job_runs(blobs_registry, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match="unknown target 'cortex-m99'"):
        run_sweep(["app=blobs", "backend=pyref", "target=cortex-m4,cortex-m99"], blobs_registry, ROOT,
                  Progress(enabled=False))
    assert not (tmp_path / "builds").exists()
