"""Random 2D maps of forward-looking drone scenes, in batches, in the camera's frame.

A scene is a flat map seen from the camera at the origin looking along +x
(+y to the left): wall segments (walls, doors, box sides) and vertical
cylinders (poles, tree trunks, people), each with a height, an albedo and a
texture. Four kinds, drawn with the configured probabilities:

* corridor: two parallel walls (1.2-3 m apart) and an end wall, doors, boxes,
  people and pillars inside; the camera anywhere across it, yawed up to +-35 deg.
* room: a rectangle of walls (3-8 m a side) around the camera, doors, boxes,
  people and pillars; any yaw.
* clearing: outdoors, a few trees, poles, people, boxes, sometimes a building wall.
* woods: 10-30 tree trunks.

Objects are placed at ranges that make near obstacles common (a third or so
of them within 2 m) and never overlap the camera. Everything is padded to
fixed counts per batch so the ray caster is one numpy expression.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

KINDS = ("corridor", "room", "clearing", "woods")

# texture ids (render.py gives each a pattern)
PLAIN, PANELS, BRICKS, BARK, PERSON, DOOR, BOX = range(7)

MAX_SEGMENTS = 24
MAX_CIRCLES = 32


@dataclass
class SceneBatch:
    """``B`` scenes; inactive slots have ``*_active`` False (and are never hit)."""

    kind: np.ndarray          # (B,) int, index into KINDS
    seg: np.ndarray           # (B, S, 4) x0, y0, x1, y1 in metres, camera frame
    seg_attr: np.ndarray      # (B, S, 4) height m, albedo 0..1, texture id, texture frequency
    seg_active: np.ndarray    # (B, S) bool
    circ: np.ndarray          # (B, C, 3) cx, cy, radius
    circ_attr: np.ndarray     # (B, C, 4) height, albedo, texture id, frequency
    circ_active: np.ndarray   # (B, C) bool
    cam_height: np.ndarray    # (B,) metres
    ceiling: np.ndarray       # (B,) metres, 0 outdoors
    light: np.ndarray         # (B, 2) unit light direction in the map plane
    floor_albedo: np.ndarray  # (B,)
    top_albedo: np.ndarray    # (B,) ceiling or sky brightness
    tile: np.ndarray          # (B,) floor tile size m (0: grass/dirt texture)
    tex_offset: np.ndarray    # (B, 2) floor texture offset


class _Builder:
    """Collects one scene's objects in its own map frame, then moves them to the camera's."""

    def __init__(self) -> None:
        self.segs: list[tuple[float, ...]] = []
        self.circs: list[tuple[float, ...]] = []

    def wall(self, x0, y0, x1, y1, height, albedo, tex, freq) -> None:
        self.segs.append((x0, y0, x1, y1, height, albedo, tex, freq))

    def box(self, cx, cy, w, d, angle, height, albedo) -> None:
        c, s = np.cos(angle), np.sin(angle)
        corners = [(-w / 2, -d / 2), (w / 2, -d / 2), (w / 2, d / 2), (-w / 2, d / 2)]
        pts = [(cx + c * a - s * b, cy + s * a + c * b) for a, b in corners]
        for i in range(4):
            (xa, ya), (xb, yb) = pts[i], pts[(i + 1) % 4]
            self.wall(xa, ya, xb, yb, height, albedo * (0.9 + 0.1 * (i % 2)), BOX, 1.0)

    def cylinder(self, cx, cy, r, height, albedo, tex, freq) -> None:
        self.circs.append((cx, cy, r, height, albedo, tex, freq))

    def to_camera(self, cam_x: float, cam_y: float, yaw: float):
        c, s = np.cos(-yaw), np.sin(-yaw)

        def tf(x, y):
            x, y = x - cam_x, y - cam_y
            return c * x - s * y, s * x + c * y

        segs = []
        for x0, y0, x1, y1, *attr in self.segs:
            a, b = tf(x0, y0), tf(x1, y1)
            segs.append((*a, *b, *attr))
        circs = []
        for cx, cy, r, *attr in self.circs:
            circs.append((*tf(cx, cy), r, *attr))
        return segs[:MAX_SEGMENTS], circs[:MAX_CIRCLES]


def _near_range(rng: np.random.Generator, lo: float, hi: float) -> float:
    """A distance with near values common: half uniform in [lo, 2.2], half uniform in [lo, hi]."""
    return float(rng.uniform(lo, min(hi, 2.2)) if rng.random() < 0.5 else rng.uniform(lo, hi))


def _person(b: _Builder, rng, x, y) -> None:
    b.cylinder(x, y, rng.uniform(0.18, 0.26), rng.uniform(1.5, 1.9), rng.uniform(0.25, 0.8), PERSON,
               rng.uniform(0.0, 1.0))


def _objects_in_view(b: _Builder, rng, count: int, x_max: float, y_half: float, kinds: tuple[str, ...],
                     cam=(0.0, 0.0), yaw=0.0) -> None:
    """Place ``count`` objects ahead of a camera at ``cam`` looking along ``yaw``, inside |y| < y_half."""
    c, s = np.cos(yaw), np.sin(yaw)
    for _ in range(count):
        r = _near_range(rng, 0.45, x_max)
        ang = rng.uniform(-0.75, 0.75)
        ax, ay = r * np.cos(ang), r * np.sin(ang)
        x, y = cam[0] + c * ax - s * ay, cam[1] + s * ax + c * ay
        if abs(y) > y_half - 0.2:
            y = np.sign(y) * (y_half - 0.2) * rng.uniform(0.3, 1.0)
        kind = kinds[rng.integers(len(kinds))]
        if np.hypot(x - cam[0], y - cam[1]) < 0.45:
            continue
        if kind == "box":
            w, d = rng.uniform(0.3, 1.0), rng.uniform(0.3, 0.8)
            b.box(x, y, w, d, rng.uniform(0, np.pi), rng.uniform(0.3, 1.4), rng.uniform(0.3, 0.85))
        elif kind == "person":
            _person(b, rng, x, y)
        elif kind == "pole":
            b.cylinder(x, y, rng.uniform(0.04, 0.15), rng.uniform(2.0, 4.0), rng.uniform(0.2, 0.9), PLAIN, 1.0)
        elif kind == "pillar":
            b.cylinder(x, y, rng.uniform(0.15, 0.35), 4.0, rng.uniform(0.4, 0.9), PANELS, rng.uniform(2, 6))
        else:  # tree
            b.cylinder(x, y, rng.uniform(0.08, 0.4), rng.uniform(5, 12), rng.uniform(0.15, 0.5), BARK,
                       rng.uniform(3, 9))


def _corridor(rng) -> tuple[_Builder, float, float, float, float]:
    b = _Builder()
    width = rng.uniform(1.2, 3.0)
    length = _near_range(rng, 0.6, 15.0)
    height = rng.uniform(2.4, 3.2)
    albedo, tex = rng.uniform(0.35, 0.9), int(rng.choice([PLAIN, PANELS, BRICKS]))
    freq = rng.uniform(0.5, 3.0)
    b.wall(-3.0, width / 2, length, width / 2, height, albedo, tex, freq)
    b.wall(-3.0, -width / 2, length, -width / 2, height, albedo * rng.uniform(0.85, 1.0), tex, freq)
    b.wall(length, -width / 2, length, width / 2, height, albedo * rng.uniform(0.6, 1.1), tex, freq)
    for _ in range(rng.integers(0, 4)):  # doors a little in front of the side walls
        x = rng.uniform(-1, length - 1.0)
        side = 1 if rng.random() < 0.5 else -1
        y = side * (width / 2 - 0.02)
        b.wall(x, y, x + 0.9, y, 2.05, rng.uniform(0.15, 0.7), DOOR, 1.0)
    cam_y = rng.uniform(-width / 2 + 0.3, width / 2 - 0.3) if width > 0.7 else 0.0
    yaw = rng.uniform(-0.6, 0.6)
    _objects_in_view(b, rng, int(rng.integers(0, 4)), min(length, 8.0), width / 2,
                     ("box", "person", "pillar", "box"), cam=(0.0, cam_y), yaw=yaw)
    return b, 0.0, cam_y, yaw, height


def _room(rng) -> tuple[_Builder, float, float, float, float]:
    b = _Builder()
    sx, sy = rng.uniform(3, 8), rng.uniform(3, 8)
    height = rng.uniform(2.4, 3.4)
    albedo, tex = rng.uniform(0.35, 0.9), int(rng.choice([PLAIN, PANELS, BRICKS]))
    freq = rng.uniform(0.5, 3.0)
    pts = [(0, 0), (sx, 0), (sx, sy), (0, sy)]
    for i in range(4):
        (xa, ya), (xb, yb) = pts[i], pts[(i + 1) % 4]
        b.wall(xa, ya, xb, yb, height, albedo * rng.uniform(0.75, 1.1), tex, freq)
    for _ in range(rng.integers(0, 3)):
        wall = rng.integers(4)
        (xa, ya), (xb, yb) = pts[wall], pts[(wall + 1) % 4]
        t = rng.uniform(0.1, 0.75)
        nx, ny = -(yb - ya), xb - xa
        n = np.hypot(nx, ny)
        ox, oy = 0.02 * nx / n, 0.02 * ny / n
        seg_len = np.hypot(xb - xa, yb - ya)
        t2 = min(1.0, t + 0.9 / seg_len)
        b.wall(xa + t * (xb - xa) + ox, ya + t * (yb - ya) + oy, xa + t2 * (xb - xa) + ox,
               ya + t2 * (yb - ya) + oy, 2.05, rng.uniform(0.15, 0.7), DOOR, 1.0)
    cx, cy = rng.uniform(0.3, sx - 0.3), rng.uniform(0.3, sy - 0.3)
    yaw = rng.uniform(-np.pi, np.pi)
    _objects_in_view(b, rng, int(rng.integers(0, 5)), 6.0, 100.0, ("box", "person", "pillar", "box"),
                     cam=(cx, cy), yaw=yaw)
    # keep objects inside the room (clip centres); walls already bound the view
    b.circs = [(min(max(c[0], 0.3), sx - 0.3), min(max(c[1], 0.3), sy - 0.3), *c[2:]) for c in b.circs]
    b.circs = [c for c in b.circs if np.hypot(c[0] - cx, c[1] - cy) > c[2] + 0.25]
    return b, cx, cy, yaw, height


def _outdoor(rng, trees: int) -> tuple[_Builder, float, float, float, float]:
    b = _Builder()
    for _ in range(trees):
        x = _near_range(rng, 0.5, 18.0) if rng.random() < 0.5 else rng.uniform(0.5, 18.0)
        y = rng.uniform(-9, 9) if rng.random() < 0.6 else rng.uniform(-2.0, 2.0)
        r = rng.uniform(0.08, 0.4)
        if np.hypot(x, y) > r + 0.3:
            b.cylinder(x, y, r, rng.uniform(5, 12), rng.uniform(0.15, 0.5), BARK, rng.uniform(3, 9))
    if trees < 10:
        _objects_in_view(b, rng, int(rng.integers(0, 4)), 10.0, 100.0, ("person", "pole", "box", "person"))
        if rng.random() < 0.3:  # a building wall
            x = _near_range(rng, 0.6, 20.0)
            ang = rng.uniform(-0.5, 0.5)
            length = rng.uniform(4, 30)
            cx, cy = x, rng.uniform(-3, 3)
            dx, dy = -np.sin(ang) * length / 2, np.cos(ang) * length / 2
            b.wall(cx - dx, cy - dy, cx + dx, cy + dy, rng.uniform(3, 10), rng.uniform(0.3, 0.9),
                   int(rng.choice([PLAIN, BRICKS, PANELS])), rng.uniform(0.5, 2.0))
    return b, 0.0, 0.0, 0.0, 0.0


def make_batch(rng: np.random.Generator, n: int, kind_probs: np.ndarray, cam_height: tuple[float, float]) -> SceneBatch:
    """``n`` random scenes drawn with ``kind_probs`` over :data:`KINDS`."""
    kinds = rng.choice(len(KINDS), size=n, p=kind_probs)
    seg = np.zeros((n, MAX_SEGMENTS, 4), np.float32)
    seg_attr = np.zeros((n, MAX_SEGMENTS, 4), np.float32)
    seg_active = np.zeros((n, MAX_SEGMENTS), bool)
    circ = np.zeros((n, MAX_CIRCLES, 3), np.float32)
    circ[..., 0] = 1e4
    circ[..., 2] = 0.1
    circ_attr = np.zeros((n, MAX_CIRCLES, 4), np.float32)
    circ_active = np.zeros((n, MAX_CIRCLES), bool)
    ceiling = np.zeros(n, np.float32)
    for i, k in enumerate(kinds):
        name = KINDS[k]
        if name == "corridor":
            b, cx, cy, yaw, ceil = _corridor(rng)
        elif name == "room":
            b, cx, cy, yaw, ceil = _room(rng)
        elif name == "clearing":
            b, cx, cy, yaw, ceil = _outdoor(rng, int(rng.integers(0, 7)))
        else:
            b, cx, cy, yaw, ceil = _outdoor(rng, int(rng.integers(10, 31)))
        segs, circs = b.to_camera(cx, cy, yaw)
        ceiling[i] = ceil
        if segs:
            a = np.asarray(segs, np.float32)
            seg[i, :len(a)], seg_attr[i, :len(a)], seg_active[i, :len(a)] = a[:, :4], a[:, 4:], True
        if circs:
            a = np.asarray(circs, np.float32)
            circ[i, :len(a)], circ_attr[i, :len(a)], circ_active[i, :len(a)] = a[:, :3], a[:, 3:], True
    indoor = ceiling > 0
    ang = rng.uniform(-np.pi, np.pi, n)
    cam_h = rng.uniform(cam_height[0], cam_height[1], n).astype(np.float32)
    cam_h = np.where(indoor, np.minimum(cam_h, ceiling - 0.3), cam_h).astype(np.float32)
    return SceneBatch(
        kind=kinds, seg=seg, seg_attr=seg_attr, seg_active=seg_active, circ=circ, circ_attr=circ_attr,
        circ_active=circ_active, cam_height=cam_h, ceiling=ceiling,
        light=np.stack([np.cos(ang), np.sin(ang)], 1).astype(np.float32),
        floor_albedo=np.where(indoor, rng.uniform(0.2, 0.8, n), rng.uniform(0.2, 0.55, n)).astype(np.float32),
        top_albedo=np.where(indoor, rng.uniform(0.5, 0.95, n), rng.uniform(0.6, 1.0, n)).astype(np.float32),
        tile=np.where(indoor & (rng.random(n) < 0.7), rng.uniform(0.3, 1.0, n), 0.0).astype(np.float32),
        tex_offset=rng.uniform(0, 10, (n, 2)).astype(np.float32))
