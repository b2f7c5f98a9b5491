"""validate's picture: test frames with ground-truth and detected centroids."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgeml import Evaluation
from edgeml_imaging.pictures import save_png
from edgeml_vision.grid import DecodeSettings, GridGeometry, decode

def detections_png(path: Path, ev: Evaluation, geo: GridGeometry, settings: DecodeSettings, radius: float,
                   frames: int = 12) -> str:
    """The first ``frames`` test frames as the model sees them: ground truth as open circles of the match
    radius, detections as crosses (one marker colour per class); the title counts both."""
    x = np.asarray(ev.features.x[ev.split][:frames])
    gray = np.clip(np.round(x[..., 0] * 255.0), 0, 255).astype(np.uint8)
    truth = np.asarray(ev.features.y[ev.split][:frames])
    preds = decode(np.asarray(ev.outputs[:frames]), geo, settings)
    names = ev.features.classes[1:]
    colours = ("#ff3da5", "#22d3ee", "#facc15", "#a3e635", "#fb923c", "#c084fc")
    colour_names = ("pink", "cyan", "yellow", "green", "orange", "violet")

    def overlay(ax, i: int) -> None:
        for cls, cx, cy in truth[i]:
            if cls < 0:
                continue
            ax.add_patch(_circle((cx - 0.5, cy - 0.5), radius, colours[int(cls) % len(colours)]))
        for cls, cx, cy, _score, _cells in preds[i]:
            ax.plot([cx - 0.5], [cy - 0.5], marker="x", markersize=5, mew=1.5,
                    color=colours[int(cls) % len(colours)])
        ax.set_xlim(-0.5, gray.shape[2] - 0.5)
        ax.set_ylim(gray.shape[1] - 0.5, -0.5)

    titles = []
    for i in range(len(gray)):
        t = truth[i][truth[i][:, 0] >= 0][:, 0].astype(int)
        p = preds[i][:, 0].astype(int)
        titles.append(" ".join(f"{n[:3]} {int((p == k).sum())}/{int((t == k).sum())}" for k, n in enumerate(names)))
    legend = ", ".join(f"{n} {colour_names[k % len(colours)]}" for k, n in enumerate(names))
    return save_png(path, gray, overlays=[overlay], titles=titles, ncols=6, suptitle=(
        f"{ev.level}: detections x, ground truth o (match radius {radius:g} px); {legend}; "
        "titles: detected/true"), panel_inches=2.0)


def _circle(xy, r: float, colour: str):
    from matplotlib.patches import Circle

    return Circle(xy, r, fill=False, edgecolor=colour, linewidth=0.9)
