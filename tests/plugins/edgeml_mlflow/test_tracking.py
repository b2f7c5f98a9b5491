"""The MLflow observer against a real local store (sqlite, no server)."""

from __future__ import annotations

import json

import pytest

from edgeml import orchestrator
from edgeml.errors import BudgetError


def _client(tmp_path):
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")


def test_a_run_is_an_mlflow_run_with_params_metrics_and_artifacts(compose_blobs, tmp_path):
    bc = compose_blobs("tracking.enabled=true", "tracking.experiment=blobs-test")
    _, report = orchestrator.run(bc)
    run_id = report["tracking"]["mlflow_run_id"]
    assert report["tracking"]["mlflow_tracking_uri"] == f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = _client(tmp_path)
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED"
    assert run.data.params["app.name"] == "blobs" and run.data.params["target.clock_hz"] == "48000000"
    assert run.data.params["seed"] == "0"
    assert run.data.metrics["validate.float.accuracy"] == pytest.approx(report["accuracy"]["float"])
    assert run.data.metrics["sense.cached"] == 0.0
    assert run.data.tags["edgeml.app"] == "blobs"
    artifacts = {a.path for a in client.list_artifacts(run_id)}
    assert {"report.json", "deliverable"} <= artifacts
    logged = json.loads(open(client.download_artifacts(run_id, "report.json", str(tmp_path))).read())
    assert logged["accuracy"] == report["accuracy"]
    # a cached rebuild is a new run that records the cache hits
    _, report2 = orchestrator.run(bc)
    assert report2["tracking"]["mlflow_run_id"] != run_id
    assert client.get_run(report2["tracking"]["mlflow_run_id"]).data.metrics["sense.cached"] == 1.0


def test_stage_mode_logs_every_stage_into_one_run(compose_blobs, tmp_path):
    bc = compose_blobs("tracking.enabled=true")
    ids = set()
    for stage in orchestrator.STAGES:
        _, report = orchestrator.run(bc, stages=[stage], mode="stage")
    ids.add(report["tracking"]["mlflow_run_id"])
    run = _client(tmp_path).get_run(ids.pop())
    assert {f"{s}.seconds" for s in orchestrator.STAGES} <= set(run.data.metrics)


def test_a_failing_build_is_a_failed_run(compose_blobs, tmp_path):
    bc = compose_blobs("tracking.enabled=true", "backend.ram_bytes=999999")
    with pytest.raises(BudgetError):
        orchestrator.run(bc)
    runs = _client(tmp_path).search_runs([_client(tmp_path).get_experiment_by_name("edgeml").experiment_id])
    assert [r.info.status for r in runs] == ["FAILED"]
    assert runs[0].data.tags["edgeml.passed"] == "False"


def test_per_epoch_curves_and_the_apps_figures_are_logged(blobs_conf, tmp_path):
    from rich_blobs_plugin import RichPlugin, compose_rich

    from edgeml.testing import registry_with

    bc = compose_rich(registry_with(RichPlugin(blobs_conf)), tmp_path, "tracking.enabled=true",
                  f"tracking.uri=sqlite:///{tmp_path / 'mlflow.db'}")
    _, report = orchestrator.run(bc)
    client, run_id = _client(tmp_path), report["tracking"]["mlflow_run_id"]
    curve = client.get_metric_history(run_id, "train.loss")
    assert [(m.step, round(m.value, 4)) for m in curve] == [(0, 1.0), (1, 0.5), (2, 0.3333)]
    assert [a.path for a in client.list_artifacts(run_id, "figures")] == ["figures/blobs.txt"]
