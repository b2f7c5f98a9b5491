"""Latency, energy and average power per frame of the obstacle build, against its budget.

    python benchmarks/obstacle_power.py                      # builds (or reuses) app=obstacle target=cortex-m4-lp
    python benchmarks/obstacle_power.py builds/obstacle-cortex-m4-lp-tflm
    python benchmarks/obstacle_power.py --rates 5,10,20,30,50 seed=1

Reads the build's report.json: the latency (and how it was obtained), the
target's active and sleep power, the app's requirements (rate, latency and
power budget). Prints energy per frame and the duty-cycled average power
((active x t_inf + sleep x (period - t_inf)) / period) at the configured
rate and at a sweep of rates, and the highest rate each budget allows.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path


def _report(args) -> tuple[Path, dict]:
    if args.build_dir and Path(args.build_dir, "report.json").is_file():
        path = Path(args.build_dir) / "report.json"
        return path, json.loads(path.read_text())
    from edgeml import orchestrator
    from edgeml.config import compose, project_root
    from edgeml.plugins import load_registry
    from edgeml.progress import Progress

    overrides = ["app=obstacle", "target=cortex-m4-lp", "tracking.enabled=false"] + list(args.overrides)
    if args.build_dir:
        overrides.append(f"build_dir={args.build_dir}")
    elif not any(o.startswith("build_dir=") for o in overrides):
        overrides.append(f"build_dir={tempfile.mkdtemp(prefix='edgeml-obstacle-')}")
    bc = compose(overrides, load_registry(), project_root())
    _, report = orchestrator.run(bc, progress=Progress(enabled=True))
    return bc.build_dir / "report.json", report


def average_mw(active_mw: float, sleep_mw: float, t_ms: float, rate_hz: float) -> float:
    period = 1000.0 / rate_hz
    if t_ms >= period:
        return active_mw
    return (active_mw * t_ms + sleep_mw * (period - t_ms)) / period


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("build_dir", nargs="?", help="a finished build dir (else the build is run)")
    ap.add_argument("--rates", default="1,5,10,20,30,50", help="frame rates to tabulate, Hz")
    ap.add_argument("overrides", nargs="*", help="config overrides when the build is run")
    args = ap.parse_args()
    if args.build_dir and "=" in args.build_dir:
        args.overrides.insert(0, args.build_dir)
        args.build_dir = None

    path, report = _report(args)
    lat, power, req = report["latency"], report.get("power") or {}, report.get("requirements") or {}
    t_ms = float(lat["ms"])
    active = float(power.get("active_mw") or 0.0)
    sleep = float(power.get("sleep_mw") or 0.0)
    rate = float(req.get("rate_hz") or power.get("rate_hz") or 10.0)
    max_lat, max_pow = req.get("max_latency_ms"), req.get("max_power_mw")

    print(f"build    {report['app']} on {report['target']} via {report['backend']}  ({path})")
    print(f"latency  {t_ms:.2f} ms per frame, {lat.get('cycles') or 0:,.0f} cycles  [{lat.get('method', '')}]")
    print(f"power    active {active:g} mW, sleep {sleep:g} mW  [{power.get('method', 'target profile')}]")
    print(f"energy   {active * t_ms:.1f} uJ per frame (active power x latency)")
    verdict = lambda ok: "ok" if ok else "OVER"  # noqa: E731
    if max_lat is not None:
        print(f"budget   latency {t_ms:.2f} ms vs {float(max_lat):g} ms: {verdict(t_ms <= float(max_lat))}")
    avg = average_mw(active, sleep, t_ms, rate)
    if max_pow is not None:
        print(f"budget   average power at {rate:g} fps {avg:.3f} mW vs {float(max_pow):g} mW: "
              f"{verdict(avg <= float(max_pow))}")
    print(f"\n{'fps':>6} {'period ms':>10} {'duty %':>7} {'avg mW':>8} {'avg uW':>9}")
    for r in [float(v) for v in args.rates.split(",") if v]:
        period = 1000.0 / r
        a = average_mw(active, sleep, t_ms, r)
        flag = "  (saturated: inference longer than the period)" if t_ms >= period else ""
        print(f"{r:>6g} {period:>10.1f} {min(100.0, 100 * t_ms / period):>7.1f} {a:>8.3f} {a * 1000:>9.1f}{flag}")
    print(f"\nhighest rate the latency allows: {1000.0 / t_ms:.1f} fps")
    if max_pow is not None and active > sleep:
        # avg(r) = sleep + (active - sleep) * t * r / 1000 <= budget
        r_max = (float(max_pow) - sleep) * 1000.0 / ((active - sleep) * t_ms)
        print(f"highest rate the power budget allows: {min(r_max, 1000.0 / t_ms):.1f} fps"
              + (" (latency-bound: the core never exceeds the budget even at 100% duty)"
                 if active <= float(max_pow) else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
