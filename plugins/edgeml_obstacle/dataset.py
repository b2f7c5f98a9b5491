"""The sense stage's artifact: camera frames and obstacle labels per split, and the generator.

On disk (byte-stable): ``frames_<split>.npy`` uint8 (n, H, W) at the camera
size, ``y_<split>.npy`` float32 (n, sectors + 1) -- blocked per sector (left
to right), then the collision flag; NaN where a label is unknown (real data
without sector labels) -- ``depth_<split>.npy`` float32 (n, W) per-column
obstacle distance in metres (NaN for real data), ``kind_<split>.npy`` int8
(scene kind, -1 for real data) and ``dataset.json`` with the classes,
label rule, counts and provenance.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgeml import ConfigError, DataError

SPLITS = ("train", "val", "test")
SCHEMA = "edgeml_obstacle.raw/1"


def class_names(sectors: int) -> list[str]:
    return [f"sector_{i}" for i in range(sectors)] + ["collision"]


@dataclass
class RawFrames:
    frames: dict[str, np.ndarray]
    y: dict[str, np.ndarray]
    depth: dict[str, np.ndarray]
    kind: dict[str, np.ndarray]
    classes: list[str]
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def sectors_labelled(self) -> bool:
        return bool(all(np.isfinite(self.y[s][:, :-1]).all() for s in SPLITS))

    def counts(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for split in SPLITS:
            y = self.y[split]
            out[f"n_{split}"] = float(len(y))
            out[f"{split}.collision"] = float(np.nansum(y[:, -1]))
            if len(y) and np.isfinite(y[:, :-1]).all():
                out[f"{split}.blocked_fraction"] = float(y[:, :-1].mean())
        return out

    def save(self, out_dir: Path) -> None:
        for split in SPLITS:
            np.save(out_dir / f"frames_{split}.npy", np.ascontiguousarray(self.frames[split], dtype=np.uint8))
            np.save(out_dir / f"y_{split}.npy", np.ascontiguousarray(self.y[split], dtype=np.float32))
            np.save(out_dir / f"depth_{split}.npy", np.ascontiguousarray(self.depth[split], dtype=np.float32))
            np.save(out_dir / f"kind_{split}.npy", np.ascontiguousarray(self.kind[split], dtype=np.int8))
        (out_dir / "dataset.json").write_text(json.dumps(
            {"schema": SCHEMA, "classes": self.classes, "counts": self.counts(),
             "sectors_labelled": self.sectors_labelled, "provenance": self.provenance},
            indent=2, sort_keys=True) + "\n")

    @classmethod
    def load(cls, stage_dir: Path) -> "RawFrames":
        meta_path = Path(stage_dir) / "dataset.json"
        try:
            meta = json.loads(meta_path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise DataError(f"{meta_path} is missing or corrupt ({exc}): re-run the sense stage") from exc
        if meta.get("schema") != SCHEMA:
            raise DataError(f"{meta_path} has schema {meta.get('schema')!r}, not {SCHEMA}: re-run the sense stage")
        arrays: dict[str, dict[str, np.ndarray]] = {k: {} for k in ("frames", "y", "depth", "kind")}
        for split in SPLITS:
            for key in arrays:
                path = Path(stage_dir) / f"{key}_{split}.npy"
                try:
                    arrays[key][split] = np.load(path, allow_pickle=False)
                except (OSError, ValueError) as exc:
                    raise DataError(f"{path} is missing or corrupt ({exc}): re-run the sense stage") from exc
        return cls(classes=list(meta["classes"]), provenance=meta.get("provenance", {}), **arrays)


@dataclass(frozen=True)
class SenseSettings:
    """``app.sense``, checked."""

    width: int
    height: int
    hfov_deg: float
    pitch_jitter_deg: float
    roll_jitter_deg: float
    frames: dict[str, int]
    batch: int
    kind_probs: np.ndarray
    camera_height_m: tuple[float, float]
    sectors: int
    blocked_distance_m: float
    collision_distance_m: float
    half_width_m: float
    clearance_m: float

    @classmethod
    def from_config(cls, sense: Any) -> "SenseSettings":
        from edgeml_obstacle.scenes import KINDS

        cam, lab = sense.camera, sense.labels
        kinds = dict(sense.scene_kinds)
        unknown = sorted(set(kinds) - set(KINDS))
        if unknown:
            raise ConfigError(f"app.sense.scene_kinds has unknown kinds {unknown}: use {', '.join(KINDS)}")
        probs = np.array([float(kinds.get(k, 0.0)) for k in KINDS])
        if (probs < 0).any() or probs.sum() <= 0:
            raise ConfigError("app.sense.scene_kinds must be non-negative weights with a positive sum")
        s = cls(width=int(cam.width), height=int(cam.height), hfov_deg=float(cam.hfov_deg),
                pitch_jitter_deg=float(cam.pitch_jitter_deg), roll_jitter_deg=float(cam.roll_jitter_deg),
                frames={k: int(sense.frames[k]) for k in SPLITS}, batch=int(sense.batch),
                kind_probs=probs / probs.sum(),
                camera_height_m=(float(sense.camera_height_m[0]), float(sense.camera_height_m[1])),
                sectors=int(lab.sectors), blocked_distance_m=float(lab.blocked_distance_m),
                collision_distance_m=float(lab.collision_distance_m), half_width_m=float(lab.drone_half_width_m),
                clearance_m=float(lab.clearance_m))
        if s.width < 8 or s.height < 8:
            raise ConfigError(f"app.sense.camera {s.width}x{s.height} is too small: use at least 8x8")
        if not 10 <= s.hfov_deg <= 150:
            raise ConfigError(f"app.sense.camera.hfov_deg={s.hfov_deg} must be in [10, 150]")
        if not 1 <= s.sectors <= s.width:
            raise ConfigError(f"app.sense.labels.sectors={s.sectors} must be between 1 and the camera width {s.width}")
        if min(s.frames.values()) < 1 or s.batch < 1:
            raise ConfigError("app.sense.frames and app.sense.batch must be positive")
        return s


def generate(sense: Any, seed: int, progress) -> RawFrames:
    """Render every split: scenes from a generator seeded by (seed, split, batch)."""
    from edgeml_obstacle.render import Camera, LabelRule, cast, labels, render
    from edgeml_obstacle.scenes import KINDS, make_batch

    s = SenseSettings.from_config(sense)
    cam = Camera(s.width, s.height, s.hfov_deg, s.pitch_jitter_deg, s.roll_jitter_deg)
    rule = LabelRule(s.sectors, s.blocked_distance_m, s.collision_distance_m, s.half_width_m, s.clearance_m)
    dirs = cam.ray_dirs()
    total = sum(s.frames.values())
    done = 0
    out: dict[str, dict[str, np.ndarray]] = {k: {} for k in ("frames", "y", "depth", "kind")}
    for si, split in enumerate(SPLITS):
        parts: dict[str, list[np.ndarray]] = {k: [] for k in out}
        n = s.frames[split]
        for bi, start in enumerate(range(0, n, s.batch)):
            rng = np.random.default_rng([int(seed), si, bi])
            scenes = make_batch(rng, min(s.batch, n - start), s.kind_probs, s.camera_height_m)
            hits = cast(scenes, dirs)
            depth, y = labels(scenes, hits, dirs, rule)
            parts["frames"].append(render(scenes, hits, cam, rng))
            parts["y"].append(y)
            parts["depth"].append(depth)
            parts["kind"].append(scenes.kind.astype(np.int8))
            done += len(y)
            progress.update(done, total, "render scenes (frames)")
        for k in out:
            out[k][split] = np.concatenate(parts[k])
    prov = {"source": "2.5D ray caster (edgeml_obstacle.render)", "seed": int(seed), "kinds": list(KINDS),
            "camera": {"width": s.width, "height": s.height, "hfov_deg": s.hfov_deg,
                       "pitch_jitter_deg": s.pitch_jitter_deg, "roll_jitter_deg": s.roll_jitter_deg,
                       "height_m": list(s.camera_height_m)},
            "labels": {"sectors": s.sectors, "blocked_distance_m": s.blocked_distance_m,
                       "collision_distance_m": s.collision_distance_m, "drone_half_width_m": s.half_width_m,
                       "clearance_m": s.clearance_m,
                       "rule": "sector blocked: nearest obstacle in its columns < blocked_distance_m; collision: "
                               "an obstacle point ahead < collision_distance_m and within drone_half_width_m of "
                               "the axis; obstacle: an object whose top is above camera height - clearance_m"}}
    return RawFrames(classes=class_names(s.sectors), provenance=prov, **out)
