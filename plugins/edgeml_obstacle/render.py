"""A vectorised 2.5D ray caster: one ray per image column, exact depth, grayscale frames.

For a batch of :class:`~edgeml_obstacle.scenes.SceneBatch` scenes every
column's ray is intersected with every wall segment and cylinder at once
(numpy broadcasting over scene x column x object). The three nearest hits of
each column are painted far to near (so what stands behind a box or a person
shows above it) over a floor and a ceiling or sky; then the camera: exposure
and gamma, vignetting, horizontal motion blur, Gaussian sensor noise, uint8.

Labels come from the same hits: per column the nearest *obstacle* (an object
whose top is above the camera height less ``clearance_m``: the ray at flight
height meets it), then per sector the nearest distance and, for the
collision flag, whether any hit point lies inside the drone's straight-ahead
corridor (ahead closer than ``collision_distance_m``, within
``half_width_m`` of the axis).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgeml_obstacle.scenes import BARK, BOX, BRICKS, DOOR, PANELS, PERSON, SceneBatch

LAYERS = 3
MAX_RANGE_M = 30.0


@dataclass(frozen=True)
class Camera:
    width: int
    height: int
    hfov_deg: float
    pitch_jitter_deg: float = 3.5
    roll_jitter_deg: float = 2.5

    @property
    def focal(self) -> float:
        return (self.width / 2) / np.tan(np.radians(self.hfov_deg) / 2)

    def ray_dirs(self) -> np.ndarray:
        """(W, 2) unit ray directions, column 0 on the left (+y)."""
        off = (np.arange(self.width) + 0.5 - self.width / 2) / self.focal
        d = np.stack([np.ones_like(off), -off], 1)
        return (d / np.linalg.norm(d, axis=1, keepdims=True)).astype(np.float32)


@dataclass(frozen=True)
class LabelRule:
    sectors: int
    blocked_distance_m: float
    collision_distance_m: float
    half_width_m: float
    clearance_m: float


@dataclass
class Hits:
    dist: np.ndarray     # (B, W, K) distance along the ray, inf on a miss
    u: np.ndarray        # (B, W, K) texture coordinate along the surface, m
    shade: np.ndarray    # (B, W, K) light factor
    attr: np.ndarray     # (B, W, K, 4) height, albedo, texture, frequency (broadcast view)


def cast(scenes: SceneBatch, dirs: np.ndarray) -> Hits:
    """Intersect every column ray with every segment and cylinder of every scene."""
    D = dirs[None, :, None, :]                                   # (1, W, 1, 2)
    P = scenes.seg[:, None, :, :2]                                # (B, 1, S, 2)
    E = scenes.seg[:, None, :, 2:] - P
    denom = D[..., 0] * E[..., 1] - D[..., 1] * E[..., 0]         # (B, W, S)
    with np.errstate(divide="ignore", invalid="ignore"):
        d_seg = (P[..., 0] * E[..., 1] - P[..., 1] * E[..., 0]) / denom
        t = (P[..., 0] * D[..., 1] - P[..., 1] * D[..., 0]) / denom
    ok = (np.abs(denom) > 1e-9) & (d_seg > 0.05) & (t >= 0) & (t <= 1) & scenes.seg_active[:, None, :]
    d_seg = np.where(ok, d_seg, np.inf).astype(np.float32)
    seg_len = np.linalg.norm(E, axis=-1)
    u_seg = np.nan_to_num(t * seg_len).astype(np.float32)
    normal = np.stack([E[..., 1], -E[..., 0]], -1) / np.maximum(seg_len, 1e-6)[..., None]
    lam = np.abs(normal[..., 0] * scenes.light[:, None, None, 0] + normal[..., 1] * scenes.light[:, None, None, 1])
    shade_seg = np.broadcast_to(0.45 + 0.55 * lam, d_seg.shape)

    C = scenes.circ[:, None, :, :2]                               # (B, 1, C, 2)
    r = scenes.circ[:, None, :, 2]
    b = D[..., 0] * C[..., 0] + D[..., 1] * C[..., 1]             # (B, W, C)
    c = C[..., 0] ** 2 + C[..., 1] ** 2 - r ** 2
    disc = b * b - c
    with np.errstate(invalid="ignore"):
        d_circ = b - np.sqrt(disc)
    ok = (disc > 0) & (d_circ > 0.05) & scenes.circ_active[:, None, :]
    d_circ = np.where(ok, d_circ, np.inf).astype(np.float32)
    with np.errstate(over="ignore", invalid="ignore"):
        hx = np.where(ok, d_circ * D[..., 0] - C[..., 0], 0.0) / r
        hy = np.where(ok, d_circ * D[..., 1] - C[..., 1], 0.0) / r
    u_circ = (np.arctan2(hy, hx) * r).astype(np.float32)
    diffuse = np.maximum(0.0, -(hx * scenes.light[:, None, None, 0] + hy * scenes.light[:, None, None, 1]))
    facing = np.maximum(0.0, -(hx * D[..., 0] + hy * D[..., 1]))
    shade_circ = 0.35 + 0.45 * diffuse + 0.25 * facing

    W = dirs.shape[0]
    attr = np.concatenate([np.broadcast_to(scenes.seg_attr[:, None], (len(scenes.kind), W) + scenes.seg_attr.shape[1:]),
                           np.broadcast_to(scenes.circ_attr[:, None], (len(scenes.kind), W) + scenes.circ_attr.shape[1:])],
                          axis=2)
    return Hits(dist=np.concatenate([d_seg, d_circ], 2), u=np.concatenate([u_seg, u_circ], 2),
                shade=np.concatenate([shade_seg, shade_circ], 2).astype(np.float32), attr=attr)


def labels(scenes: SceneBatch, hits: Hits, dirs: np.ndarray, rule: LabelRule) -> tuple[np.ndarray, np.ndarray]:
    """Per-column obstacle depth (B, W) and the label rows (B, sectors + 1): blocked sectors, collision."""
    tall = hits.attr[..., 0] > (scenes.cam_height[:, None, None] - rule.clearance_m)
    d = np.where(tall, hits.dist, np.inf)
    depth = np.minimum(d.min(axis=2), MAX_RANGE_M).astype(np.float32)
    W = dirs.shape[0]
    bounds = [(s * W) // rule.sectors for s in range(rule.sectors + 1)]
    sector_min = np.stack([depth[:, bounds[s]:bounds[s + 1]].min(1) for s in range(rule.sectors)], 1)
    blocked = sector_min < rule.blocked_distance_m
    ahead = d * dirs[None, :, None, 0]
    side = np.abs(np.nan_to_num(d * dirs[None, :, None, 1], nan=np.inf))
    collision = ((ahead < rule.collision_distance_m) & (side < rule.half_width_m)).any(axis=(1, 2))
    return depth, np.concatenate([blocked, collision[:, None]], 1).astype(np.float32)


def _texture(kind: np.ndarray, freq: np.ndarray, u: np.ndarray, z: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Multiplicative pattern (around 1) of each texture id at surface point (u, z)."""
    out = np.ones_like(u)
    m = kind == PANELS
    if m.any():
        out = np.where(m, 1.0 + 0.18 * np.sign(np.sin(2 * np.pi * u * freq)), out)
    m = kind == BRICKS
    if m.any():
        row = np.floor(z / 0.15)
        mortar = ((z / 0.15) % 1.0 < 0.14) | (((u / 0.3) + 0.5 * (row % 2)) % 1.0 < 0.07)
        out = np.where(m, np.where(mortar, 0.65, 1.0 + 0.08 * np.sin(row * 12.9898 + np.floor(u / 0.3) * 78.233)), out)
    m = kind == BARK
    if m.any():
        out = np.where(m, 1.0 + 0.3 * np.sin(2 * np.pi * (u * freq * 3 + 0.4 * np.sin(z * 2.3))), out)
    m = kind == PERSON
    if m.any():
        rel = z / np.maximum(h, 1e-3)
        shirt = 0.7 + 0.9 * freq
        out = np.where(m, np.where(rel < 0.47, 0.55, np.where(rel < 0.84, shirt, 1.35)), out)
    m = kind == DOOR
    if m.any():
        panel = (np.abs(u - 0.45) > 0.36) | (z > 1.95) | ((z > 0.95) & (z < 1.05))
        out = np.where(m, np.where(panel, 0.7, 1.0), out)
    m = kind == BOX
    if m.any():
        out = np.where(m, np.where(np.abs(z - h * 0.5) < 0.03, 1.3, np.where(z > h - 0.04, 1.25, 1.0)), out)
    return out


def render(scenes: SceneBatch, hits: Hits, cam: Camera, rng: np.random.Generator) -> np.ndarray:
    """uint8 frames (B, H, W) of the scenes from their hits."""
    B, W, H = len(scenes.kind), cam.width, cam.height
    f = np.float32(cam.focal)
    f32 = np.float32
    dirs = cam.ray_dirs()
    cos_col = dirs[:, 0][None, :]                                          # (1, W)
    hc = scenes.cam_height[:, None, None]                                  # (B, 1, 1)
    # horizon per column: pitch shifts it, roll tilts it
    pitch = (np.tan(np.radians(rng.uniform(-cam.pitch_jitter_deg, cam.pitch_jitter_deg, B))) * f).astype(f32)
    roll = np.tan(np.radians(rng.uniform(-cam.roll_jitter_deg, cam.roll_jitter_deg, B))).astype(f32)
    cols = np.arange(W, dtype=f32) + f32(0.5)
    horizon = (f32(H / 2) + pitch[:, None] + roll[:, None] * (cols[None, :] - f32(W / 2)))[:, None, :]
    rows = (np.arange(H, dtype=f32) + f32(0.5))[None, :, None]             # (1, H, 1)
    below = rows - horizon                                                 # (B, H, W)
    col_off = -((cols - f32(W / 2)) / f)[None, None, :]

    # floor: distance of the ground point under each pixel
    with np.errstate(divide="ignore", invalid="ignore"):
        zf = np.where(below > 0.5, f * hc / below, MAX_RANGE_M)
    zf = np.minimum(zf, MAX_RANGE_M)
    fx, fy = zf + scenes.tex_offset[:, 0, None, None], zf * col_off + scenes.tex_offset[:, 1, None, None]
    tile = scenes.tile[:, None, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        checker = ((np.floor(fx / np.where(tile > 0, tile, 1)) + np.floor(fy / np.where(tile > 0, tile, 1))) % 2)
    grass = 0.12 * np.sin(fx * 7.1 + np.sin(fy * 5.3) * 2) * np.sin(fy * 6.7 + fx * 1.3)
    floor_pat = np.where(tile > 0, 1.0 + 0.14 * (checker - 0.5) * 2, 1.0 + grass)
    fade = np.exp(-zf / 25.0)
    floor = scenes.floor_albedo[:, None, None] * floor_pat * (0.55 + 0.45 * fade)

    indoor = (scenes.ceiling > 0)[:, None, None]
    above = np.maximum(-below, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        zc = np.where(above > 0.5, f * np.maximum(scenes.ceiling[:, None, None] - hc, 0.2) / above, MAX_RANGE_M)
    ceil_img = scenes.top_albedo[:, None, None] * (0.6 + 0.4 * np.exp(-np.minimum(zc, MAX_RANGE_M) / 6.0))
    sky = scenes.top_albedo[:, None, None] * (1.0 - 0.35 * np.clip(above / (H * 0.6), 0, 1))
    img = np.where(below > 0, floor, np.where(indoor, ceil_img, sky)).astype(np.float32)

    # the three nearest hits of each column, painted far to near
    order = np.argsort(hits.dist, axis=2)[..., :LAYERS]
    take = lambda a: np.take_along_axis(a, order, axis=2)  # noqa: E731
    dist, u, shade = take(hits.dist), take(hits.u), take(hits.shade)
    attr = np.take_along_axis(hits.attr, order[..., None], axis=2)
    for layer in range(LAYERS - 1, -1, -1):
        d = dist[:, :, layer]
        valid = np.isfinite(d)
        z = np.where(valid, d, MAX_RANGE_M) * cos_col                       # perpendicular depth (B, W)
        h = attr[:, :, layer, 0]
        top = horizon[:, 0] - f * (h - scenes.cam_height[:, None]) / z
        bottom = horizon[:, 0] + f * scenes.cam_height[:, None] / z
        mask = (rows >= top[:, None, :]) & (rows < bottom[:, None, :]) & valid[:, None, :]
        if not mask.any():
            continue
        zw = hc - (rows - horizon) * z[:, None, :] / f                      # world height of each pixel
        pat = _texture(attr[:, None, :, layer, 2].round(), attr[:, None, :, layer, 3], u[:, None, :, layer], zw,
                       h[:, None, :])
        value = attr[:, None, :, layer, 1] * shade[:, None, :, layer] * pat * (0.6 + 0.4 * np.exp(-z / 20.0))[:, None, :]
        img = np.where(mask, value, img)

    # camera: exposure, gamma, vignetting, motion blur, noise
    gain = rng.uniform(0.55, 1.5, B)[:, None, None]
    gamma = rng.uniform(0.8, 1.25, B)[:, None, None]
    img = np.clip(img * gain, 0, 1.2) ** gamma
    yy, xx = np.mgrid[0:H, 0:W]
    rad2 = ((xx + 0.5 - W / 2) / (W / 2)) ** 2 + ((yy + 0.5 - H / 2) / (H / 2)) ** 2
    img = img * (1.0 - rng.uniform(0.0, 0.35, B)[:, None, None] * rad2[None] / 2)
    blur = np.where(rng.random(B) < 0.3, rng.integers(2, 6, B), 1)
    for k in np.unique(blur):
        if k <= 1:
            continue
        sel = blur == k
        c = np.cumsum(np.pad(img[sel], ((0, 0), (0, 0), (k // 2 + 1, k - k // 2 - 1)), mode="edge"), axis=2)
        img[sel] = (c[:, :, k:] - c[:, :, :-k]) / k
    noise = rng.normal(0.0, 1.0, img.shape).astype(np.float32) * rng.uniform(1.0, 7.0, B)[:, None, None].astype(np.float32)
    return np.clip(np.round(img * 255.0 + noise), 0, 255).astype(np.uint8)
