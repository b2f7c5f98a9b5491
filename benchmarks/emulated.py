"""Figures measured on the target: per app and target, the model and the app's device code apart.

    python benchmarks/emulated.py                          # vibration on cortex-m4 and cortex-m0plus, kws on cortex-m4
    python benchmarks/emulated.py --only vibration:cortex-m7 --only kws:cortex-m4-lp
    python benchmarks/emulated.py --root /tmp/emu-builds   # keep (and reuse) the build dirs

Builds each app with its default config (cached stages are reused when
--root is given twice) and prints, per part (model, app device code):
instructions, cycles, ms and energy per inference, flash and RAM, and how
each was obtained (emulated, estimate), then the emulator's speed: executed
instructions per second with the counting hook and without it, and the wall
time of each runner. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import edgeml

DEFAULT = ("vibration:cortex-m4", "vibration:cortex-m0plus", "kws:cortex-m4")


class RunnerTimings:
    """An observer that keeps the runners' wall-clock figures (sent as stage metrics, never stored)."""

    def __init__(self) -> None:
        self.figures: dict[str, float] = {}

    @edgeml.hookimpl
    def edgeml_stage_metrics(self, stage, metrics, step):
        self.figures.update({f"{stage}.{k}": v for k, v in metrics.items() if k.startswith("runner.")})


def _fmt(v, unit="", digits=0) -> str:
    if v is None:
        return "-"
    return f"{v:,.{digits}f}{unit}"


def _parts(report: dict) -> list[tuple[str, dict, dict]]:
    lat, mem = report["latency"], report["memory"]
    lparts = lat.get("parts") if isinstance(lat.get("parts"), dict) and "model" in lat.get("parts", {}) else None
    mparts = mem.get("parts") or {}
    if lparts is None:   # nothing measured: one estimate over the whole
        return [("model + app code", {"cycles": lat["cycles"], "ms": lat["ms"], "method": lat["method"]},
                 {"flash_bytes": mem["flash_bytes"], "ram_bytes": mem["ram_bytes"]})]
    out = []
    for name in lparts:
        m = mparts.get(name) or {}
        if name == "app_code":
            m = {"flash_bytes": (m.get("flash_bytes") or {}).get("value"),
                 "ram_bytes": (m.get("ram_bytes") or {}).get("value")}
        out.append((name, lparts[name], m))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", help="app:target (repeatable)")
    parser.add_argument("--root", help="directory for the build dirs (default: a temporary one)")
    args = parser.parse_args()
    from edgeml.testing import build

    wanted = args.only or list(DEFAULT)
    root = Path(args.root or tempfile.mkdtemp(prefix="edgeml-emulated-"))
    rows, speed = [], []
    for item in wanted:
        app, target = item.split(":")
        timings = RunnerTimings()
        try:
            _, report = build([f"app={app}", f"target={target}", f"build_dir={root / f'{app}-{target}'}",
                               "tracking.enabled=false"], timings)
        except edgeml.BudgetError as exc:   # the report is written; show its figures with the verdict
            print(f"{item}: {exc}")
            import json
            report = json.loads((root / f"{app}-{target}" / "report.json").read_text())
        total_ms = report["latency"].get("ms")
        active = report["energy_uj"] / total_ms if total_ms and report.get("energy_uj") is not None else None
        for name, lat, mem in _parts(report):
            method = lat.get("method", "")
            how = "emulated" if lat.get("measured") else ("estimate" if "estimate" in method else method[:20])
            energy = None if lat.get("ms") is None or active is None else active * lat["ms"]
            rows.append((item, name, _fmt(lat.get("instructions")), _fmt(lat.get("cycles")),
                         _fmt(lat.get("ms"), digits=3), _fmt(energy, digits=1), _fmt(mem.get("flash_bytes")),
                         _fmt(mem.get("ram_bytes")), how))
        for key, value in sorted(timings.figures.items()):
            if "instructions_per_second" in key and not key.endswith("note"):
                speed.append((item, key.replace(".runner.", ": "), f"{value / 1e6:.1f} M/s"))
            elif key.endswith("wall_seconds"):
                speed.append((item, key.replace(".runner.", ": "), f"{value:.2f} s"))
    head = ("app:target", "part", "instructions", "cycles", "ms", "energy uJ", "flash B", "RAM B", "latency from")
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head))]
    print("\nPer inference (energy at the target's active power):")
    for r in [head, *rows]:
        print("  " + "  ".join(str(c).rjust(w) if i in (2, 3, 4, 5, 6, 7) else str(c).ljust(w)
                               for i, (c, w) in enumerate(zip(r, widths))))
    print("\nRunners (wall clock of this machine):")
    for item, key, value in speed:
        print(f"  {item:<24} {key:<60} {value}")
    print(f"\nbuilds in {root}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
