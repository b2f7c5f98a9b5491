"""The sense stage's artifact: one-second int16 clips and labels per split.

On disk (byte-stable): ``audio_<split>.npy`` int16 (n, samples),
``labels_<split>.npy`` int64 (n,), and ``dataset.json`` with the classes,
sample rate, counts and provenance (generator settings or source folder).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgeml import DataError

SPLITS = ("train", "val", "test")
SILENCE, UNKNOWN = "_silence_", "_unknown_"


def class_names(keywords: list[str]) -> list[str]:
    return [SILENCE, UNKNOWN, *keywords]


@dataclass(frozen=True)
class ClipFormat:
    """What every source produces, from ``app.sense``: classes and fixed-length clips."""

    keywords: list[str]
    classes: list[str]
    sample_rate: int
    clip_samples: int

    @classmethod
    def from_sense(cls, sense: Any) -> "ClipFormat":
        keywords = [str(k) for k in sense.keywords]
        rate = int(sense.sample_rate)
        return cls(keywords=keywords, classes=class_names(keywords), sample_rate=rate,
                   clip_samples=int(round(float(sense.clip_seconds) * rate)))
SCHEMA = "edgeml_kws.raw/1"


@dataclass
class RawDataset:
    audio: dict[str, np.ndarray]
    labels: dict[str, np.ndarray]
    classes: list[str]
    sample_rate: int
    provenance: dict[str, Any] = field(default_factory=dict)

    def counts(self) -> dict[str, float]:
        """``n_<split>`` and ``<split>.<class>`` counts, the sense stage's metrics."""
        out: dict[str, float] = {}
        for split in SPLITS:
            y = self.labels[split]
            out[f"n_{split}"] = float(len(y))
            for i, name in enumerate(self.classes):
                out[f"{split}.{name}"] = float(np.sum(y == i))
        return out

    def save(self, out_dir: Path) -> None:
        for split in SPLITS:
            np.save(out_dir / f"audio_{split}.npy", np.ascontiguousarray(self.audio[split], dtype=np.int16))
            np.save(out_dir / f"labels_{split}.npy", np.ascontiguousarray(self.labels[split], dtype=np.int64))
        meta = {"schema": SCHEMA, "classes": self.classes, "sample_rate": self.sample_rate,
                "clip_samples": int(self.audio["train"].shape[1]),
                "counts": {k: int(v) for k, v in self.counts().items()}, "provenance": self.provenance}
        (out_dir / "dataset.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")

    @classmethod
    def load(cls, stage_dir: Path) -> "RawDataset":
        path = stage_dir / "dataset.json"
        try:
            meta = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise DataError(f"{path} is missing or corrupt ({exc}): re-run `edgeml stage sense`") from exc
        if meta.get("schema") != SCHEMA:
            raise DataError(f"{path} has schema {meta.get('schema')!r}, not {SCHEMA}: re-run `edgeml stage sense`")
        audio, labels = {}, {}
        for split in SPLITS:
            for store, name in ((audio, f"audio_{split}.npy"), (labels, f"labels_{split}.npy")):
                try:
                    store[split] = np.load(stage_dir / name, allow_pickle=False)
                except (OSError, ValueError) as exc:
                    raise DataError(f"{stage_dir / name} is missing or corrupt ({exc}): "
                                    "re-run `edgeml stage sense`") from exc
        return cls(audio=audio, labels=labels, classes=list(meta["classes"]),
                   sample_rate=int(meta["sample_rate"]), provenance=meta.get("provenance", {}))
