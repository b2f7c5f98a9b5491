"""edgeml fit's search reaches MLflow: the front's files and one step per trial."""

from __future__ import annotations

from blobs_plugin import ROOT
from edgeml.fit import fit
from edgeml.progress import Progress
from fit_blobs import fit_setup_in


def test_the_search_is_logged_with_the_chosen_build(tmp_path):
    from mlflow import MlflowClient

    registry, base, tmp = fit_setup_in(tmp_path)
    uri = f"sqlite:///{tmp / 'mlflow.db'}"
    overrides = [o for o in base if not o.startswith("tracking.enabled")] + [f"tracking.uri={uri}", "fit.trials=3"]
    result = fit(overrides, registry, ROOT, Progress(enabled=False))
    client = MlflowClient(tracking_uri=uri)
    runs = client.search_runs([client.get_experiment_by_name("edgeml").experiment_id])
    assert len(runs) == 1, "trials are not tracked; the chosen build is one run"
    run_id = runs[0].info.run_id
    assert run_id == result.report["tracking"]["mlflow_run_id"]
    assert sorted(a.path for a in client.list_artifacts(run_id, "search")) == ["search/pareto.png",
                                                                               "search/search.json"]
    history = client.get_metric_history(run_id, "search.flash_bytes")
    assert sorted(m.step for m in history) == [0, 1, 2]
    assert client.download_artifacts(run_id, "report.json", str(tmp)) and \
        '"search"' in (tmp / "report.json").read_text()
