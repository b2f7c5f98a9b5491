"""Reading collision-labelled frame sequences in the layout of DroNet's collision data.

The layout (Loquercio et al., "DroNet: Learning to Fly by Driving", RA-L 2018;
the collision set of uzh-rpg/rpg_public_dronet)::

    DATA_DIR/[training|validation|testing/]SEQUENCE/images/*.jpg
    DATA_DIR/[training|validation|testing/]SEQUENCE/labels.txt   one 0/1 per frame, in frame order

With ``training/``, ``validation/`` and ``testing/`` (or ``train/``,
``val/``, ``test/``) those are the splits; otherwise the sequences are
split by a seeded shuffle (whole sequences, never frames of one sequence
in two splits). Frames are read in natural name order, made grayscale with
the integer weights of :mod:`edgeml_imaging.frames` and resized to the
camera size. Only the collision flag exists here: sector labels are NaN,
and evaluate says the sectors were not scored.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from edgeml import DataError
from edgeml_obstacle.dataset import SPLITS, RawFrames, class_names

SPLIT_DIRS = {"train": ("training", "train"), "val": ("validation", "val"), "test": ("testing", "test")}
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".pgm", ".ppm", ".tif", ".tiff")


def _natural_key(path: Path) -> list:
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", path.name)]


def find_sequences(root: Path) -> list[Path]:
    """Every folder under ``root`` (itself included) with an ``images/`` folder or a ``labels.txt``."""
    seqs = []
    for d in sorted([root, *[p for p in root.rglob("*") if p.is_dir()]]):
        if d.name == "images":
            continue
        has_images, has_labels = (d / "images").is_dir(), (d / "labels.txt").is_file()
        if has_images and not has_labels:
            raise DataError(f"{d} has images/ but no labels.txt: add labels.txt with one 0/1 collision label per "
                            "frame, in frame order")
        if has_labels and not has_images:
            raise DataError(f"{d} has labels.txt but no images/ folder: put the frames in {d / 'images'}")
        if has_images:
            seqs.append(d)
    return seqs


def read_labels(seq: Path) -> np.ndarray:
    path = seq / "labels.txt"
    try:
        tokens = path.read_text().split()
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path} is unreadable ({exc}): write it as text, one 0/1 per line") from exc
    try:
        values = np.array([float(t) for t in tokens], dtype=np.float32)
    except ValueError as exc:
        raise DataError(f"{path} has a non-numeric label ({exc}): write one 0 or 1 per frame") from exc
    bad = ~np.isin(values, (0.0, 1.0))
    if bad.any():
        raise DataError(f"{path}: label {tokens[int(np.argmax(bad))]!r} on line {int(np.argmax(bad)) + 1} is not 0 "
                        "or 1: collision labels are 0 (free) or 1 (collision)")
    return values


def frame_paths(seq: Path) -> list[Path]:
    return sorted((p for p in (seq / "images").iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file()),
                  key=_natural_key)


def read_frame(path: Path, width: int, height: int, method: str) -> np.ndarray:
    """One frame as uint8 gray at ``width x height``; a file PIL cannot decode is a DataError naming it."""
    from PIL import Image

    from edgeml_imaging.frames import resize_u8, to_gray_u8

    try:
        with Image.open(path) as im:
            im.load()
            if im.mode in ("L", "I;16", "I", "F"):
                arr = np.asarray(im.convert("L"))
            else:
                arr = to_gray_u8(np.asarray(im.convert("RGB")))
    except Exception as exc:  # PIL raises several types for a bad file
        raise DataError(f"{path}: unreadable frame ({type(exc).__name__}: {exc}): replace the file, or delete it "
                        "and its line in labels.txt") from exc
    return resize_u8(np.ascontiguousarray(arr, dtype=np.uint8), width, height, method)


def read_sequence(seq: Path, width: int, height: int, method: str, max_frames: int | None) -> tuple[np.ndarray, np.ndarray]:
    labels = read_labels(seq)
    paths = frame_paths(seq)
    if len(paths) != len(labels):
        raise DataError(f"{seq}: labels.txt has {len(labels)} labels but images/ has {len(paths)} frames: give "
                        "exactly one 0/1 line per frame, in frame order")
    if not paths:
        raise DataError(f"{seq}/images has no frames ({', '.join(IMAGE_EXTENSIONS)}): add frames or remove the folder")
    if max_frames:
        keep = np.linspace(0, len(paths) - 1, num=min(max_frames, len(paths))).round().astype(int)
        keep = np.unique(keep)
        paths, labels = [paths[i] for i in keep], labels[keep]
    frames = np.stack([read_frame(p, width, height, method) for p in paths])
    return frames, labels


def read_collision_folder(data_dir: str | Path, sense: Any, seed: int, progress) -> RawFrames:
    root = Path(str(data_dir))
    if not root.is_dir():
        raise DataError(f"app.data_dir={root} is not a directory: point it at a folder of sequences, each with "
                        "images/ and labels.txt")
    width, height = int(sense.camera.width), int(sense.camera.height)
    sectors = int(sense.labels.sectors)
    real = sense.real
    method = str(real.resize)
    max_frames = None if real.max_frames_per_sequence is None else int(real.max_frames_per_sequence)

    named = {split: next((root / n for n in names if (root / n).is_dir()), None) for split, names in SPLIT_DIRS.items()}
    if all(named.values()):
        assignment = {split: find_sequences(named[split]) for split in SPLITS}
        how = "the folder's training/validation/testing split"
    else:
        seqs = find_sequences(root)
        if not seqs:
            raise DataError(f"{root} holds no sequence folder (SEQUENCE/images/ + SEQUENCE/labels.txt): use DroNet's "
                            "collision layout")
        order = np.random.default_rng([int(seed), 7]).permutation(len(seqs))
        n_test = max(1, int(round(len(seqs) * float(real.test_fraction)))) if len(seqs) >= 3 else 0
        n_val = max(1, int(round(len(seqs) * float(real.val_fraction)))) if len(seqs) >= 3 else 0
        if len(seqs) < 3:
            raise DataError(f"{root} has {len(seqs)} sequence(s): a sequence split needs at least 3 (train, val, "
                            "test), or give training/, validation/ and testing/ folders")
        picked = [seqs[i] for i in order]
        assignment = {"test": sorted(picked[:n_test]), "val": sorted(picked[n_test:n_test + n_val]),
                      "train": sorted(picked[n_test + n_val:])}
        how = f"whole sequences shuffled with seed {seed} (val {real.val_fraction}, test {real.test_fraction})"
    total = sum(len(v) for v in assignment.values())
    done = 0
    frames: dict[str, np.ndarray] = {}
    y: dict[str, np.ndarray] = {}
    for split in SPLITS:
        if not assignment[split]:
            raise DataError(f"{root}: the {split} split has no sequence folder: add one")
        fs, ls = [], []
        for seq in assignment[split]:
            f, lab = read_sequence(seq, width, height, method, max_frames)
            fs.append(f)
            ls.append(lab)
            done += 1
            progress.update(done, total, "read collision sequences")
        frames[split] = np.concatenate(fs)
        lab = np.concatenate(ls)
        y[split] = np.concatenate([np.full((len(lab), sectors), np.nan, np.float32), lab[:, None]], 1)
    prov = {"source": "DroNet collision layout", "data_dir": str(root.resolve()), "split": how,
            "sequences": {s: [str(p.relative_to(root)) for p in assignment[s]] for s in SPLITS},
            "camera": {"width": width, "height": height, "resize": method},
            "labels": {"sectors": sectors, "sector_labels": "none (NaN): only the collision flag exists"}}
    return RawFrames(frames=frames, y=y,
                     depth={s: np.full((len(y[s]), width), np.nan, np.float32) for s in SPLITS},
                     kind={s: np.full(len(y[s]), -1, np.int8) for s in SPLITS},
                     classes=class_names(sectors), provenance=prov)
