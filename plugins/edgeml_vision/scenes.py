"""An offline generator of top-down aerial frames with people and vehicles.

Each frame is a small camera image (RGB, ``sense.frame_size``) seen from a
drone or mast looking straight down: a ground texture (grass, asphalt,
soil, gravel, with patches of a second one), roads with lane markings and
crossings, roofs, distractors (bushes, rocks, debris), then vehicles
(oriented rectangles with windscreens, rear windows and a shadow, mostly on
roads) and people (a few pixels of clothing and head with a long shadow cast
away from the sun). The altitude varies per frame (pixels per metre), so
do the sun direction, illumination, blur and sensor noise. Objects may touch
and be cut by the frame edge; an object is labelled when its centre is in
the frame.

Every frame is drawn from its own generator seeded by ``(seed, split,
index)``: the same config and seed give the same bytes, and the splits never
share a frame. Shapes are antialiased by supersampling their masks (3x3 for small ones).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from edgeml import ConfigError, Progress
from edgeml_vision.frames_store import SPLITS, RawFrames

CLASSES = ("person", "vehicle")
SPLIT_IDS = {"train": 1, "val": 2, "test": 3}

GROUNDS = {  # base RGB in [0, 1], coarse texture amplitude, fine speckle amplitude
    "grass": ((0.30, 0.45, 0.20), 0.16, 0.06),
    "asphalt": ((0.26, 0.26, 0.27), 0.07, 0.05),
    "soil": ((0.46, 0.36, 0.26), 0.14, 0.05),
    "gravel": ((0.55, 0.53, 0.50), 0.06, 0.12),
}
CAR_COLOURS = ((0.92, 0.92, 0.90), (0.08, 0.08, 0.09), (0.62, 0.63, 0.65), (0.70, 0.10, 0.10),
               (0.12, 0.22, 0.55), (0.35, 0.36, 0.38), (0.85, 0.75, 0.20), (0.20, 0.40, 0.25))
ROOF_COLOURS = ((0.55, 0.22, 0.16), (0.40, 0.40, 0.42), (0.22, 0.22, 0.24), (0.70, 0.68, 0.64))


@dataclass(frozen=True)
class SceneSettings:
    """``app.sense`` for the generator, checked."""

    width: int
    height: int
    per_split: dict[str, int]
    pixels_per_metre: tuple[float, float]
    persons: tuple[int, int]
    vehicles: tuple[int, int]
    bushes: tuple[int, int]
    rocks: tuple[int, int]
    debris: tuple[int, int]
    empty_fraction: float
    min_separation_px: float
    blur_sigma: tuple[float, float]
    noise_sigma: tuple[float, float]
    gain: tuple[float, float]

    @classmethod
    def from_config(cls, sense: Any) -> "SceneSettings":
        g = sense.generator

        def pair(key: str, cast=float) -> tuple:
            v = list(g[key])
            if len(v) != 2 or cast(v[0]) > cast(v[1]) or cast(v[0]) < 0:
                raise ConfigError(f"app.sense.generator.{key}={v} must be [low, high] with 0 <= low <= high")
            return cast(v[0]), cast(v[1])

        w, h = (int(v) for v in sense.frame_size)
        if w < 32 or h < 32:
            raise ConfigError(f"app.sense.frame_size=[{w}, {h}] is too small: frames must be at least 32x32")
        per_split = {s: int(sense.per_split[s]) for s in SPLITS}
        if min(per_split.values()) < 1:
            raise ConfigError(f"app.sense.per_split={per_split} needs at least one frame per split")
        ppm = pair("pixels_per_metre")
        if ppm[0] <= 0:
            raise ConfigError("app.sense.generator.pixels_per_metre must be positive (altitude as pixels per metre)")
        empty = float(g.empty_fraction)
        if not 0 <= empty < 1:
            raise ConfigError(f"app.sense.generator.empty_fraction={empty} must be in [0, 1)")
        return cls(width=w, height=h, per_split=per_split, pixels_per_metre=ppm, persons=pair("persons", int),
                   vehicles=pair("vehicles", int), bushes=pair("bushes", int), rocks=pair("rocks", int),
                   debris=pair("debris", int), empty_fraction=empty,
                   min_separation_px=float(g.min_separation_px), blur_sigma=pair("blur_sigma"),
                   noise_sigma=pair("noise_sigma"), gain=pair("gain"))


class SceneGenerator:
    """Renders :class:`RawFrames` from ``app.sense`` and the build seed."""

    def __init__(self, sense: Any, seed: int):
        self.settings = SceneSettings.from_config(sense)
        self.seed = int(seed)

    def generate(self, progress: Progress) -> RawFrames:
        s = self.settings
        frames, objects = {}, {}
        total, done = sum(s.per_split.values()), 0
        for split in SPLITS:
            imgs, objs = [], []
            for i in range(s.per_split[split]):
                img, labels = render_scene(s, np.random.default_rng([self.seed, SPLIT_IDS[split], i]))
                imgs.append(img)
                objs.append(labels)
                done += 1
                if done % 50 == 0 or done == total:
                    progress.update(done, total, "render aerial scenes")
            frames[split], objects[split] = imgs, objs
        return RawFrames.from_lists(frames, objects, list(CLASSES), provenance={
            "source": "edgeml_vision.scenes (offline generator)", "seed": self.seed,
            "frame_size": [s.width, s.height], "settings": {
                "pixels_per_metre": list(s.pixels_per_metre), "persons": list(s.persons),
                "vehicles": list(s.vehicles), "bushes": list(s.bushes), "rocks": list(s.rocks),
                "debris": list(s.debris), "empty_fraction": s.empty_fraction,
                "min_separation_px": s.min_separation_px, "blur_sigma": list(s.blur_sigma),
                "noise_sigma": list(s.noise_sigma), "gain": list(s.gain)}})


# ---------------------------------------------------------------- rendering


class _Canvas:
    """A float RGB image with antialiased shape painting."""

    @staticmethod
    def supersampling(radius: float) -> int:
        """Samples per pixel and axis: 3 for small shapes (people, cars), fewer for large ones."""
        return 3 if radius <= 12 else (2 if radius <= 40 else 1)

    def __init__(self, h: int, w: int):
        self.h, self.w = h, w
        self.img = np.zeros((h, w, 3), np.float32)

    def coverage(self, cx: float, cy: float, radius: float, inside) -> tuple[slice, slice, np.ndarray] | None:
        """Alpha in [0, 1] of ``inside(dx, dy)`` (offsets from the centre) over the shape's bounding square."""
        x0, x1 = max(0, int(np.floor(cx - radius)) - 1), min(self.w, int(np.ceil(cx + radius)) + 2)
        y0, y1 = max(0, int(np.floor(cy - radius)) - 1), min(self.h, int(np.ceil(cy + radius)) + 2)
        if x0 >= x1 or y0 >= y1:
            return None
        k = self.supersampling(radius)
        sub = (np.arange(k, dtype=np.float32) + 0.5) / k
        xs = (np.arange(x0, x1, dtype=np.float32)[:, None] + sub[None, :]).reshape(-1) - cx
        ys = (np.arange(y0, y1, dtype=np.float32)[:, None] + sub[None, :]).reshape(-1) - cy
        mask = inside(xs[None, :], ys[:, None]).astype(np.float32)
        alpha = mask.reshape(y1 - y0, k, x1 - x0, k).sum(axis=(1, 3)) * np.float32(1.0 / (k * k))
        if not alpha.any():
            return None
        return slice(y0, y1), slice(x0, x1), alpha

    def paint(self, cov, colour, opacity: float = 1.0) -> None:
        if cov is None:
            return
        ys, xs, a = cov
        a = (a * opacity)[..., None]
        self.img[ys, xs] = self.img[ys, xs] * (1 - a) + np.asarray(colour, np.float32) * a

    def shade(self, cov, darkness: float) -> None:
        if cov is None:
            return
        ys, xs, a = cov
        self.img[ys, xs] *= (1 - darkness * a)[..., None]


def _rect(length: float, width: float, angle: float):
    c, s = np.cos(angle), np.sin(angle)

    def inside(dx, dy):
        u, v = dx * c + dy * s, -dx * s + dy * c
        return (np.abs(u) <= length / 2) & (np.abs(v) <= width / 2)
    return inside


def _ellipse(a: float, b: float, angle: float):
    c, s = np.cos(angle), np.sin(angle)

    def inside(dx, dy):
        u, v = dx * c + dy * s, -dx * s + dy * c
        return (u / a) ** 2 + (v / b) ** 2 <= 1.0
    return inside


def _blob(r: float, rng: np.random.Generator):
    """A lumpy disc (bush, rock): radius modulated by a few random harmonics."""
    k = np.arange(2, 6)
    amp = rng.uniform(0.05, 0.18, len(k))
    phase = rng.uniform(0, 2 * np.pi, len(k))

    def inside(dx, dy):
        theta = np.arctan2(dy, dx)
        rr = r * (1 + sum(a * np.sin(n * theta + p) for a, n, p in zip(amp, k, phase)))
        return dx * dx + dy * dy <= rr * rr
    return inside


def _smooth_noise(rng: np.random.Generator, h: int, w: int, cell: float) -> np.ndarray:
    """Zero-mean, unit-ish noise varying over about ``cell`` pixels (bilinear upsampled lattice)."""
    gh, gw = int(np.ceil(h / cell)) + 2, int(np.ceil(w / cell)) + 2
    lattice = rng.standard_normal((gh, gw)).astype(np.float32)
    ys = np.arange(h, dtype=np.float32) / cell
    xs = np.arange(w, dtype=np.float32) / cell
    y0, x0 = ys.astype(int), xs.astype(int)
    fy, fx = (ys - y0)[:, None], (xs - x0)[None, :]
    a = lattice[y0][:, x0]
    b = lattice[y0][:, x0 + 1]
    c = lattice[y0 + 1][:, x0]
    d = lattice[y0 + 1][:, x0 + 1]
    return a * (1 - fx) * (1 - fy) + b * fx * (1 - fy) + c * (1 - fx) * fy + d * fx * fy


def _ground(rng: np.random.Generator, h: int, w: int, kind: str, ppm: float) -> np.ndarray:
    base, coarse, fine = GROUNDS[kind]
    base = np.clip(np.asarray(base, np.float32) + rng.uniform(-0.05, 0.05, 3).astype(np.float32), 0.05, 0.95)
    tex = (coarse * _smooth_noise(rng, h, w, max(3.0, 3.0 * ppm))
           + 0.5 * coarse * _smooth_noise(rng, h, w, max(2.0, 0.8 * ppm))
           + fine * rng.standard_normal((h, w)).astype(np.float32))
    tint = 1 + 0.03 * rng.standard_normal(3).astype(np.float32)
    return base[None, None, :] * (1 + tex[..., None] * tint[None, None, :])


def render_scene(s: SceneSettings, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One frame: uint8 (h, w, 3) RGB and its objects, float32 (k, 5) ``class, cx, cy, w, h`` normalised."""
    h, w = s.height, s.width
    ppm = float(rng.uniform(*s.pixels_per_metre))
    cv = _Canvas(h, w)
    kinds = list(GROUNDS)
    cv.img[:] = _ground(rng, h, w, kinds[rng.integers(len(kinds))], ppm)
    if rng.random() < 0.5:  # a patch of a second ground
        other = _ground(rng, h, w, kinds[rng.integers(len(kinds))], ppm)
        mask = _smooth_noise(rng, h, w, max(8.0, 6.0 * ppm)) > rng.uniform(0.0, 0.8)
        cv.img[mask] = other[mask]

    sun = float(rng.uniform(0, 2 * np.pi))
    sun_dx, sun_dy = np.cos(sun), np.sin(sun)
    shadow_len = float(rng.uniform(0.7, 1.6))  # metres of shadow per metre of height
    shadow_dark = float(rng.uniform(0.25, 0.55))

    roads = _roads(cv, rng, ppm)
    _roofs(cv, rng, ppm, sun_dx, sun_dy, shadow_len, shadow_dark)
    _distractors(cv, rng, s, ppm, sun_dx, sun_dy, shadow_len, shadow_dark)

    placed: list[tuple[float, float]] = []
    objects: list[tuple[int, float, float, float, float]] = []
    empty = rng.random() < s.empty_fraction
    n_veh = 0 if empty else int(rng.integers(s.vehicles[0], s.vehicles[1] + 1))
    n_per = 0 if empty else int(rng.integers(s.persons[0], s.persons[1] + 1))
    for _ in range(n_veh):
        _vehicle(cv, rng, ppm, roads, placed, objects, s.min_separation_px, sun_dx, sun_dy, shadow_len,
                 shadow_dark)
    group_centre = None
    for _ in range(n_per):
        if group_centre is None or rng.random() < 0.5:
            group_centre = (float(rng.uniform(-0.05, 1.05) * w), float(rng.uniform(-0.05, 1.05) * h))
        _person(cv, rng, ppm, group_centre, placed, objects, s.min_separation_px, sun_dx, sun_dy, shadow_len,
                shadow_dark)

    img = cv.img
    # Illumination: global gain, a linear gradient (vignetting, clouds), a colour cast.
    gain = float(rng.uniform(*s.gain))
    gy, gx = np.mgrid[0:h, 0:w].astype(np.float32)
    ang = rng.uniform(0, 2 * np.pi)
    grad = ((gx - w / 2) * np.cos(ang) + (gy - h / 2) * np.sin(ang)) / max(w, h)
    img = img * (gain * (1 + rng.uniform(0, 0.35) * grad))[..., None]
    img = img * (1 + 0.04 * rng.standard_normal(3).astype(np.float32))[None, None, :]
    sigma = float(rng.uniform(*s.blur_sigma))
    if sigma > 0.05:
        from scipy.ndimage import gaussian_filter

        img = gaussian_filter(img, sigma=(sigma, sigma, 0), mode="nearest")
    noise = float(rng.uniform(*s.noise_sigma)) / 255.0
    img = img + noise * rng.standard_normal(img.shape).astype(np.float32)
    frame = np.clip(np.round(img * 255.0), 0, 255).astype(np.uint8)
    labels = np.asarray([o for o in objects if 0 <= o[1] < w and 0 <= o[2] < h], np.float32).reshape(-1, 5)
    labels[:, 1] /= w
    labels[:, 3] /= w
    labels[:, 2] /= h
    labels[:, 4] /= h
    return frame, labels


def _roads(cv: _Canvas, rng, ppm: float) -> list[tuple[float, float, float, float]]:
    """0-2 straight roads with dashed centre lines, sometimes a crossing; returns (px, py, angle, half width)."""
    roads = []
    n = int(rng.choice([0, 1, 1, 2], p=[0.3, 0.3, 0.2, 0.2]))
    for _ in range(n):
        px, py = rng.uniform(0.1, 0.9) * cv.w, rng.uniform(0.1, 0.9) * cv.h
        angle = float(rng.uniform(0, np.pi))
        half = float(rng.uniform(2.8, 4.5) * ppm)
        big = float(np.hypot(cv.w, cv.h))
        tone = rng.uniform(0.18, 0.34)
        cv.paint(cv.coverage(px, py, big, _rect(2 * big, 2 * half, angle)), (tone, tone, tone * 1.03))
        c, s = np.cos(angle), np.sin(angle)
        dash, gap, lw = 3.0 * ppm, 6.0 * ppm, max(0.6, 0.15 * ppm)
        offset = rng.uniform(0, dash + gap)
        for t in np.arange(-big - offset, big, dash + gap):
            mx, my = px + c * (t + dash / 2), py + s * (t + dash / 2)
            if -dash < mx < cv.w + dash and -dash < my < cv.h + dash:
                cv.paint(cv.coverage(mx, my, dash, _rect(dash, lw, angle)), (0.88, 0.88, 0.84), 0.9)
        if rng.random() < 0.3:  # zebra crossing
            t = rng.uniform(-0.3, 0.3) * big
            for k in np.arange(-half + 0.5 * ppm, half - 0.3 * ppm, 1.0 * ppm):
                mx, my = px + c * t - s * k, py + s * t + c * k
                cv.paint(cv.coverage(mx, my, 2 * ppm, _rect(2.5 * ppm, 0.5 * ppm, angle)), (0.9, 0.9, 0.88), 0.9)
        roads.append((px, py, angle, half))
    return roads


def _roofs(cv: _Canvas, rng, ppm: float, sdx: float, sdy: float, slen: float, dark: float) -> None:
    for _ in range(int(rng.integers(0, 3))):
        cx, cy = rng.uniform(0, cv.w), rng.uniform(0, cv.h)
        length, width = rng.uniform(8, 16) * ppm, rng.uniform(6, 11) * ppm
        angle = float(rng.uniform(0, np.pi))
        r = float(np.hypot(length, width)) / 2 + 1
        sh = 5.0 * slen * ppm
        cv.shade(cv.coverage(cx + sdx * sh, cy + sdy * sh, r, _rect(length, width, angle)), dark)
        colour = np.asarray(ROOF_COLOURS[rng.integers(len(ROOF_COLOURS))]) * rng.uniform(0.85, 1.15)
        cv.paint(cv.coverage(cx, cy, r, _rect(length, width, angle)), np.clip(colour, 0, 1))
        # The half facing away from the sun is darker; a ridge line between the halves.
        c, s = np.cos(angle), np.sin(angle)
        nx, ny = -s, c
        side = 1.0 if nx * sdx + ny * sdy > 0 else -1.0
        hx, hy = cx + side * nx * width / 4, cy + side * ny * width / 4
        cv.shade(cv.coverage(hx, hy, r, _rect(length, width / 2, angle)), 0.25)
        cv.paint(cv.coverage(cx, cy, r, _rect(length, max(0.6, 0.2 * ppm), angle)), np.clip(colour * 0.6, 0, 1))


def _distractors(cv: _Canvas, rng, s: SceneSettings, ppm: float, sdx: float, sdy: float, slen: float,
                 dark: float) -> None:
    for _ in range(int(rng.integers(s.bushes[0], s.bushes[1] + 1))):  # bushes and small trees
        cx, cy, r = rng.uniform(0, cv.w), rng.uniform(0, cv.h), rng.uniform(0.6, 2.2) * ppm
        sh = r * slen
        blob = _blob(r, rng)
        cv.shade(cv.coverage(cx + sdx * sh, cy + sdy * sh, 1.3 * r, blob), dark)
        g = rng.uniform(0.12, 0.35)
        cv.paint(cv.coverage(cx, cy, 1.3 * r, blob), (g * 0.7, g * 1.2, g * 0.5))
    for _ in range(int(rng.integers(s.rocks[0], s.rocks[1] + 1))):  # rocks, a person's size and more
        cx, cy, r = rng.uniform(0, cv.w), rng.uniform(0, cv.h), rng.uniform(0.3, 0.8) * ppm
        blob = _blob(r, rng)
        cv.shade(cv.coverage(cx + sdx * r * 0.6, cy + sdy * r * 0.6, 1.3 * r, blob), dark * 0.8)
        g = rng.uniform(0.35, 0.8)
        cv.paint(cv.coverage(cx, cy, 1.3 * r, blob), (g, g * 0.98, g * 0.95))
    # Debris, signs, manholes: small bright or dark bars.
    for _ in range(int(rng.integers(s.debris[0], s.debris[1] + 1))):
        cx, cy = rng.uniform(0, cv.w), rng.uniform(0, cv.h)
        length, width = rng.uniform(0.3, 1.5) * ppm, rng.uniform(0.2, 0.5) * ppm
        g = rng.choice([rng.uniform(0.05, 0.2), rng.uniform(0.7, 0.95)])
        cv.paint(cv.coverage(cx, cy, length, _rect(length, width, rng.uniform(0, np.pi))), (g, g, g))


def _luma(rgb) -> float:
    r, g, b = rgb
    return 0.299 * r + 0.587 * g + 0.114 * b


def _local_luma(cv: _Canvas, cx: float, cy: float, r: float) -> float:
    """Mean brightness of the canvas in a square of half-size ``r`` around (cx, cy) (0.4 off the frame)."""
    x0, x1 = int(max(0, cx - r)), int(min(cv.w, cx + r + 1))
    y0, y1 = int(max(0, cy - r)), int(min(cv.h, cy + r + 1))
    return _luma(cv.img[y0:y1, x0:x1].reshape(-1, 3).mean(axis=0)) if x1 > x0 and y1 > y0 else 0.4


def _free(x: float, y: float, placed: list[tuple[float, float]], sep: float) -> bool:
    return all((x - px) ** 2 + (y - py) ** 2 >= sep * sep for px, py in placed)


def _vehicle(cv: _Canvas, rng, ppm, roads, placed, objects, sep, sdx, sdy, slen, dark) -> None:
    length, width = rng.uniform(3.8, 5.2) * ppm, rng.uniform(1.65, 2.0) * ppm
    for _ in range(20):
        if roads and rng.random() < 0.7:
            px, py, angle, half = roads[rng.integers(len(roads))]
            t = rng.uniform(-0.6, 0.6) * np.hypot(cv.w, cv.h)
            lane = rng.choice([-1.0, 1.0]) * rng.uniform(0.3, 0.7) * half
            c, s = np.cos(angle), np.sin(angle)
            cx, cy = px + c * t - s * lane, py + s * t + c * lane
            angle = angle + rng.normal(0, 0.04) + (np.pi if lane < 0 else 0.0)
        else:
            cx, cy, angle = rng.uniform(-0.05, 1.05) * cv.w, rng.uniform(-0.05, 1.05) * cv.h, rng.uniform(0, 2 * np.pi)
        if _free(cx, cy, placed, max(sep, 0.9 * width)):
            break
    else:
        return
    placed.append((cx, cy))
    r = float(np.hypot(length, width)) / 2 + 1
    sh = 1.5 * slen * ppm
    cv.shade(cv.coverage(cx + sdx * sh, cy + sdy * sh, r, _rect(length, width, angle)), dark)
    # Any paint whose brightness differs from the ground under the car by 0.2 or more (what a gray camera
    # needs to see it at all); on mid-gray ground, that rules out the mid-gray paints.
    local = _local_luma(cv, cx, cy, max(2.0, width))
    luma = np.array([_luma(c) for c in CAR_COLOURS])
    ok = np.flatnonzero(np.abs(luma - local) >= 0.2)
    pick = int(rng.choice(ok)) if len(ok) else int(np.argmax(np.abs(luma - local)))
    colour = np.clip(np.asarray(CAR_COLOURS[pick]) * rng.uniform(0.9, 1.1), 0, 1)
    cv.paint(cv.coverage(cx, cy, r, _rect(length * 0.98, width, angle)), colour)
    c, s = np.cos(angle), np.sin(angle)
    glass = (0.10, 0.12, 0.15)
    for pos, size in ((0.18, 0.16), (-0.30, 0.10)):  # windscreen (front) and rear window
        gx, gy = cx + c * pos * length, cy + s * pos * length
        cv.paint(cv.coverage(gx, gy, r, _rect(size * length, 0.8 * width, angle)), glass, 0.9)
    cv.paint(cv.coverage(cx - c * 0.06 * length, cy - s * 0.06 * length, r,
                         _rect(0.3 * length, 0.75 * width, angle)), np.clip(colour * 1.08, 0, 1))
    objects.append((1, cx, cy, 2 * (abs(c) * length + abs(s) * width) / 2, 2 * (abs(s) * length + abs(c) * width) / 2))


def _person(cv: _Canvas, rng, ppm, centre, placed, objects, sep, sdx, sdy, slen, dark) -> None:
    for _ in range(20):
        cx = centre[0] + rng.normal(0, 1.5 * sep)
        cy = centre[1] + rng.normal(0, 1.5 * sep)
        if _free(cx, cy, placed, sep):
            break
    else:
        return
    placed.append((cx, cy))
    height_m = rng.uniform(1.5, 1.9)
    shoulders, depth = rng.uniform(0.45, 0.60) * ppm, rng.uniform(0.30, 0.40) * ppm
    facing = rng.uniform(0, np.pi)
    # Long thin shadow of a standing body, away from the sun.
    sl = height_m * slen * ppm
    cv.shade(cv.coverage(cx + sdx * sl / 2, cy + sdy * sl / 2, sl / 2 + shoulders,
                         _ellipse(sl / 2 + 0.5 * depth, 0.45 * shoulders, np.arctan2(sdy, sdx))), dark * 1.2)
    # Clothing stands out from the ground around it in brightness (what a gray camera sees): light, unless
    # the ground is light (then dark, and the shadow beside it still marks the person), with a random hue.
    local = _local_luma(cv, cx, cy, 4.0)
    level = rng.uniform(0.7, 1.0) if local < 0.6 else rng.uniform(0.02, 0.18)
    hue = rng.uniform(0.6, 1.4, 3)
    clothes = np.clip(level * hue / hue.mean(), 0, 1)
    cv.paint(cv.coverage(cx, cy, shoulders, _ellipse(shoulders / 2, depth / 2, facing)), clothes)
    hair = rng.uniform(0.05, 0.6)
    cv.paint(cv.coverage(cx, cy, 0.2 * ppm, _ellipse(0.11 * ppm, 0.11 * ppm, 0.0)),
             (hair, hair * 0.85, hair * 0.7))
    objects.append((0, cx, cy, max(shoulders, 1.0), max(shoulders, 1.0)))
