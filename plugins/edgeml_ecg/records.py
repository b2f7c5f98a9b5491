"""The sense stage's artifact: continuous single-lead records with beat annotations, by split.

On disk (byte-stable): ``signal_<record>.npy`` float32 millivolts at the
config's sampling rate, ``peaks_<record>.npy`` int64 annotation samples, and
``records.json`` with each record's split, symbols (one MIT-BIH beat code
per annotation, as a string) and the provenance of the data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgeml import DataError
from edgeml.artifacts import read_json, write_json

SPLITS = ("train", "val", "test")
SCHEMA = "edgeml_ecg.records/1"

#: AAMI EC57 heartbeat classes and the MIT-BIH beat codes each one takes.
AAMI_CLASSES = ("N", "S", "V", "F", "Q")
AAMI_MAP = {
    "N": "N", "L": "N", "R": "N", "e": "N", "j": "N",
    "A": "S", "a": "S", "J": "S", "S": "S",
    "V": "V", "E": "V",
    "F": "F",
    "/": "Q", "f": "Q", "Q": "Q",
}


@dataclass
class EcgRecord:
    name: str
    split: str
    signal: np.ndarray          # float32 mV, one lead
    peaks: np.ndarray           # int64 annotation samples (beats only)
    symbols: str                # one MIT-BIH code per peak

    def __post_init__(self) -> None:
        if len(self.peaks) != len(self.symbols):
            raise DataError(f"record {self.name}: {len(self.peaks)} beat samples but {len(self.symbols)} symbols")


@dataclass
class RawEcg:
    records: list[EcgRecord]
    fs: int
    lead: str
    provenance: dict[str, Any] = field(default_factory=dict)

    def split(self, split: str) -> list[EcgRecord]:
        return [r for r in self.records if r.split == split]

    def counts(self) -> dict[str, float]:
        """Records, beats and AAMI class counts per split: the sense stage's metrics."""
        out: dict[str, float] = {}
        for split in SPLITS:
            recs = self.split(split)
            out[f"{split}.records"] = float(len(recs))
            classes = [AAMI_MAP[s] for r in recs for s in r.symbols if s in AAMI_MAP]
            out[f"{split}.beats"] = float(len(classes))
            for c in AAMI_CLASSES:
                out[f"{split}.{c}"] = float(classes.count(c))
        return out

    def save(self, out_dir: Path) -> None:
        meta = {"schema": SCHEMA, "fs": self.fs, "lead": self.lead, "provenance": self.provenance, "records": []}
        for r in self.records:
            np.save(out_dir / f"signal_{r.name}.npy", np.ascontiguousarray(r.signal, dtype=np.float32))
            np.save(out_dir / f"peaks_{r.name}.npy", np.ascontiguousarray(r.peaks, dtype=np.int64))
            meta["records"].append({"name": r.name, "split": r.split, "symbols": r.symbols,
                                    "samples": int(len(r.signal))})
        write_json(out_dir / "records.json", meta)

    @classmethod
    def load(cls, stage_dir: Path) -> "RawEcg":
        meta = read_json(stage_dir / "records.json")
        if meta.get("schema") != SCHEMA:
            raise DataError(f"{stage_dir / 'records.json'} is not an {SCHEMA} file: re-run the sense stage")
        records = []
        for m in meta["records"]:
            try:
                signal = np.load(stage_dir / f"signal_{m['name']}.npy", allow_pickle=False)
                peaks = np.load(stage_dir / f"peaks_{m['name']}.npy", allow_pickle=False)
            except (FileNotFoundError, ValueError) as exc:
                raise DataError(f"record {m['name']} in {stage_dir} is missing or corrupt ({exc}): "
                                "re-run the sense stage") from exc
            records.append(EcgRecord(m["name"], m["split"], signal, peaks, m["symbols"]))
        return cls(records=records, fs=int(meta["fs"]), lead=str(meta["lead"]), provenance=meta["provenance"])
