"""Deterministic PNG figures of frames with overlays (matplotlib, Agg, no metadata).

Same inputs give the same PNG bytes: the Agg canvas is rendered at a fixed
size and DPI and the PNG carries no timestamp or software tag
(``metadata={"Software": None}``). matplotlib is imported inside the
functions, never at module import.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

import numpy as np

#: Draws on one panel: ``overlay(ax, index)``; e.g. boxes, sector bars, labels.
Overlay = Callable[[object, int], None]


def save_png(path: Path, frames: Sequence[np.ndarray] | np.ndarray, overlays: Sequence[Overlay] = (),
             titles: Sequence[str] | None = None, ncols: int = 6, panel_inches: float = 1.8,
             dpi: int = 100, suptitle: str | None = None, cmap: str = "gray") -> str:
    """Write a grid of frames (uint8 HxW gray or HxWx3 RGB) to ``path`` as a PNG; return its file name.

    Each overlay is called as ``overlay(ax, i)`` on panel ``i`` after the
    frame is drawn (pixel coordinates: x right, y down, pixel centres at integers).
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    frames = list(frames)
    n = len(frames)
    if n == 0:
        raise ValueError("save_png needs at least one frame")
    ncols = max(1, min(int(ncols), n))
    nrows = (n + ncols - 1) // ncols
    extra = 0.35 if suptitle else 0.0
    fig = Figure(figsize=(ncols * panel_inches, nrows * (panel_inches + 0.25) + extra), dpi=dpi)
    FigureCanvasAgg(fig)
    for i, frame in enumerate(frames):
        ax = fig.add_subplot(nrows, ncols, i + 1)
        img = np.asarray(frame)
        if img.ndim == 2:
            ax.imshow(img, cmap=cmap, vmin=0, vmax=255, interpolation="nearest")
        else:
            ax.imshow(img, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        for overlay in overlays:
            overlay(ax, i)
        if titles is not None and i < len(titles):
            ax.set_title(str(titles[i]), fontsize=7)
    if suptitle:
        fig.suptitle(suptitle, fontsize=9)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, format="png", dpi=dpi, metadata={"Software": None})
    plt.close("all")
    return path.name
