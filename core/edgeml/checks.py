"""Core's own validate checks: budget, parity, accuracy cost of compression.

Registered like any plugin (name ``edgeml.checks``); other plugins add theirs
through the same ``edgeml_validate`` hook.
"""

from __future__ import annotations

import numpy as np
import pluggy

from edgeml import metrics as scoring
from edgeml.components import Check
from edgeml.report import average_power, requirements
from edgeml.run import ValidationInput
from edgeml.targets import kib

hookimpl = pluggy.HookimplMarker("edgeml")


@hookimpl
def edgeml_validate(validation: ValidationInput) -> list[Check]:
    v, t, d = validation, validation.target, validation.deliverable
    vcfg = v.config.get("validate", {}) or {}
    checks = []
    for label, key, need, allow in (("RAM", "ram", d.ram_bytes, t.ram_budget_bytes),
                                    ("flash", "flash", d.flash_bytes, t.flash_budget_bytes)):
        ok = need.value <= allow
        checks.append(Check(
            name=f"budget.{key}", passed=ok,
            message=f"{label}: model needs {kib(need.value)}, {t.name} allows {kib(allow)}"
                    + ("" if ok else f" ({getattr(t, 'model_' + key + '_share'):.0%} of {kib(getattr(t, key + '_bytes'))}):"
                       " shrink the model or pick a larger target"),
            figures={"need_bytes": int(need.value), "allow_bytes": int(allow), "method": need.method}))

    par = scoring.parity(v.compressed.test_outputs, v.device.test_outputs)
    exact_required = bool(vcfg.get("require_bit_exact", True))
    checks.append(Check(
        name="parity.device", passed=par["bit_exact"], blocking=exact_required,
        message=(f"device outputs equal {v.compressed.reference} bit for bit on {par['compared']} test inputs"
                 if par["bit_exact"] else
                 f"device outputs differ from {v.compressed.reference} on {par['mismatches']} of {par['compared']} "
                 f"test inputs (max diff {par['max_abs_diff']:g}, {par['argmax_disagreements']} argmax flips): "
                 + (f"{v.device.diagnosis}" if v.device.diagnosis else
                    "the backend does not reproduce the reference arithmetic")),
        figures=par))

    # The model's program must give the same outputs on every runner (host, emulator...): it is what
    # parity.device vouches for. The app's device code is judged by the app itself (float feature code
    # may differ in the last bit between C libraries; the app states its bound).
    model_runs = ((v.device.info or {}).get("programs") or {}).get("model")
    if model_runs:
        diffs = list(model_runs.get("differences", []))
        ran = list(model_runs.get("runs", {}))
        checks.append(Check(
            name="parity.runners", passed=not diffs, blocking=exact_required,
            message=(f"every runner ({', '.join(ran)}) gives the model's outputs bit for bit" if not diffs else
                     "runners disagree on the model: " + "; ".join(diffs) + ": a compiler or target difference "
                     "in the C (float contraction, C library maths, undefined behaviour); build with "
                     "runners.host.sanitize=true"),
            figures={"runners": ran, "skipped": model_runs.get("skipped", {}), "differences": diffs}))

    outs = np.asarray(v.device.test_outputs).reshape(len(v.device.test_outputs), -1)
    distinct = int(len(np.unique(outs, axis=0))) if len(outs) else 0
    checks.append(Check(
        name="outputs.vary", passed=distinct > 1 or len(outs) < 2,
        message=f"device outputs take {distinct} distinct values over {len(outs)} test inputs"
                + ("" if distinct > 1 or len(outs) < 2 else
                   ": a constant model makes parity meaningless; check training and the input quantization"),
        figures={"distinct_outputs": distinct}))

    prim = v.primary
    max_drop = float(vcfg.get("max_int8_drop", 0.02))
    # The quantization's own cost: from the float model the int8 one was converted from (a compressor
    # that prunes first names that level in info["quantized_from"]), so an opted-in pruning step is
    # reported apart instead of being charged to quantization.
    base = str(v.compressed.info.get("quantized_from") or "float")
    if base not in v.scores:
        base = "float"
    if base != "float":
        step = v.scores["float"][prim] - v.scores[base][prim]
        checks.append(Check(
            name=f"accuracy.{base}", passed=True, blocking=False,
            message=f"{prim} moves {-step * 100:+.2f} points from float to {base} (reported, not judged)",
            figures={"float": v.scores["float"][prim], base: v.scores[base][prim], "drop": step}))
    drop = v.scores[base][prim] - v.scores["int8"][prim]
    checks.append(Check(
        name="accuracy.compression", passed=drop <= max_drop,
        message=f"{prim} drops {drop * 100:.2f} points from {base} to int8 (allowed {max_drop * 100:.2f})"
                + ("" if drop <= max_drop else ": use more calibration samples or quantization-aware training"),
        figures={base: v.scores[base][prim], "int8": v.scores["int8"][prim], "drop": drop, "from": base}))

    req = requirements(v.config)
    ms = None if v.latency_cycles is None else v.latency_cycles / t.clock_hz * 1000
    if req["max_latency_ms"] is not None:
        budget = req["max_latency_ms"]
        ok = ms is not None and ms <= budget
        checks.append(Check(
            name="budget.latency", passed=ok,
            message=(f"latency: no figure for {t.name} (its profile has no latency model)" if ms is None else
                     f"latency: {ms:.2f} ms per inference, budget {budget:.2f} ms")
                    + ("" if ok else ": shrink the model (fewer MACs, smaller input) or pick a faster target"),
            figures={"ms": ms, "budget_ms": budget}))
    if req["max_power_mw"] is not None:
        budget = req["max_power_mw"]
        power = average_power(t, ms, req["rate_hz"])
        ok = power is not None and power["average_mw"] <= budget and not power["saturated"]
        if power is None:
            why = ("no inference rate: set validate.rate_hz or the app's requirements.rate_hz" if req["rate_hz"] is None
                   else f"no latency figure for {t.name}")
            message = f"power: cannot judge the {budget:g} mW budget ({why})"
        else:
            message = (f"power: {power['average_mw']:.2f} mW average at {power['rate_hz']:g}/s "
                       f"({power['duty_cycle']:.1%} active at {t.active_mw:g} mW), budget {budget:g} mW")
            if power["saturated"]:
                message += ": one inference takes longer than the period; lower the rate or shrink the model"
            elif not ok:
                message += ": shrink the model, lower the rate, or pick a part with lower active power"
        checks.append(Check(name="budget.power", passed=ok, message=message,
                            figures={"budget_mw": budget} | ({} if power is None else {
                                "average_mw": power["average_mw"], "rate_hz": power["rate_hz"],
                                "duty_cycle": power["duty_cycle"]})))
    return checks
