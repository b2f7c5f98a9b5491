"""``edgeml fit``: find the best model for the target, under the target's budget.

The app declares the knobs that size its model in its config
(``app/NAME.yaml``), as config paths with ranges::

    knobs:
      app.train.model.width: {type: int, low: 8, high: 32}
      app.train.model.blocks: {choices: [[16, 16], [32, 32]]}
      app.preprocess.bands: {type: int, low: 8, high: 24, step: 4}
      compress.prune.fraction: {type: float, low: 0.0, high: 0.5}
    fit:
      probe: {app.train.epochs: 0}     # an untrained model of the candidate's shape
      rank: {app.train.epochs: 6}      # the short training that ranks candidates

A knob is a Hydra override, so every trial is a normal composed config.
Each trial, chosen by Optuna's TPE sampler (seeded, one trial at a time):

1. **probe**: the candidate's train, compress and export stages run with the
   ``fit.probe`` overrides (for a network: no training), so flash and RAM are
   the backend's own measurement and latency the target's estimate from the
   compressed graph's MACs. A candidate over any limit is rejected here,
   before any training. Without ``fit.probe`` the probe trains normally
   (cheap models such as trees).
2. **rank**: a candidate that fits trains with the ``fit.rank`` overrides
   (fewer epochs, early stopping) and is ranked on the train stage's
   ``val.<primary_metric>`` (the validation split).

The best candidate is then built in full as a normal ``edgeml run`` and
verified like any other build; its report.json carries a ``search`` block
(every trial with its knobs, measurement and metric, the Pareto front, the
chosen knobs and the constraint that bound it) and the front is drawn in
``search/pareto.png``. Limits: the target's model flash and RAM budgets and
the deployment's latency requirement (``validate.max_latency_ms`` or the
app's ``requirements.max_latency_ms``).

Stage directories are shared through the content-hash cache: the sense and
preprocess stages run once per distinct data config (``<ws>/data/KEY``) and
are hard-linked into each trial's build dir; a repeated knob point reuses its
trial dir. Same config and seed give the same trials and the same result.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from edgeml import orchestrator
from edgeml.artifacts import CompressedModel, Deliverable, digest, read_json, write_json
from edgeml.config import BuildConfig, compose
from edgeml.errors import BudgetError, ConfigError, EdgeMLError
from edgeml.pareto import front, plot
from edgeml.plugins import Registry
from edgeml.progress import Progress
from edgeml.report import build_latency, requirements, summary_table
from edgeml.search_space import (  # noqa: F401 (Knob, hydra_value: re-exported for callers)
    Knob, Limits, as_overrides, override_key, declared_knobs, hydra_value,
)
from edgeml.targets import kib

SEARCH_SCHEMA = "edgeml.search/1"
SEARCH_DIR = "search"


@dataclass
class FitResult:
    search: dict[str, Any]
    build: BuildConfig | None = None
    report: dict[str, Any] | None = None
    seconds: dict[str, float] = field(default_factory=dict)


def link_stages(src: Path, dst: Path, stages: tuple[str, ...]) -> None:
    """Put ``src``'s finished stage dirs into ``dst`` as hard links (copies across file systems).

    Stages never modify files in place, so sharing them is safe; the
    orchestrator's content-hash check then sees them as current.
    """
    for stage in stages:
        s, d = src / stage, dst / stage
        if not (s / orchestrator.MANIFEST).is_file():
            continue
        if (d / orchestrator.MANIFEST).is_file() and \
                (d / orchestrator.MANIFEST).read_bytes() == (s / orchestrator.MANIFEST).read_bytes():
            continue
        shutil.rmtree(d, ignore_errors=True)
        d.parent.mkdir(parents=True, exist_ok=True)
        try:
            shutil.copytree(s, d, copy_function=os.link)
        except OSError:
            shutil.rmtree(d, ignore_errors=True)
            shutil.copytree(s, d)


class Search:
    """One ``edgeml fit``: the trials, the shared data dirs and the final build."""

    DATA_STAGES = ("sense", "preprocess")

    def __init__(self, overrides: list[str], registry: Registry, root: Path, progress: Progress):
        self.registry, self.root, self.progress = registry, root, progress
        self.base = compose(overrides, registry, root)
        cfg = self.base.config
        self.knobs_declared = declared_knobs(cfg)
        given = {override_key(o) for o in overrides}
        #: Knobs set on the command line are fixed, not searched.
        self.fixed = {k.path: OmegaConf.to_container(v, resolve=True) if OmegaConf.is_config(v) else v
                      for k in self.knobs_declared if k.path in given
                      for v in [OmegaConf.select(cfg, k.path)]}
        self.knobs = [k for k in self.knobs_declared if k.path not in given]
        app_fit = cfg.app.get("fit") or {}
        self.probe = as_overrides(app_fit.get("probe"), f"fit.probe in app/{cfg.app.name}.yaml")
        self.rank = as_overrides(app_fit.get("rank"), f"fit.rank in app/{cfg.app.name}.yaml")
        settings = cfg.get("fit") or {}
        self.n_trials = int(settings.get("trials", 16))
        if self.n_trials < 1:
            raise ConfigError(f"fit.trials={self.n_trials}: search at least one trial")
        self.seed = int(cfg.seed)
        self.primary = self.base.app.primary_metric
        req = requirements(cfg)
        self.limits = Limits(self.base.target.flash_budget_bytes, self.base.target.ram_budget_bytes,
                             req["max_latency_ms"])
        controlled = {k.path for k in self.knobs} | {override_key(o) for o in self.probe + self.rank}
        self.user = [o for o in overrides if override_key(o) not in controlled]
        self.overrides = list(overrides)
        self.ws = self.base.build_dir.with_name(self.base.build_dir.name + "-fit")
        self.trials: list[dict[str, Any]] = []
        self.points: dict[str, dict[str, Any]] = {}
        self.quiet = Progress(enabled=False)

    # ------------------------------------------------------------- building

    def compose(self, extra: list[str], build_dir: Path | None = None) -> BuildConfig:
        """The user's overrides plus ``extra``; a trial (``build_dir`` given) is untracked, in its own dir."""
        settings = [] if build_dir is None else [f"build_dir={build_dir}", "tracking.enabled=false"]
        keys = {override_key(o) for o in extra + settings}
        base = [o for o in self.user if override_key(o) not in keys]
        return compose(base + extra + settings, self.registry, self.root)

    def data_dir(self, bc: BuildConfig) -> Path:
        """The shared build dir holding the sense and preprocess stages of ``bc``'s data config."""
        key = digest([orchestrator.config_slice(bc, s) for s in self.DATA_STAGES])[:12]
        d = self.ws / "data" / key
        shared = dataclasses.replace(bc, build_dir=d)
        if all(orchestrator.is_current(shared, s) for s in self.DATA_STAGES):
            return d
        for other in sorted((self.ws / "data").glob("*")) if (self.ws / "data").is_dir() else []:
            if other != d and orchestrator.is_current(dataclasses.replace(bc, build_dir=other), "sense"):
                link_stages(other, d, ("sense",))
                break
        self.progress.message(f"data for {d.name}: " + ", ".join(self.DATA_STAGES))
        orchestrator.run(shared, stages=list(self.DATA_STAGES), progress=self.progress.child("  "))
        return d

    def run_stages(self, bc: BuildConfig, stages: list[str]):
        link_stages(self.data_dir(bc), bc.build_dir, self.DATA_STAGES)
        records, _ = orchestrator.run(bc, stages=stages, progress=self.quiet)
        return {r.stage: r for r in records}

    # --------------------------------------------------------------- trials

    def measure(self, values: dict[str, Any]) -> dict[str, Any]:
        """Probe, and rank when it fits, one knob point (cached by the point's key)."""
        key = digest(values)[:12]
        if key in self.points:
            return self.points[key]
        point = [f"{p}={hydra_value(v)}" for p, v in values.items()]
        rec: dict[str, Any] = {"key": key, "knobs": dict(values), "overrides": point, "metric": None,
                               "fits": False, "status": "", "measured": {}, "excess": {}}
        try:
            bc = self.compose(point + self.probe, self.ws / "trials" / key / "probe")
            recs = self.run_stages(bc, ["train", "compress", "export"])
            model = CompressedModel.load(bc.build_dir / "compress")
            deliverable = Deliverable.load(bc.build_dir / "export")
            lat = build_latency(model, deliverable, bc.target, None)  # model + the app's device code
            rec["measured"] = {"flash_bytes": int(deliverable.flash_bytes.value),
                               "ram_bytes": int(deliverable.ram_bytes.value), "latency_ms": lat["ms"],
                               "cycles": lat["cycles"], "macs": int(model.macs)}
            rec["excess"] = self.limits.excess(rec["measured"])
            rec["fits"] = not any(rec["excess"].values())
            if not rec["fits"]:
                over = [n for n, v in rec["excess"].items() if v]
                rec["status"] = "over budget (" + ", ".join(over) + "): not trained"
            else:
                metrics = recs["train"].metrics
                if self.rank:
                    bc_rank = self.compose(point + self.rank, self.ws / "trials" / key / "rank")
                    metrics = self.run_stages(bc_rank, ["train"])["train"].metrics
                for name in (f"val.{self.primary}", f"test.{self.primary}"):
                    if name in metrics:
                        rec["metric"], rec["metric_source"] = float(metrics[name]), f"train stage {name}"
                        break
                else:
                    raise ConfigError(f"app '{bc.app.name}' train stage reports no val.{self.primary}: "
                                      f"return it in TrainedModel.metrics so edgeml fit can rank candidates")
                rec["status"] = "ranked"
        except ConfigError:
            raise
        except EdgeMLError as exc:
            rec["status"] = f"failed: {exc}"
        self.points[key] = rec
        return rec

    def configured_point(self) -> dict[str, Any] | None:
        """The app's configured values of the searched knobs, if they lie inside the ranges (trial 0)."""
        values = {}
        for k in self.knobs:
            v = OmegaConf.select(self.base.config, k.path)
            v = OmegaConf.to_container(v, resolve=True) if OmegaConf.is_config(v) else v
            if not k.contains(v):
                return None
            values[k.path] = v
        return values

    def search(self) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")   # Optuna's ExperimentalWarning for constraints_func
            import optuna

            optuna.logging.set_verbosity(optuna.logging.WARNING)
            sampler = optuna.samplers.TPESampler(
                seed=self.seed, n_startup_trials=min(10, max(2, self.n_trials // 3)),
                constraints_func=lambda t: t.user_attrs.get("constraints", (1.0, 1.0, 1.0)))
            study = optuna.create_study(direction="maximize", sampler=sampler)
            start = self.configured_point()
            if start is not None:
                study.enqueue_trial({k.path: k.param(start[k.path]) for k in self.knobs})
            for number in range(self.n_trials):
                trial = study.ask()
                values = {k.path: k.suggest(trial) for k in self.knobs}
                shown = " ".join(f"{p.rsplit('.', 1)[-1]}={hydra_value(v)}" for p, v in values.items())
                self.progress.update(number, self.n_trials, "fit trials")
                rec = dict(self.measure(values), number=number)
                self.trials.append(rec)
                # Constraint values <= 0 mean feasible (Optuna's convention): the relative excess.
                usage = self.limits.usage(rec["measured"]) if rec["measured"] else {}
                cons = tuple(max(0.0, usage[n] - 1.0) if n in usage else (0.0 if usage else 1.0)
                             for n in ("flash_bytes", "ram_bytes", "latency_ms"))
                trial.set_user_attr("constraints", cons)
                study.tell(trial, rec["metric"] if rec["metric"] is not None else 0.0)
                self.progress.message(f"trial {number} ({number + 1}/{self.n_trials}) {shown}: "
                                      f"{_trial_line(rec, self.primary)}")
            self.progress.update(self.n_trials, self.n_trials, "fit trials")
            self.sampler = f"optuna {optuna.__version__} TPESampler(seed={self.seed}, constraints), sequential"

    # ---------------------------------------------------------------- result

    def chosen(self) -> dict[str, Any]:
        ranked = [t for t in self.trials if t["fits"] and t["metric"] is not None]
        if not ranked:
            raise BudgetError(self.nothing_fits())
        m = lambda t: tuple(t["measured"][k] or 0 for k in ("flash_bytes", "ram_bytes", "latency_ms"))  # noqa: E731
        return min(ranked, key=lambda t: (-t["metric"], m(t), t["number"]))

    def nothing_fits(self) -> str:
        measured = [t for t in self.trials if t["measured"]]
        t = self.base.target
        if not measured:
            fails = "; ".join(sorted({t["status"] for t in self.trials}))[:400]
            return f"no candidate of {len(self.trials)} could be measured on {t.name} ({fails}): fix the app's knobs"
        small = min(measured, key=lambda r: (max(self.limits.usage(r["measured"]).values()), r["number"]))
        m, ex = small["measured"], small["excess"]
        parts = [f"flash {kib(m['flash_bytes'])} of {kib(self.limits.flash_bytes)}"
                 + (f" (+{kib(ex['flash_bytes'])})" if ex["flash_bytes"] else " (fits)"),
                 f"RAM {kib(m['ram_bytes'])} of {kib(self.limits.ram_bytes)}"
                 + (f" (+{kib(ex['ram_bytes'])})" if ex["ram_bytes"] else " (fits)")]
        if self.limits.latency_ms is not None:
            parts.append(f"latency {m['latency_ms']:.2f} ms of {self.limits.latency_ms:g} ms"
                         + (f" (+{ex['latency_ms']:.2f} ms)" if ex["latency_ms"] else " (fits)"))
        knobs = " ".join(f"{p}={hydra_value(v)}" for p, v in small["knobs"].items()) or "(configured model)"
        return (f"no candidate of {len(self.trials)} fits {t.name}: the smallest, {knobs}, needs "
                + ", ".join(parts) + ": widen the knobs' ranges downwards, relax the limit, or pick a bigger target "
                f"(every trial: {self.ws / SEARCH_DIR / 'search.json'})")

    def block(self, chosen: dict[str, Any] | None, note: str = "") -> dict[str, Any]:
        pareto = front(self.trials)
        out: dict[str, Any] = {
            "schema": SEARCH_SCHEMA, "metric": f"val.{self.primary}", "primary_metric": self.primary, "trials_requested": self.n_trials,
            "sampler": getattr(self, "sampler", "none"), "seed": self.seed,
            "knobs": {k.path: k.to_json() for k in self.knobs}, "fixed": self.fixed,
            "probe": self.probe, "rank": self.rank, "limits": self.limits.to_json(),
            "trials": self.trials, "pareto": pareto,
            "files": [f"{SEARCH_DIR}/search.json", f"{SEARCH_DIR}/pareto.png"],
        }
        if note:
            out["note"] = note
        if chosen is not None:
            usage = self.limits.usage(chosen["measured"]) if chosen["measured"] else {}
            rejected = {n: sum(1 for t in self.trials if t["excess"].get(n)) for n in ("flash_bytes", "ram_bytes",
                                                                                         "latency_ms")}
            tightest = max(usage, key=usage.get) if usage else None
            out["chosen"] = {k: chosen.get(k) for k in ("number", "key", "knobs", "overrides", "metric", "measured")}
            out["bound_by"] = {
                "constraint": tightest, "usage": usage, "rejected_by": rejected,
                "explanation": "no trial was measured" if not tightest else (
                    f"{tightest} is the limit the chosen model comes closest to ({usage[tightest]:.0%} of it); "
                    f"{rejected[tightest]} candidate(s) were rejected for exceeding it") if any(rejected.values())
                else (f"no limit rejected any candidate: the metric, not the budget, chose "
                      f"(the tightest limit is {tightest}, {usage[tightest]:.0%} used)")}
        return out

    def write(self, block: dict[str, Any], where: Path, title: str) -> None:
        d = where / SEARCH_DIR
        d.mkdir(parents=True, exist_ok=True)
        write_json(d / "search.json", block)
        plot(block["trials"], block["pareto"], (block.get("chosen") or {}).get("number"),
             self.primary, block["limits"], d / "pareto.png", title)

    def run(self, force: bool = False) -> FitResult:
        t0 = time.monotonic()
        cfg = self.base.config
        title = f"edgeml fit: {cfg.app.name} on {self.base.target.name} via {cfg.backend.name} (seed {self.seed})"
        self.progress.message(title + f" -> {self.base.build_dir}")
        note = ""
        if not self.knobs:
            note = (f"app '{cfg.app.name}' declares no knobs (or all are fixed on the command line): "
                    "searched over nothing, built as configured")
            self.progress.message(note)
            chosen = None
            point: list[str] = []
        else:
            self.progress.message(f"searching {len(self.knobs)} knobs in {self.n_trials} trials under: "
                                  f"flash {kib(self.limits.flash_bytes)}, RAM {kib(self.limits.ram_bytes)}"
                                  + (f", latency {self.limits.latency_ms:g} ms" if self.limits.latency_ms else ""))
            self.search()
            try:
                chosen = self.chosen()
            except BudgetError:   # keep the evidence: every trial's measurement, in the search workspace
                self.write(self.block(None, "nothing fits"), self.ws, title)
                raise
            point = chosen["overrides"]
        t_search = time.monotonic() - t0
        block = self.block(chosen, note)
        bc = self.compose(point)
        if chosen is not None:
            self.progress.message(f"chosen: trial {chosen['number']} "
                                  + " ".join(point) + f" (val {self.primary} {chosen['metric']:.4f}); "
                                  f"building it in full -> {bc.build_dir}")
            link_stages(self.data_dir(bc), bc.build_dir, self.DATA_STAGES)
        self.write(block, bc.build_dir, title)
        report = None
        try:
            _, report = orchestrator.run(bc, progress=self.progress, force=force, report_extra={"search": block})
        finally:
            if report is None and (bc.build_dir / "report.json").is_file():
                report = read_json(bc.build_dir / "report.json")
        return FitResult(search=block, build=bc, report=report,
                         seconds={"search": t_search, "total": time.monotonic() - t0})


def _trial_line(rec: dict[str, Any], primary: str) -> str:
    m = rec["measured"]
    if not m:
        return rec["status"]
    figures = f"flash {kib(m['flash_bytes'])}, RAM {kib(m['ram_bytes'])}" + (
        f", {m['latency_ms']:.2f} ms" if m.get("latency_ms") is not None else "")
    verdict = f"val {primary} {rec['metric']:.4f}" if rec["metric"] is not None else rec["status"]
    return f"{figures} -> {verdict}"


def search_table(block: dict[str, Any], top: int = 8) -> str:
    """The search in a few lines: the front and the choice."""
    trials = {t["number"]: t for t in block["trials"]}
    lines = [f"  search  {len(block['trials'])} trials, {sum(1 for t in block['trials'] if t['fits'])} fit, "
             f"{sum(1 for t in block['trials'] if t['metric'] is not None)} trained; {block['sampler']}; "
             f"Pareto front (* chosen):"]
    if block.get("note"):
        lines.append(f"          {block['note']}")
    for n in block["pareto"][:top]:
        t = trials[n]
        mark = "*" if n == (block.get("chosen") or {}).get("number") else " "
        knobs = " ".join(f"{p.rsplit('.', 1)[-1]}={hydra_value(v)}" for p, v in t["knobs"].items())
        lines.append(f"        {mark} #{n:<3} {_trial_line(t, block['primary_metric'])}  {knobs}")
    if block.get("bound_by"):
        lines.append(f"  bound   {block['bound_by']['explanation']}")
    return "\n".join(lines)


def fit(overrides: list[str], registry: Registry, root: Path, progress: Progress, force: bool = False) -> FitResult:
    """Search the app's knobs on the target and build the best candidate; see the module docstring."""
    return Search(overrides, registry, root, progress).run(force=force)


def print_result(result: FitResult) -> None:
    if result.report is not None:
        print(summary_table(result.report))
    print(search_table(result.search))
    if result.build is not None:
        print(f"  report  {result.build.build_dir / 'report.json'}")
        print(f"  front   {result.build.build_dir / SEARCH_DIR / 'pareto.png'}")
