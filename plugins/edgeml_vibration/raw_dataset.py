"""The sense stage's artifact: fixed-length accelerometer frames with labels and shaft speed.

On disk (all byte-stable): ``x_<split>.npy`` float32 ``(n, frame_samples)``,
``y_<split>.npy`` int64 class indices, ``shaft_hz_<split>.npy`` float32 (the
speed the device knows, from a tachometer), and ``raw.json`` (classes, sample
rate, the bearing's defect orders, provenance).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgeml import DataError
from edgeml.artifacts import read_json, write_json

SPLITS = ("train", "val", "test")
CLASSES = ["normal", "outer_race", "inner_race", "ball"]


@dataclass
class RawDataset:
    x: dict[str, np.ndarray]
    y: dict[str, np.ndarray]
    shaft_hz: dict[str, np.ndarray]
    classes: list[str]
    sample_rate: int
    orders: dict[str, float]
    provenance: dict[str, Any] = field(default_factory=dict)

    def counts(self) -> dict[str, float]:
        out = {}
        for s in SPLITS:
            out[f"n_{s}"] = float(len(self.y[s]))
            for i, c in enumerate(self.classes):
                out[f"n_{s}.{c}"] = float(np.sum(self.y[s] == i))
        return out

    def save(self, out_dir: Path) -> None:
        for s in SPLITS:
            np.save(out_dir / f"x_{s}.npy", np.ascontiguousarray(self.x[s], dtype=np.float32))
            np.save(out_dir / f"y_{s}.npy", np.ascontiguousarray(self.y[s], dtype=np.int64))
            np.save(out_dir / f"shaft_hz_{s}.npy", np.ascontiguousarray(self.shaft_hz[s], dtype=np.float32))
        write_json(out_dir / "raw.json", {
            "schema": "edgeml_vibration.raw/1", "classes": self.classes, "sample_rate": int(self.sample_rate),
            "frame_samples": int(self.x["train"].shape[1]), "orders": self.orders, "provenance": self.provenance})

    @classmethod
    def load(cls, stage_dir: Path) -> "RawDataset":
        meta = read_json(Path(stage_dir) / "raw.json")
        x, y, f = {}, {}, {}
        for s in SPLITS:
            try:
                x[s] = np.load(stage_dir / f"x_{s}.npy")
                y[s] = np.load(stage_dir / f"y_{s}.npy")
                f[s] = np.load(stage_dir / f"shaft_hz_{s}.npy")
            except (FileNotFoundError, ValueError) as exc:
                raise DataError(f"{stage_dir} lacks or has a corrupt '{s}' split ({exc}): re-run the sense stage") from exc
        return cls(x=x, y=y, shaft_hz=f, classes=list(meta["classes"]), sample_rate=int(meta["sample_rate"]),
                   orders={k: float(v) for k, v in meta["orders"].items()}, provenance=meta.get("provenance", {}))
