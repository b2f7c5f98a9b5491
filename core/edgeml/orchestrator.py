"""Runs stages: content-hash cache, atomic stage directories, manifests, observers.

A stage directory is complete when it holds ``manifest.json`` whose output
hashes match the files. A stage runs in a temporary directory that replaces
the old one only on success, so nothing half-written looks finished.
"""

from __future__ import annotations

import os
import random
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import OmegaConf

from edgeml import __version__
from edgeml.artifacts import digest, read_json, tree_hashes, write_json
from edgeml.config import BuildConfig
from edgeml.errors import BudgetError, ConfigError, StageOrderError
from edgeml.progress import Progress
from edgeml.report import failures, markdown
from edgeml.run import RunInfo, StageContext, StageRecord
from edgeml.stages import STAGE_COMPONENT, STAGE_FUNCTIONS, STAGE_PARAMS, STAGES

MANIFEST = "manifest.json"
MANIFEST_SCHEMA = "edgeml.manifest/1"


def _component(bc: BuildConfig, stage: str):
    kind = STAGE_COMPONENT[stage]
    return kind, getattr(bc, kind)


def config_slice(bc: BuildConfig, stage: str) -> dict[str, Any]:
    out = {}
    for path in STAGE_PARAMS[stage]:
        value = OmegaConf.select(bc.config, path, default=None)
        out[path] = OmegaConf.to_container(value, resolve=True) if OmegaConf.is_config(value) else value
    return out


def read_manifest(stage_dir: Path) -> dict[str, Any] | None:
    path = stage_dir / MANIFEST
    if not path.is_file():
        return None
    try:
        return read_json(path)
    except Exception:
        return None


def _expected(bc: BuildConfig, stage: str) -> dict[str, Any]:
    """The manifest fields a valid cached stage must carry, from config and upstream manifests."""
    inputs = {}
    for up in STAGES[: STAGES.index(stage)]:
        m = read_manifest(bc.build_dir / up)
        inputs[up] = None if m is None else digest(m["outputs"])
    kind, comp = _component(bc, stage)
    params = config_slice(bc, stage)
    plugin = {"kind": kind, "name": comp.name, "version": comp.version,
              "owner": bc.registry.owners.get((kind, comp.name), "?")}
    key = digest({"stage": stage, "params": params, "inputs": inputs, "plugin": plugin, "edgeml": __version__})
    return {"key": key, "inputs": inputs, "params": params, "plugin": plugin}


def is_current(bc: BuildConfig, stage: str) -> bool:
    """True when the stage directory is complete and made from this config and these inputs."""
    stage_dir = bc.build_dir / stage
    m = read_manifest(stage_dir)
    if m is None or m.get("key") != _expected(bc, stage)["key"]:
        return False
    return tree_hashes(stage_dir, exclude=(MANIFEST,)) == m.get("outputs")


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % (2**32))


def _run_one(bc: BuildConfig, run: RunInfo, stage: str, progress: Progress, force: bool) -> StageRecord:
    hook = bc.registry.pm.hook
    stage_dir = bc.build_dir / stage
    hook.edgeml_stage_started(run=run, stage=stage)
    t0 = time.monotonic()
    if not force and is_current(bc, stage):
        m = read_manifest(stage_dir) or {}
        record = StageRecord(stage=stage, stage_dir=stage_dir, cached=True, seconds=time.monotonic() - t0,
                             metrics=dict(m.get("metrics", {})))
        hook.edgeml_stage_finished(run=run, record=record)
        return record
    expected = _expected(bc, stage)
    missing = [up for up, d in expected["inputs"].items() if d is None]
    if missing:
        raise StageOrderError(f"stage '{stage}' needs '{missing[0]}', which has not run in {bc.build_dir}: "
                              f"run `edgeml stage {missing[0]}` first (or `edgeml run`)")
    bc.build_dir.mkdir(parents=True, exist_ok=True)
    tmp = bc.build_dir / f".{stage}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    ctx = StageContext(stage=stage, config=bc.config, out_dir=tmp, build_dir=bc.build_dir, target=bc.target,
                       seed=int(bc.config.seed), progress=progress.child(f"  {stage}: "),
                       metrics_sink=lambda m, step: hook.edgeml_stage_metrics(run=run, stage=stage, metrics=m,
                                                                             step=step),
                       registry=bc.registry)
    try:
        _seed_everything(int(bc.config.seed))
        stage_metrics = STAGE_FUNCTIONS[stage](ctx, bc)
        manifest = {"schema": MANIFEST_SCHEMA, "stage": stage, "edgeml_version": __version__,
                    "key": expected["key"], "config_hash": digest(expected["params"]), "config": expected["params"],
                    "plugin": expected["plugin"], "inputs": expected["inputs"],
                    "outputs": tree_hashes(tmp), "metrics": stage_metrics}
        write_json(tmp / MANIFEST, manifest)
        if stage_dir.exists():
            shutil.rmtree(stage_dir)
        os.replace(tmp, stage_dir)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            exc.__edgeml_stage__ = stage  # type: ignore[attr-defined]  # lets the CLI name the stage
        except AttributeError:
            pass
        hook.edgeml_stage_failed(run=run, stage=stage, error=exc)
        raise
    record = StageRecord(stage=stage, stage_dir=stage_dir, cached=False, seconds=time.monotonic() - t0,
                         metrics=stage_metrics)
    hook.edgeml_stage_finished(run=run, record=record)
    return record


def run(bc: BuildConfig, stages: list[str] | None = None, mode: str = "run", progress: Progress | None = None,
        force: bool = False, report_extra: dict[str, Any] | None = None,
        ) -> tuple[list[StageRecord], dict[str, Any] | None]:
    """Run ``stages`` (default: all six) of a composed build; return their records and the report.

    ``report_extra``: top-level blocks added to report.json (``edgeml fit`` adds ``search``).

    In mode "stage" every upstream stage must already be current: DVC (or the
    user) runs them in order. Raises :class:`BudgetError` after writing
    report.json when a blocking check failed.
    """
    stages = list(stages or STAGES)
    for s in stages:
        if s not in STAGES:
            raise ConfigError(f"unknown stage '{s}': choose one of {', '.join(STAGES)}")
    progress = progress or Progress()
    if mode == "stage":
        for up in STAGES[: STAGES.index(stages[0])]:
            if not is_current(bc, up):
                raise StageOrderError(f"stage '{up}' is missing or out of date in {bc.build_dir} for this config: "
                                      f"run `edgeml stage {up}` first (dvc repro runs stages in order)")
    hook = bc.registry.pm.hook
    info = RunInfo(config=bc.config, build_dir=bc.build_dir, mode=mode, stages=stages)
    hook.edgeml_run_started(run=info)
    records: list[StageRecord] = []
    report: dict[str, Any] | None = None
    try:
        for i, stage in enumerate(stages, 1):
            progress.message(f"[{i}/{len(stages)}] {stage} ...")
            rec = _run_one(bc, info, stage, progress, force)
            records.append(rec)
            progress.message(f"[{i}/{len(stages)}] {stage} {'cached' if rec.cached else 'done'} "
                             f"in {rec.seconds:.1f} s")
        if "validate" in stages:
            report = read_json(bc.build_dir / "validate" / "report.json")
            report["tracking"] = dict(info.tracking)
            report.update(report_extra or {})  # blocks of the caller's own, e.g. edgeml fit's "search"
            tmp = bc.build_dir / ".report.json.tmp"
            write_json(tmp, report)
            os.replace(tmp, bc.build_dir / "report.json")
            (bc.build_dir / "report.md").write_text(markdown(report))
            if not report["passed"]:
                raise BudgetError("; ".join(failures(report)))
    finally:
        hook.edgeml_run_finished(run=info, report=report)
    return records, report
