"""validate's figure: test frames as the model sees them, true and predicted blocked sectors."""

from __future__ import annotations

from pathlib import Path

import numpy as np

FIGURE = "obstacle_test_frames.png"


def pick_examples(y: np.ndarray, count: int) -> np.ndarray:
    """Evenly spread test indices, half with a collision label when there are any (deterministic)."""
    pos = np.flatnonzero(y[:, -1] > 0.5)
    neg = np.flatnonzero(~(y[:, -1] > 0.5))
    half = min(len(pos), count // 2)
    take = lambda idx, k: idx[np.linspace(0, len(idx) - 1, num=k).round().astype(int)] if k and len(idx) else idx[:0]  # noqa: E731
    return np.sort(np.unique(np.concatenate([take(pos, half), take(neg, min(len(neg), count - half))])))


def test_frames_figure(ctx, ev, count: int = 12) -> str:
    from edgeml_imaging.pictures import save_png

    y = np.asarray(ev.features.y[ev.split], np.float32)
    p = np.asarray(ev.outputs, np.float32).reshape(len(y), -1)
    idx = pick_examples(y, count)
    frames = np.clip(np.round(ev.features.x[ev.split][idx, :, :, 0] * 255.0), 0, 255).astype(np.uint8)
    h, w = frames.shape[1:]
    sectors = y.shape[1] - 1
    bounds = [(s * w) // sectors for s in range(sectors + 1)]

    def bands(ax, i):
        k = idx[i]
        for s in range(sectors):
            x0, x1 = bounds[s] - 0.5, bounds[s + 1] - 0.5
            if np.isfinite(y[k, s]):
                ax.fill_between([x0, x1], -0.5, h * 0.06, color="red" if y[k, s] > 0.5 else "lime", alpha=0.8,
                                linewidth=0)
            ax.fill_between([x0, x1], h * 0.94, h - 0.5, color="red" if p[k, s] >= 0.5 else "lime", alpha=0.8,
                            linewidth=0)
            ax.axvline(bounds[s] - 0.5, color="yellow", linewidth=0.4)
        ax.set_xlim(-0.5, w - 0.5)
        ax.set_ylim(h - 0.5, -0.5)

    titles = [f"collision {int(y[k, -1])}  p={p[k, -1]:.2f}" for k in idx]
    name = save_png(Path(ctx.out_dir) / FIGURE, frames, [bands], titles=titles, ncols=6,
                    suptitle=f"{ev.level}: sectors true (top band) and predicted (bottom band); red = blocked")
    return name
