"""MLflow tracking as an observer: every ``edgeml run`` is an MLflow run.

Uses :class:`mlflow.MlflowClient` with explicit run ids, so no global
"active run" is touched and parallel builds in one process stay apart. The
default store needs no server: ``sqlite:///mlflow.db`` in the current
directory (artifacts under ``mlruns/``); ``tracking.uri`` in config or
``MLFLOW_TRACKING_URI`` overrides it. In ``edgeml stage`` mode (DVC) the
stages of one build log into one run, whose id is kept in the build dir.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import edgeml

_STATE_FILE = ".edgeml-mlflow.json"


def _enabled(run: edgeml.RunInfo) -> bool:
    return bool(run.config.get("tracking", {}).get("enabled", True))


def _uri(run: edgeml.RunInfo) -> str:
    configured = run.config.get("tracking", {}).get("uri")
    return str(configured or os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{Path.cwd() / 'mlflow.db'}")


def _client(run: edgeml.RunInfo):
    import logging

    from mlflow import MlflowClient

    # MLflow announces its sqlite schema set-up at INFO; keep the progress display readable.
    logging.getLogger("mlflow.store.db.utils").setLevel(logging.WARNING)

    return MlflowClient(tracking_uri=run.tracking["mlflow_tracking_uri"])


def _flat_params(run: edgeml.RunInfo) -> dict[str, str]:
    from omegaconf import OmegaConf

    def walk(node: Any, prefix: str, out: dict[str, str]) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, f"{prefix}{k}.", out)
        else:
            out[prefix[:-1]] = json.dumps(node) if isinstance(node, (list, dict)) else str(node)

    out: dict[str, str] = {}
    walk(OmegaConf.to_container(run.config, resolve=True), "", out)
    return {k: v[:6000] for k, v in out.items()}


@edgeml.hookimpl
def edgeml_run_started(run: edgeml.RunInfo) -> None:
    if not _enabled(run):
        return
    from mlflow.entities import Param, RunTag

    run.tracking["mlflow_tracking_uri"] = _uri(run)
    client = _client(run)
    state = run.build_dir / _STATE_FILE
    if run.mode == "stage" and state.is_file():
        saved = json.loads(state.read_text())
        if saved.get("uri") == run.tracking["mlflow_tracking_uri"]:
            run.tracking["mlflow_run_id"] = saved["run_id"]
            client.update_run(saved["run_id"], status="RUNNING")
            return
    name = str(run.config.get("tracking", {}).get("experiment") or "edgeml")
    exp = client.get_experiment_by_name(name)
    exp_id = exp.experiment_id if exp else client.create_experiment(name)
    cfg = run.config
    mlrun = client.create_run(exp_id, run_name=f"{cfg.app.name}-{cfg.target.name}-{cfg.backend.name}",
                              tags={"edgeml.app": str(cfg.app.name), "edgeml.target": str(cfg.target.name),
                                    "edgeml.backend": str(cfg.backend.name), "edgeml.mode": run.mode,
                                    "edgeml.build_dir": str(run.build_dir)})
    run_id = mlrun.info.run_id
    run.tracking["mlflow_run_id"] = run_id
    params = [Param(k, v) for k, v in sorted(_flat_params(run).items())]
    for i in range(0, len(params), 100):
        client.log_batch(run_id, params=params[i:i + 100])
    client.log_batch(run_id, tags=[RunTag("edgeml.stages", ",".join(run.stages))])
    run.build_dir.mkdir(parents=True, exist_ok=True)
    state.write_text(json.dumps({"uri": run.tracking["mlflow_tracking_uri"], "run_id": run_id}))


@edgeml.hookimpl
def edgeml_stage_finished(run: edgeml.RunInfo, record: edgeml.StageRecord) -> None:
    if "mlflow_run_id" not in run.tracking:
        return
    import time

    from mlflow.entities import Metric

    now = int(time.time() * 1000)
    metrics = {f"{record.stage}.{k}": float(v) for k, v in record.metrics.items()}
    metrics[f"{record.stage}.seconds"] = record.seconds
    metrics[f"{record.stage}.cached"] = float(record.cached)
    _client(run).log_batch(run.tracking["mlflow_run_id"],
                           metrics=[Metric(k, v, now, 0) for k, v in sorted(metrics.items())])


@edgeml.hookimpl
def edgeml_stage_metrics(run: edgeml.RunInfo, stage: str, metrics: dict[str, float], step: int) -> None:
    if "mlflow_run_id" not in run.tracking:
        return
    import time

    from mlflow.entities import Metric

    now = int(time.time() * 1000)
    _client(run).log_batch(run.tracking["mlflow_run_id"], metrics=[
        Metric(f"{stage}.{k}", float(v), now, int(step)) for k, v in sorted(metrics.items())])


@edgeml.hookimpl
def edgeml_stage_failed(run: edgeml.RunInfo, stage: str, error: BaseException) -> None:
    if "mlflow_run_id" in run.tracking:
        run.tracking["failed_stage"] = stage
        client = _client(run)
        client.set_tag(run.tracking["mlflow_run_id"], "edgeml.failed_stage", stage)
        client.set_tag(run.tracking["mlflow_run_id"], "edgeml.error", f"{type(error).__name__}: {error}"[:5000])


@edgeml.hookimpl
def edgeml_run_finished(run: edgeml.RunInfo, report: dict | None) -> None:
    if "mlflow_run_id" not in run.tracking:
        return
    client, run_id = _client(run), run.tracking["mlflow_run_id"]
    if report is not None:
        client.log_dict(run_id, report, "report.json")
        export_dir = run.build_dir / "export"
        if export_dir.is_dir():
            client.log_artifacts(run_id, str(export_dir), artifact_path="deliverable")
        for figure in report.get("figures") or []:
            path = run.build_dir / figure
            if path.is_file():
                client.log_artifact(run_id, str(path), artifact_path="figures")
        client.set_tag(run_id, "edgeml.passed", str(report.get("passed")))
        _log_search(client, run_id, run.build_dir, report.get("search"))
    failed = (report is not None and not report.get("passed", False)) or "failed_stage" in run.tracking
    status = "FAILED" if failed else "FINISHED"
    client.set_terminated(run_id, status=status)


def _log_search(client, run_id: str, build_dir: Path, search: dict | None) -> None:
    """``edgeml fit``'s search: its files (search.json, pareto.png) and one step per trial."""
    if not search:
        return
    import time

    from mlflow.entities import Metric

    for name in search.get("files") or []:
        path = build_dir / name
        if path.is_file():
            client.log_artifact(run_id, str(path), artifact_path="search")
    now, metrics = int(time.time() * 1000), []
    for t in search.get("trials") or []:
        figures = {"search.fits": float(bool(t.get("fits")))}
        if t.get("metric") is not None:
            figures["search.val_metric"] = float(t["metric"])
        for key, value in (t.get("measured") or {}).items():
            if isinstance(value, (int, float)):
                figures[f"search.{key}"] = float(value)
        metrics += [Metric(k, v, now, int(t["number"])) for k, v in sorted(figures.items())]
    for i in range(0, len(metrics), 500):
        client.log_batch(run_id, metrics=metrics[i:i + 500])
    if search.get("chosen"):
        client.set_tag(run_id, "edgeml.search.chosen", json.dumps(search["chosen"]["knobs"], sort_keys=True)[:5000])
