"""Reads Case Western Reserve University (CWRU) bearing data from disk.

Layout: ``data_dir/<class>/*.mat``, one folder per class (``normal``,
``outer_race``, ``inner_race``, ``ball``, or CWRU's own spellings ``Normal``,
``OR``, ``IR``, ``B``; other folder names become classes of their own), or a
mapping file (CSV lines ``file,label[,sample_rate]``, paths relative to
``data_dir``). Each ``.mat`` file (MATLAB v5, ``scipy.io.loadmat``) holds the
drive-end accelerometer as ``X<nnn>_DE_time`` and usually the motor speed as
``X<nnn>RPM``; without one, ``default_rpm`` is the tachometer reading.

Each file's signal is cut into frames; its frames are split in time (first
share train, then val, then test), so no frame overlaps another split.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Any

import numpy as np

from edgeml import ConfigError, DataError
from edgeml_vibration.bearing import BearingGeometry
from edgeml_vibration.raw_dataset import CLASSES, SPLITS, RawDataset

ALIASES = {
    "normal": "normal", "healthy": "normal", "baseline": "normal", "normal_baseline": "normal",
    "outer_race": "outer_race", "outer": "outer_race", "or": "outer_race", "outerrace": "outer_race",
    "inner_race": "inner_race", "inner": "inner_race", "ir": "inner_race", "innerrace": "inner_race",
    "ball": "ball", "b": "ball", "rolling_element": "ball",
}


def canonical(label: str) -> str:
    key = label.strip().lower().replace(" ", "_").replace("-", "_")
    return ALIASES.get(key, label.strip())


class CwruReader:
    def __init__(self, data_dir: str, sense: Any, seed: int):
        self.root = Path(str(data_dir))
        self.fs = int(sense.sample_rate)
        self.length = int(sense.frame_samples)
        c = sense.cwru
        self.default_rpm = float(c.default_rpm)
        self.mapping = c.mapping_file
        self.hop = int(c.hop_samples) if c.hop_samples else self.length
        self.split = {s: float(c.split[s]) for s in SPLITS}
        self.max_per_class = None if c.max_per_class is None else int(c.max_per_class)
        self.seed = int(seed)
        self.geometry = BearingGeometry.from_config(sense.bearing)
        if self.hop < 1:
            raise ConfigError(f"app.sense.cwru.hop_samples={self.hop} must be >= 1")
        if abs(sum(self.split.values()) - 1) > 1e-6 or min(self.split.values()) <= 0:
            raise ConfigError(f"app.sense.cwru.split={self.split} must be positive shares summing to 1")

    # ------------------------------------------------------------------ listing

    def files(self) -> list[tuple[Path, str, int]]:
        """(file, class name, sample rate) of every listed file, sorted by path."""
        if not self.root.is_dir():
            raise DataError(f"app.data_dir={self.root} is not a directory: point it at a CWRU folder "
                            "(one subfolder of .mat files per class, or a mapping file)")
        if self.mapping:
            return self._from_mapping()
        out = []
        for folder in sorted(p for p in self.root.iterdir() if p.is_dir()):
            for f in sorted(folder.rglob("*.mat")):
                out.append((f, canonical(folder.name), self.fs))
        if not out:
            raise DataError(f"{self.root} has no class folders with .mat files: make one folder per class "
                            "(normal, outer_race, inner_race, ball) or set app.sense.cwru.mapping_file")
        return out

    def _from_mapping(self) -> list[tuple[Path, str, int]]:
        path = Path(str(self.mapping))
        path = path if path.is_absolute() else self.root / path
        if not path.is_file():
            raise DataError(f"mapping file {path} does not exist: set app.sense.cwru.mapping_file to a CSV of "
                            "'file,label[,sample_rate]' lines")
        out = []
        with open(path, newline="") as fh:
            for lineno, row in enumerate(csv.reader(fh), start=1):
                if not row or row[0].strip().startswith("#") or row[0].strip().lower() == "file":
                    continue
                if len(row) < 2:
                    raise DataError(f"{path}:{lineno} has no label: write 'file,label[,sample_rate]'")
                f = Path(row[0].strip())
                f = f if f.is_absolute() else self.root / f
                try:
                    rate = int(float(row[2])) if len(row) > 2 and row[2].strip() else self.fs
                except ValueError as exc:
                    raise DataError(f"{path}:{lineno}: sample rate '{row[2]}' is not a number") from exc
                out.append((f, canonical(row[1]), rate))
        if not out:
            raise DataError(f"mapping file {path} lists no files: add 'file,label' lines")
        return sorted(out)

    # ------------------------------------------------------------------ reading

    def read_signal(self, path: Path) -> tuple[np.ndarray, float]:
        """The drive-end signal (float32) and the shaft speed in Hz of one .mat file."""
        from scipy.io import loadmat

        if not path.is_file():
            raise DataError(f"{path} is listed but does not exist: fix the mapping file or the folder")
        try:
            mat = loadmat(str(path))
        except Exception as exc:  # scipy raises several types for a bad file
            raise DataError(f"{path} is not a readable MATLAB .mat file ({exc}): re-download it or remove it") from exc
        keys = sorted(k for k in mat if k.endswith("_DE_time"))
        if not keys:
            found = ", ".join(sorted(k for k in mat if not k.startswith("__"))) or "nothing"
            raise DataError(f"{path} has no drive-end signal (*_DE_time; found {found}): use CWRU drive-end files "
                            "or remove this file from the class folder / mapping file")
        number = re.findall(r"\d+", path.stem)
        key = next((k for k in keys if number and k.startswith(f"X{int(number[-1]):03d}")), keys[0])
        x = np.asarray(mat[key], dtype=np.float64).ravel()
        if not np.isfinite(x).all():
            raise DataError(f"{path}: {key} contains NaN or inf: re-download the file")
        rpm_keys = sorted(k for k in mat if k.upper().endswith("RPM"))
        rpm = self.default_rpm
        if rpm_keys:
            try:
                rpm = float(np.asarray(mat[rpm_keys[0]]).ravel()[0])
            except (IndexError, TypeError, ValueError):
                rpm = self.default_rpm
        if not 60 <= rpm <= 60000:
            rpm = self.default_rpm
        return x.astype(np.float32), rpm / 60.0

    def read(self, progress=None) -> RawDataset:
        listing = self.files()
        for f, _, rate in listing:
            if rate != self.fs:
                raise DataError(f"{f} is sampled at {rate} Hz but this build reads {self.fs} Hz data: set "
                                f"app.sense.sample_rate={rate} and app.preprocess.sample_rate={rate} (envelope band "
                                f"below {rate // 2} Hz), or list only {self.fs} Hz files")
        names = sorted({label for _, label, _ in listing}, key=lambda c: (CLASSES.index(c) if c in CLASSES else 99, c))
        if len(names) < 2:
            raise DataError(f"{self.root} holds only one class ({names[0]}): a classifier needs at least two; "
                            "add folders for the other classes (normal, outer_race, inner_race, ball)")
        frames = {s: [] for s in SPLITS}
        labels = {s: [] for s in SPLITS}
        speeds = {s: [] for s in SPLITS}
        used = []
        for i, (f, label, _) in enumerate(listing):
            x, shaft = self.read_signal(f)
            starts = np.arange(0, len(x) - self.length + 1, self.hop)
            if len(starts) < 3:
                raise DataError(f"{f} has {len(x)} samples, fewer than 3 frames of {self.length}: remove it or "
                                "lower app.sense.frame_samples")
            n_train = int(round(len(starts) * self.split["train"]))
            n_val = int(round(len(starts) * self.split["val"]))
            # A frame belongs to a split only if it ends before the next split's first sample starts.
            bounds = {"train": (0, n_train), "val": (n_train, n_train + n_val), "test": (n_train + n_val, len(starts))}
            for s, (a, b) in bounds.items():
                limit = starts[b] if b < len(starts) else len(x)
                chosen = [st for st in starts[a:b] if st + self.length <= limit or b == len(starts)]
                for st in chosen:
                    frames[s].append(x[st:st + self.length])
                    labels[s].append(names.index(label))
                    speeds[s].append(shaft)
            used.append({"file": str(f.relative_to(self.root)) if f.is_relative_to(self.root) else str(f),
                         "label": label, "frames": int(len(starts)), "shaft_hz": shaft})
            if progress is not None:
                progress.update(i + 1, len(listing), "read CWRU .mat files")
        x_out, y_out, f_out = {}, {}, {}
        rng = np.random.default_rng([self.seed, 7])
        for s in SPLITS:
            y = np.asarray(labels[s], np.int64)
            keep = np.arange(len(y))
            if self.max_per_class is not None:
                keep = np.sort(np.concatenate([rng.permutation(np.where(y == c)[0])[:self.max_per_class]
                                               for c in range(len(names))]))
            if len(keep) == 0:
                raise DataError(f"{self.root}: the '{s}' split got no frames: use longer files or smaller frames")
            x_out[s] = np.stack([frames[s][k] for k in keep]).astype(np.float32)
            y_out[s] = y[keep]
            f_out[s] = np.asarray(speeds[s], np.float32)[keep]
        return RawDataset(x=x_out, y=y_out, shaft_hz=f_out, classes=names, sample_rate=self.fs,
                          orders=self.geometry.orders(),
                          provenance={"source": f"CWRU .mat files in {self.root}", "files": used,
                                      "bearing": self.geometry.__dict__, "hop_samples": self.hop,
                                      "split": "each file's frames in time order: train, val, test"})
