"""FOMO-style grids: objects to training targets, and model outputs back to objects.

The model maps an input frame to a coarse grid (``input / stride`` cells),
each cell a softmax over ``background`` and the object classes. Training
marks the cell holding an object's centroid with its class (and, within a
margin of a cell border, the cell across it), the rest background
(:func:`encode`).

Post-processing (:func:`decode`, twinned in C by :mod:`edgeml_vision.postprocess_c`):

1. per cell, the best object class ``k = argmax(scores[1:]) + 1`` (ties to
   the lower index); the cell is *on* when ``scores[k] >= threshold``;
2. on cells of the same class that touch (4-connected: sharing an edge; 8:
   also a corner) form one object;
3. the object's centroid is the mean of its cells' centres, weighted by each
   cell's score (``centroid: score``) or not (``centroid: cell``); its
   score is its best cell's. A cell centre is ``((col + 0.5) * W / grid_w,
   (row + 0.5) * H / grid_h)`` in input pixels.

Objects come out in raster order of their first cell. On an INT8 grid the
same rules run on the raw int8 values (:func:`decode_int8`): the threshold
becomes the smallest int8 value that dequantizes to at least it, weights are
``q - zero_point`` (integers, exactly what the C code sums) and the centroid
is computed in float32 as the C code does, so C and Python agree exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CONNECTIVITY = (4, 8)
CENTROIDS = ("score", "cell")


@dataclass(frozen=True)
class GridGeometry:
    """Input size in pixels and grid size in cells."""

    width: int
    height: int
    grid_w: int
    grid_h: int

    @property
    def cell_w(self) -> float:
        return self.width / self.grid_w

    @property
    def cell_h(self) -> float:
        return self.height / self.grid_h


@dataclass(frozen=True)
class DecodeSettings:
    threshold: float
    connectivity: int = 8
    centroid: str = "score"

    def __post_init__(self) -> None:
        if self.connectivity not in CONNECTIVITY:
            raise ValueError(f"connectivity={self.connectivity} must be 4 or 8")
        if self.centroid not in CENTROIDS:
            raise ValueError(f"centroid='{self.centroid}' must be one of {', '.join(CENTROIDS)}")


def encode(y: np.ndarray, geo: GridGeometry, margin_px: float = 0.0) -> np.ndarray:
    """Padded centroids (n, k, 3) ``class, cx, cy`` (class -1: padding) to int64 (n, grid_h, grid_w) cell classes.

    Cell classes are 0 for background and ``class + 1`` for objects. An object
    marks the cell holding its centroid, and with ``margin_px`` > 0 also every
    cell whose square, grown by ``margin_px`` on each side, holds it: an object
    on a cell border marks both cells (the post-processing merges them back),
    so the target does not flip from one cell to the other at the border.
    When objects claim one cell, the first listed keeps it.
    """
    y = np.asarray(y, np.float32)
    grid = np.zeros((len(y), geo.grid_h, geo.grid_w), np.int64)
    cw, ch = geo.cell_w, geo.cell_h
    for i in range(len(y)):
        for cls, cx, cy in y[i][::-1]:  # reversed, so the first listed object is written last
            if cls < 0:
                continue
            c0 = min(geo.grid_w - 1, max(0, int(np.floor((cx - margin_px) / cw))))
            c1 = min(geo.grid_w - 1, max(0, int(np.floor((cx + margin_px) / cw))))
            r0 = min(geo.grid_h - 1, max(0, int(np.floor((cy - margin_px) / ch))))
            r1 = min(geo.grid_h - 1, max(0, int(np.floor((cy + margin_px) / ch))))
            grid[i, r0:r1 + 1, c0:c1 + 1] = int(cls) + 1
    return grid


def _neighbours(connectivity: int) -> tuple[tuple[int, int], ...]:
    four = ((-1, 0), (0, -1), (0, 1), (1, 0))
    return four if connectivity == 4 else four + ((-1, -1), (-1, 1), (1, -1), (1, 1))


def _components(best: np.ndarray, on: np.ndarray, connectivity: int) -> list[tuple[int, list[tuple[int, int]]]]:
    """(class, cells) of each connected group of on-cells of one class, in raster order of the first cell."""
    gh, gw = best.shape
    seen = np.zeros_like(on, dtype=bool)
    out = []
    steps = _neighbours(connectivity)
    for r in range(gh):
        for c in range(gw):
            if not on[r, c] or seen[r, c]:
                continue
            k = best[r, c]
            stack, cells = [(r, c)], []
            seen[r, c] = True
            while stack:
                rr, cc = stack.pop()
                cells.append((rr, cc))
                for dr, dc in steps:
                    nr, nc = rr + dr, cc + dc
                    if 0 <= nr < gh and 0 <= nc < gw and on[nr, nc] and not seen[nr, nc] and best[nr, nc] == k:
                        seen[nr, nc] = True
                        stack.append((nr, nc))
            out.append((int(k), cells))
    return out


def decode(scores: np.ndarray, geo: GridGeometry, settings: DecodeSettings) -> list[np.ndarray]:
    """Real-valued grids (n, grid_h, grid_w, classes) to objects per frame.

    Each frame gives float64 (k, 5): ``class`` (0-based object class),
    ``cx``, ``cy`` (input pixels), ``score`` (best cell), ``cells``.
    """
    scores = np.asarray(scores, np.float64)
    _check_shape(scores, geo)
    out = []
    for grid in scores:
        best = grid[:, :, 1:].argmax(axis=-1) + 1
        top = np.take_along_axis(grid, best[..., None], axis=-1)[..., 0]
        on = top >= settings.threshold
        objs = []
        for k, cells in _components(best, on, settings.connectivity):
            rows = np.array([rc[0] for rc in cells], np.float64)
            cols = np.array([rc[1] for rc in cells], np.float64)
            w = top[rows.astype(int), cols.astype(int)] if settings.centroid == "score" else np.ones(len(cells))
            sw = w.sum()
            if sw <= 0:  # all weights zero (threshold 0 on empty cells): fall back to plain cell centres
                w, sw = np.ones(len(cells)), float(len(cells))
            cx = float((w * (2 * cols + 1)).sum() * geo.cell_w / (2 * sw))
            cy = float((w * (2 * rows + 1)).sum() * geo.cell_h / (2 * sw))
            objs.append((k - 1, cx, cy, float(top[rows.astype(int), cols.astype(int)].max()), len(cells)))
        out.append(np.asarray(objs, np.float64).reshape(-1, 5))
    return out


def int8_threshold(threshold: float, dequantize) -> int:
    """The smallest int8 value ``q`` with ``dequantize(q) >= threshold`` (128 when none: nothing is on)."""
    q = np.arange(-128, 128, dtype=np.int8)
    real = np.asarray(dequantize(q))
    hits = np.flatnonzero(real >= threshold)
    return int(q[hits[0]]) if len(hits) else 128


def decode_int8(raw: np.ndarray, geo: GridGeometry, q_threshold: int, zero_point: int, connectivity: int,
                centroid: str) -> list[np.ndarray]:
    """Raw int8 grids to objects with exactly the C code's arithmetic.

    Returns per frame float64 (k, 5): ``class, cx, cy, best q, cells``;
    ``cx, cy`` are the float32 values the C code computes.
    """
    raw = np.asarray(raw)
    _check_shape(raw, geo)
    out = []
    cw, ch = np.float32(geo.cell_w), np.float32(geo.cell_h)
    for grid in raw.astype(np.int64):
        best = grid[:, :, 1:].argmax(axis=-1) + 1
        top = np.take_along_axis(grid, best[..., None], axis=-1)[..., 0]
        on = top >= q_threshold
        objs = []
        for k, cells in _components(best, on, connectivity):
            sw = sx = sy = 0
            qmax = -129
            for r, c in cells:
                w = int(top[r, c]) - zero_point if centroid == "score" else 1
                sw, sx, sy = sw + w, sx + w * (2 * c + 1), sy + w * (2 * r + 1)
                qmax = max(qmax, int(top[r, c]))
            if sw <= 0:
                sw, sx, sy = len(cells), sum(2 * c + 1 for _, c in cells), sum(2 * r + 1 for r, _ in cells)
            cx = np.float32(sx) * cw / np.float32(2 * sw)
            cy = np.float32(sy) * ch / np.float32(2 * sw)
            objs.append((k - 1, float(cx), float(cy), float(qmax), len(cells)))
        out.append(np.asarray(objs, np.float64).reshape(-1, 5))
    return out


def _check_shape(grids: np.ndarray, geo: GridGeometry) -> None:
    if grids.ndim != 4 or grids.shape[1:3] != (geo.grid_h, geo.grid_w) or grids.shape[3] < 2:
        raise ValueError(f"grids must be (n, {geo.grid_h}, {geo.grid_w}, classes >= 2), got {grids.shape}")
