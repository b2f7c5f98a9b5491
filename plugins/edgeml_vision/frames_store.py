"""The sense stage's artifact: camera frames of any size and their labelled objects, per split.

On disk (byte-stable, no pickles, no zip): ``pixels_<split>.npy`` uint8, every
frame's pixels concatenated (row-major H x W x C); ``shapes_<split>.npy``
int64 (n, 3) with each frame's (H, W, C), C 3 for RGB or 1 for gray;
``objects_<split>.npy`` float32 (n, k, 5) with ``class, cx, cy, w, h`` per
object, centre and size normalised to the frame (0..1), class a 0-based
index into the object classes, rows of class -1 padding; ``dataset.json``
with the object classes, counts, the source file of each frame (real data)
and the provenance.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgeml import DataError

SPLITS = ("train", "val", "test")
SCHEMA = "edgeml_vision.raw/1"


def pad_objects(objs: list[np.ndarray], min_rows: int = 1) -> np.ndarray:
    """A list of (k_i, 5) arrays as one (n, max k, 5) float32 array padded with class -1."""
    k = max([min_rows] + [len(o) for o in objs])
    out = np.zeros((len(objs), k, 5), np.float32)
    out[:, :, 0] = -1
    for i, o in enumerate(objs):
        if len(o):
            out[i, :len(o)] = o
    return out


@dataclass
class RawFrames:
    pixels: dict[str, np.ndarray]
    shapes: dict[str, np.ndarray]
    objects: dict[str, np.ndarray]
    classes: list[str]
    files: dict[str, list[str]] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_lists(cls, frames: dict[str, list[np.ndarray]], objects: dict[str, list[np.ndarray]],
                   classes: list[str], files: dict[str, list[str]] | None = None,
                   provenance: dict[str, Any] | None = None) -> "RawFrames":
        pixels, shapes, objs = {}, {}, {}
        k = max([1] + [len(o) for s in SPLITS for o in objects[s]])
        for split in SPLITS:
            imgs = [f if f.ndim == 3 else f[:, :, None] for f in frames[split]]
            pixels[split] = (np.concatenate([f.reshape(-1) for f in imgs]) if imgs
                             else np.zeros(0, np.uint8)).astype(np.uint8)
            shapes[split] = np.asarray([f.shape for f in imgs], np.int64).reshape(-1, 3)
            objs[split] = pad_objects(objects[split], k)
        return cls(pixels=pixels, shapes=shapes, objects=objs, classes=list(classes), files=files or {},
                   provenance=provenance or {})

    def frames(self, split: str) -> list[np.ndarray]:
        """The split's frames, each uint8 (H, W, C)."""
        out, at = [], 0
        for h, w, c in self.shapes[split]:
            n = int(h * w * c)
            out.append(self.pixels[split][at:at + n].reshape(int(h), int(w), int(c)))
            at += n
        return out

    def counts(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for split in SPLITS:
            cls_col = self.objects[split][:, :, 0]
            out[f"n_{split}"] = float(len(self.shapes[split]))
            for i, name in enumerate(self.classes):
                out[f"{split}.{name}"] = float(np.sum(cls_col == i))
        return out

    def save(self, out_dir: Path) -> None:
        for split in SPLITS:
            np.save(out_dir / f"pixels_{split}.npy", np.ascontiguousarray(self.pixels[split], np.uint8))
            np.save(out_dir / f"shapes_{split}.npy", np.ascontiguousarray(self.shapes[split], np.int64))
            np.save(out_dir / f"objects_{split}.npy", np.ascontiguousarray(self.objects[split], np.float32))
        meta = {"schema": SCHEMA, "classes": self.classes, "counts": {k: int(v) for k, v in self.counts().items()},
                "files": self.files, "provenance": self.provenance}
        (out_dir / "dataset.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")

    @classmethod
    def load(cls, stage_dir: Path) -> "RawFrames":
        path = Path(stage_dir) / "dataset.json"
        try:
            meta = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise DataError(f"{path} is missing or corrupt ({exc}): re-run `edgeml stage sense`") from exc
        if meta.get("schema") != SCHEMA:
            raise DataError(f"{path} has schema {meta.get('schema')!r}, not {SCHEMA}: re-run `edgeml stage sense`")
        stores: dict[str, dict[str, np.ndarray]] = {"pixels": {}, "shapes": {}, "objects": {}}
        for split in SPLITS:
            for kind, store in stores.items():
                p = Path(stage_dir) / f"{kind}_{split}.npy"
                try:
                    store[split] = np.load(p, allow_pickle=False)
                except (OSError, ValueError) as exc:
                    raise DataError(f"{p} is missing or corrupt ({exc}): re-run `edgeml stage sense`") from exc
        return cls(pixels=stores["pixels"], shapes=stores["shapes"], objects=stores["objects"],
                   classes=list(meta["classes"]), files=meta.get("files", {}), provenance=meta.get("provenance", {}))
