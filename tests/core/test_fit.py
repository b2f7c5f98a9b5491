"""edgeml fit on the numpy-only blobs pipeline: knobs, probe, rank, Pareto front, search block, errors."""

from __future__ import annotations

import json

import pytest

from blobs_plugin import ROOT
from edgeml.errors import BudgetError, ConfigError
from edgeml.fit import Knob, fit, hydra_value
from edgeml.pareto import front
from edgeml.progress import Progress
from fit_blobs import fit_setup_in

@pytest.fixture
def fit_setup(tmp_path):
    return fit_setup_in(tmp_path)


def test_fit_searches_knobs_and_builds_the_best_candidate(fit_setup):
    registry, base, tmp = fit_setup
    result = fit(base, registry, ROOT, Progress(enabled=False))
    s = result.search
    assert len(s["trials"]) == 6 and s["sampler"].startswith("optuna ")
    # trial 0 is the configured point; over-budget RAM candidates are never trained
    assert s["trials"][0]["knobs"] == {"app.preprocess.scale": 1.0, "app.train.shrink": 1.0,
                                       "backend.ram_bytes": 1000}
    for t in s["trials"]:
        assert t["fits"] == (t["knobs"]["backend.ram_bytes"] == 1000)
        assert (t["metric"] is None) == (not t["fits"])
        assert t["measured"]["flash_bytes"] == 24 and t["measured"]["latency_ms"] is not None
    chosen = s["chosen"]
    assert chosen["metric"] == max(t["metric"] for t in s["trials"] if t["metric"] is not None)
    assert chosen["number"] in s["pareto"] and s["bound_by"]["constraint"] in ("flash_bytes", "ram_bytes", "latency_ms")
    # the chosen point is built in full, as configured (mode=full), and its report carries the search
    report = json.loads((tmp / "b" / "report.json").read_text())
    assert report["search"]["chosen"] == chosen and report["passed"]
    manifest = json.loads((tmp / "b" / "train" / "manifest.json").read_text())
    assert manifest["metrics"]["trained_as"] == 0.0 and manifest["config"]["app.train"]["mode"] == "full"
    assert manifest["config"]["app.train"]["shrink"] == chosen["knobs"]["app.train.shrink"]
    assert (tmp / "b" / "search" / "pareto.png").stat().st_size > 1000
    # ranking used the rank overrides; data stages are shared per preprocess config
    datas = sorted((tmp / "b-fit" / "data").iterdir())
    assert len(datas) == len({t["knobs"]["app.preprocess.scale"] for t in s["trials"]})
    rank = json.loads((tmp / "b-fit" / "trials" / chosen["key"] / "rank" / "train" / "manifest.json").read_text())
    assert rank["metrics"]["trained_as"] == 1.0


def test_fit_is_deterministic_and_cached(fit_setup):
    registry, base, tmp = fit_setup
    a = fit(base, registry, ROOT, Progress(enabled=False)).search
    png = (tmp / "b" / "search" / "pareto.png").read_bytes()
    b = fit(base, registry, ROOT, Progress(enabled=False)).search
    assert a == b and png == (tmp / "b" / "search" / "pareto.png").read_bytes()


def test_nothing_fits_names_the_smallest_candidate_and_its_excess(fit_setup):
    registry, base, tmp = fit_setup
    with pytest.raises(BudgetError, match=r"no candidate of 4 fits cortex-m4: the smallest, .*needs .*RAM .*\(\+"):
        fit(base + ["fit.trials=4", "backend.ram_bytes=5000000"], registry, ROOT, Progress(enabled=False))
    evidence = json.loads((tmp / "b-fit" / "search" / "search.json").read_text())
    assert len(evidence["trials"]) == 4 and not any(t["fits"] for t in evidence["trials"])


def test_an_app_without_knobs_is_searched_over_nothing_and_says_so(blobs_registry, tmp_path):
    result = fit(["app=blobs", "backend=pyref", "target=cortex-m4", f"build_dir={tmp_path / 'b'}",
                  "tracking.enabled=false"], blobs_registry, ROOT, Progress(enabled=False))
    assert result.search["trials"] == [] and "declares no knobs" in result.search["note"]
    assert result.report["search"]["note"] == result.search["note"]


def test_bad_knobs_are_refused(fit_setup):
    registry, base, tmp = fit_setup
    (tmp / "conf" / "app" / "blobs.yaml").write_text(
        (tmp / "conf" / "app" / "blobs.yaml").read_text().replace("app.train.shrink:", "app.train.shrinkage:"))
    with pytest.raises(ConfigError, match="knob app.train.shrinkage in app/blobs.yaml names no config key"):
        fit(base, registry, ROOT, Progress(enabled=False))
    with pytest.raises(ConfigError, match="low 3 > high 1"):
        Knob.parse("a.b", {"type": "int", "low": 3, "high": 1}, "x.yaml")


def test_pareto_front_and_override_syntax():
    def t(n, metric, flash, ram=1, lat=1.0, fits=True):
        return {"number": n, "key": str(n), "metric": metric, "fits": fits,
                "measured": {"flash_bytes": flash, "ram_bytes": ram, "latency_ms": lat}}
    trials = [t(0, 0.9, 10), t(1, 0.8, 5), t(2, 0.7, 8), t(3, 0.95, 20, fits=False), t(4, None, 1)]
    assert front(trials) == [0, 1]
    assert hydra_value([[2, 1], [2, 1]]) == "[[2,1],[2,1]]" and hydra_value(None) == "null"
    assert hydra_value(0.5) == "0.5" and hydra_value("a b") == "'a b'"
