"""report.json: every figure of a build with the method that produced it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from edgeml import metrics as scoring
from edgeml.artifacts import DeviceRun
from edgeml.components import Check
from edgeml.targets import TargetProfile, kib

if TYPE_CHECKING:  # pragma: no cover
    from edgeml.config import BuildConfig
    from edgeml.run import ValidationInput

REPORT_SCHEMA = "edgeml.report/1"


def estimate_latency(macs: int, target: TargetProfile, device: DeviceRun | None,
                     macs_by_kind: dict[str, int] | None = None) -> dict[str, Any]:
    """Cycles per inference: measured by the device run when it has them, else an estimate from MACs.

    The estimate prices each layer kind with the target's cycles/MAC for it
    when both the model (``macs_by_kind``) and the profile give the split,
    else all MACs at the core's single figure.
    """
    if device is not None and device.cycles is not None:
        return {"ms": float(device.cycles.value) / target.clock_hz * 1000.0, "cycles": float(device.cycles.value),
                "macs": int(macs), "method": device.cycles.method}
    lat = target.latency_model
    if lat is None or macs <= 0:
        return {"ms": None, "cycles": None, "macs": int(macs),
                "method": f"none: target '{target.name}' has no latency_model or the model reports no MACs"}
    split = {k: int(v) for k, v in (macs_by_kind or {}).items() if v}
    if lat.cycles_per_mac_by_kind and split:
        rest = macs - sum(split.values())
        if rest > 0:
            split["other"] = rest
        priced = {k: (m, lat.cycles_per_mac_by_kind.get(k, lat.cycles_per_mac)) for k, m in sorted(split.items())}
        cycles = sum(m * c for m, c in priced.values())
        terms = ", ".join(f"{k} {m} x {c:g}" for k, (m, c) in priced.items())
        method = f"estimate: MACs x cycles/MAC per layer kind ({terms}) for {target.core} ({lat.source})"
    else:
        cycles = macs * lat.cycles_per_mac
        method = f"estimate: {macs} MACs x {lat.cycles_per_mac:g} cycles/MAC for {target.core} ({lat.source})"
    return {"ms": cycles / target.clock_hz * 1000.0, "cycles": cycles, "macs": int(macs), "method": method}


def _part(name: str, macs: int, kinds: dict[str, int], measured: dict[str, Any] | None,
          target: TargetProfile) -> dict[str, Any]:
    """One part's cycles: measured by a runner when it has them, else the MAC estimate."""
    if measured and measured.get("cycles") is not None:
        cyc = measured["cycles"]
        part = {"cycles": float(cyc["value"]), "method": cyc["method"], "measured": True, "macs": int(macs)}
        if measured.get("instructions") is not None:
            part["instructions"] = float(measured["instructions"]["value"])
    else:
        est = estimate_latency(macs, target, None, kinds)
        part = {"cycles": est["cycles"], "method": est["method"], "measured": False, "macs": int(macs)}
    part["ms"] = None if part["cycles"] is None else part["cycles"] / target.clock_hz * 1000.0
    return part


def build_latency(model: Any, deliverable: Any, target: TargetProfile, device: DeviceRun | None) -> dict[str, Any]:
    """Latency of what the device runs: the model plus the app's device code
    (``deliverable.info["parts"]["app_code"]``), each measured when a runner
    counted its cycles, else estimated from its MACs; report.json shows both
    parts and says which is which (``method`` is ``emulated`` when every part
    was measured, the estimate's description when none was)."""
    app_code = (deliverable.info.get("parts") or {}).get("app_code") or {}
    app_kinds = {k: int(v) for k, v in (app_code.get("macs_by_kind") or {}).items()}
    app_macs = int(app_code.get("macs") or sum(app_kinds.values()))
    measured_model = None
    if device is not None and device.cycles is not None:
        measured_model = {"cycles": device.cycles.to_json(),
                          "instructions": (device.info.get("instructions") or None)}
    has_app = bool(app_macs or app_code.get("cycles"))
    if measured_model is None and not app_code.get("cycles"):
        # Nothing measured: one estimate over model + app code, as before.
        kinds = dict(model.macs_by_kind)
        for k, v in app_kinds.items():
            kinds[k] = kinds.get(k, 0) + v
        if app_macs and not app_kinds:
            kinds["app_code"] = app_macs
        latency = estimate_latency(model.macs + app_macs, target, device, kinds)
        if app_macs:
            latency["parts"] = {"model_macs": int(model.macs), "app_code_macs": app_macs}
        return latency
    parts = {"model": _part("model", int(model.macs), dict(model.macs_by_kind), measured_model, target)}
    if has_app:
        parts["app_code"] = _part("app_code", app_macs, app_kinds or ({"app_code": app_macs} if app_macs else {}),
                                  app_code, target)
    if any(p["cycles"] is None for p in parts.values()):
        missing = [k for k, p in parts.items() if p["cycles"] is None]
        return {"ms": None, "cycles": None, "macs": int(model.macs + app_macs), "parts": parts,
                "method": f"none: {', '.join(missing)} neither measured nor estimable on target '{target.name}'"}
    cycles = sum(p["cycles"] for p in parts.values())
    measured = [k for k, p in parts.items() if p["measured"]]
    method = ("emulated" if len(measured) == len(parts) else
              " + ".join(f"{'emulated' if p['measured'] else 'estimate'} ({k})" for k, p in parts.items()))
    out = {"ms": cycles / target.clock_hz * 1000.0, "cycles": cycles, "macs": int(model.macs + app_macs),
           "method": method, "parts": parts}
    if all("instructions" in p for p in parts.values()):
        out["instructions"] = sum(p["instructions"] for p in parts.values())
    return out


REQUIREMENT_KEYS = ("max_latency_ms", "rate_hz", "max_power_mw")


def requirements(config: Any) -> dict[str, float | None]:
    """The deployment's budgets: ``validate.KEY`` when set, else the app config's ``requirements.KEY``."""
    validate = config.get("validate") or {}
    app_req = (config.get("app") or {}).get("requirements") or {}
    out: dict[str, float | None] = {}
    for key in REQUIREMENT_KEYS:
        value = validate.get(key)
        if value is None:
            value = app_req.get(key)
        out[key] = None if value is None else float(value)
    return out


def average_power(target: TargetProfile, latency_ms: float | None, rate_hz: float | None) -> dict[str, Any] | None:
    """Average power of a duty cycle: active while inferring, asleep the rest of each period."""
    if rate_hz is None or latency_ms is None:
        return None
    period_ms = 1000.0 / rate_hz
    active_ms = min(latency_ms, period_ms)
    sleep_mw = target.sleep_mw if target.sleep_mw is not None else 0.0
    avg = (target.active_mw * active_ms + sleep_mw * (period_ms - active_ms)) / period_ms
    return {
        "rate_hz": rate_hz, "duty_cycle": active_ms / period_ms, "average_mw": avg,
        "energy_per_inference_uj": target.active_mw * latency_ms, "active_mw": target.active_mw,
        "sleep_mw": target.sleep_mw, "saturated": latency_ms > period_ms,
        "method": f"({target.active_mw:g} mW x {active_ms:.3f} ms + {sleep_mw:g} mW sleep x "
                  f"{period_ms - active_ms:.3f} ms) / {period_ms:.3f} ms period; latency: {{latency}}; active power: "
                  f"{target.power_source or 'target profile'}; sleep power: "
                  + (target.sleep_power_source or "target profile" if target.sleep_mw is not None
                     else f"none in target '{target.name}' (counted as 0)"),
    }


def build_report(bc: BuildConfig, vin: ValidationInput, latency: dict[str, Any], checks: list[Check]) -> dict[str, Any]:
    prim = vin.primary
    target, deliverable = bc.target, vin.deliverable
    par = scoring.parity(vin.compressed.test_outputs, vin.device.test_outputs)
    fits = all(c.passed for c in checks if c.name.startswith("budget."))
    energy = None if latency["ms"] is None else target.active_mw * latency["ms"]
    req = requirements(vin.config)
    power = average_power(target, latency["ms"], req["rate_hz"])
    if power is not None:
        power["method"] = power["method"].replace("{latency}", latency["method"])
    return {
        "schema": REPORT_SCHEMA,
        "app": bc.app.name, "target": target.name, "backend": bc.backend.name,
        "compressor": bc.compressor.name, "seed": int(bc.config.seed), "task": vin.task,
        "classes": vin.features.classes, "primary_metric": prim,
        "accuracy": {level: s.get("accuracy") for level, s in vin.scores.items()},
        "metrics": {"primary": prim, "levels": list(vin.scores)} | vin.scores,
        "requirements": req,
        "power": power,
        "memory": {
            "flash_bytes": int(deliverable.flash_bytes.value), "flash_method": deliverable.flash_bytes.method,
            "ram_bytes": int(deliverable.ram_bytes.value), "ram_method": deliverable.ram_bytes.method,
            "flash_budget_bytes": target.flash_budget_bytes, "ram_budget_bytes": target.ram_budget_bytes,
            "target_flash_bytes": target.flash_bytes, "target_ram_bytes": target.ram_bytes,
            "parts": deliverable.info.get("parts"),
        },
        "latency": latency,
        "deliverable": {"entry_point": deliverable.entry_point, "files": sorted(deliverable.files),
                        "info": deliverable.info},
        "device_run": {"method": vin.device.method, "info": vin.device.info},
        "energy_uj": energy,
        "energy_method": None if energy is None else
        f"{target.active_mw} mW active power x latency ({target.power_source or 'target profile'})",
        "parity": par | {"reference": vin.compressed.reference, "device": vin.device.method,
                         "diagnosis": vin.device.diagnosis},
        "fits": fits,
        "passed": all(c.passed for c in checks if c.blocking),
        "checks": [c.to_json() for c in checks],
    }


def failures(report: dict[str, Any]) -> list[str]:
    return [c["message"] for c in report.get("checks", []) if c["blocking"] and not c["passed"]]


def summary_table(report: dict[str, Any]) -> str:
    """A short human table of a report, for the terminal."""
    m, lat, prim = report["memory"], report["latency"], report["primary_metric"]
    block = report.get("metrics", {})
    levels = {k: block[k] for k in block.get("levels", [k for k, v in block.items() if isinstance(v, dict)])}
    fmt = lambda v: "-" if v is None else f"{v:.4f}"  # noqa: E731
    power = report.get("power")
    rows = [
        ("build", f"{report['app']} on {report['target']} via {report['backend']} (seed {report['seed']})"),
        (prim, "  ".join(f"{level} {fmt(s.get(prim))}" for level, s in levels.items())),
        ("flash", f"{kib(m['flash_bytes'])} of {kib(m['flash_budget_bytes'])} allowed  [{m['flash_method']}]"),
        ("RAM", f"{kib(m['ram_bytes'])} of {kib(m['ram_budget_bytes'])} allowed  [{m['ram_method']}]"),
        ("latency", "-" if lat["ms"] is None else f"{lat['ms']:.2f} ms, {lat['cycles']:.0f} cycles  [{lat['method']}]"),
        ("energy", "-" if report["energy_uj"] is None else f"{report['energy_uj']:.1f} uJ per inference"),
    ] + ([("power", f"{power['average_mw']:.3f} mW average at {power['rate_hz']:g} inferences/s "
                    f"(duty cycle {power['duty_cycle']:.1%})")] if power else []) + [
        ("parity", f"{'bit-exact' if report['parity']['bit_exact'] else 'MISMATCH'}: "
                   f"{report['parity']['mismatches']} of {report['parity']['compared']} outputs differ"),
        ("verdict", "PASS" if report["passed"] else "FAIL: " + "; ".join(failures(report))),
    ]
    ran = _runner_line(report)
    if ran:
        rows.insert(-2, ("runners", ran))
    search = report.get("search") or {}
    if search.get("chosen"):
        knobs = ", ".join(f"{k.split('.')[-1]}={v}" for k, v in sorted((search["chosen"].get("knobs") or {}).items()))
        rows.insert(1, ("search", f"{len(search.get('trials', []))} trials, chosen #{search['chosen'].get('number')}"
                                  f" ({knobs or 'as configured'}); "
                                  f"{(search.get('bound_by') or {}).get('explanation', '')}"))
    track = report.get("tracking") or {}
    if track.get("mlflow_run_id"):
        rows.append(("tracked", f"MLflow run {track['mlflow_run_id']} in {track.get('mlflow_tracking_uri')}"))
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"  {k:<{width}}  {v}" for k, v in rows)


def _runner_line(report: dict[str, Any]) -> str:
    """Which runners built and ran the model's and the app code's programs, and which could not."""
    programs = dict(((report.get("device_run") or {}).get("info") or {}).get("programs") or {})
    app = (((report.get("memory") or {}).get("parts") or {}).get("app_code") or {}).get("info") or {}
    programs.update({f"app {k}": v for k, v in (app.get("programs") or {}).items()})
    parts = []
    for name, p in programs.items():
        runs = ", ".join(f"{r}" + (f" ({v['examples']} examples)" if v.get("examples") not in (None, 0) and
                                   v.get("examples") != max(x.get("examples") or 0 for x in p["runs"].values())
                                   else "") for r, v in (p.get("runs") or {}).items())
        skipped = "; ".join(f"{r} skipped: {why}" for r, why in (p.get("skipped") or {}).items())
        parts.append(f"{name}: {runs}" + (f" [{skipped}]" if skipped else ""))
    return "; ".join(parts)


def markdown(report: dict[str, Any]) -> str:
    """report.md: the summary table and every check, for people and for CI artifacts."""
    lines = [f"# edgeml build: {report['app']} on {report['target']} via {report['backend']}", "",
             "```", summary_table(report), "```", "", "| check | result | detail |", "|---|---|---|"]
    for c in report.get("checks", []):
        verdict = "pass" if c["passed"] else ("FAIL" if c["blocking"] else "warn")
        lines.append(f"| {c['name']} | {verdict} | {c['message'].replace('|', '/')} |")
    track = report.get("tracking") or {}
    if track.get("mlflow_run_id"):
        lines += ["", f"MLflow run `{track['mlflow_run_id']}` in `{track.get('mlflow_tracking_uri')}`."]
    return "\n".join(lines) + "\n"
