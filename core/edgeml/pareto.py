"""The Pareto front of a search: primary metric (higher is better) against flash, RAM and latency.

Pure functions over the trial records of :mod:`edgeml.fit`, plus the PNG.
matplotlib is imported inside :func:`plot` only (Agg backend, no dates in the
file's metadata, so the same trials give the same bytes).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: The costs each trial is measured on, with the record key holding them.
COSTS = (("flash_bytes", "flash"), ("ram_bytes", "RAM"), ("latency_ms", "latency"))


def _point(t: dict[str, Any]) -> tuple[float, ...]:
    m = t["measured"]
    return (-float(t["metric"]), *(float(m[k]) if m.get(k) is not None else 0.0 for k, _ in COSTS))


def dominates(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """``a`` is at least as good as ``b`` on every axis and better on one (metric up, costs down)."""
    pa, pb = _point(a), _point(b)
    return all(x <= y for x, y in zip(pa, pb)) and any(x < y for x, y in zip(pa, pb))


def front(trials: list[dict[str, Any]]) -> list[int]:
    """Numbers of the trained, fitting trials that no other such trial dominates, best metric first."""
    ranked = [t for t in trials if t.get("metric") is not None and t.get("fits")]
    # Repeated knob points are one point: keep the first trial that measured it.
    seen: dict[str, dict[str, Any]] = {}
    for t in ranked:
        seen.setdefault(t["key"], t)
    pts = list(seen.values())
    out = [t for t in pts if not any(dominates(o, t) for o in pts if o is not t)]
    out.sort(key=lambda t: (-float(t["metric"]), *_point(t)[1:], t["number"]))
    return [t["number"] for t in out]


def plot(trials: list[dict[str, Any]], pareto: list[int], chosen: int | None, metric: str,
         limits: dict[str, float | None], path: Path, title: str) -> None:
    """Three panels (metric against flash, RAM, latency): every trained trial, the front, the chosen one, the limits."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    trained = [t for t in trials if t.get("metric") is not None]
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.8), sharey=True)
    for ax, (key, label) in zip(axes, COSTS):
        scale = 1024.0 if key.endswith("bytes") else 1.0
        unit = "KB" if key.endswith("bytes") else "ms"

        def xy(ts):
            return ([float(t["measured"][key] or 0) / scale for t in ts], [float(t["metric"]) for t in ts])

        ok = [t for t in trained if t["fits"]]
        bad = [t for t in trained if not t["fits"]]
        on_front = [t for t in ok if t["number"] in pareto]
        ax.scatter(*xy(ok), s=18, c="#7a9cc6", label="trained, fits")
        if bad:
            ax.scatter(*xy(bad), s=18, c="#bbbbbb", marker="x", label="trained, over budget")
        if on_front:
            pts = sorted(zip(*xy(on_front)))
            ax.plot([p[0] for p in pts], [p[1] for p in pts], "-o", c="#d9534f", ms=5, label="Pareto front")
        rejected = [t for t in trials if t.get("metric") is None and (t.get("measured") or {}).get(key) is not None]
        if rejected:   # measured but never trained (over a limit): ticks along the bottom
            ax.plot([float(t["measured"][key]) / scale for t in rejected], [0.0] * len(rejected), "|", c="#999999",
                    ms=12, transform=ax.get_xaxis_transform(), label="rejected before training")
        pick = [t for t in trained if t["number"] == chosen]
        if pick:
            ax.scatter(*xy(pick), s=120, facecolors="none", edgecolors="k", linewidths=1.5, label="chosen")
        if limits.get(key) is not None:
            ax.axvline(float(limits[key]) / scale, ls="--", c="#555555", lw=1, label="limit")
        ax.set_xlabel(f"{label} ({unit})")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel(f"{metric} (validation)")
    axes[0].legend(fontsize=7, loc="lower right")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90, metadata={"Software": None})
    plt.close(fig)
