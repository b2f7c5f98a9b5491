"""Reading real labelled frames: the Ultralytics YOLO layout and COCO JSON annotations.

**YOLO** (how VisDrone and most drone datasets are shared): ``data.yaml``
with ``names`` (a list, or a dict index -> name) and ``train``/``val``/``test``
entries (a folder of images, a list of folders, or a ``.txt`` list of image
paths; relative to ``path`` if given, else to the folder of data.yaml). The
labels of ``.../images/.../x.jpg`` are in ``.../labels/.../x.txt`` (the
last ``images`` folder of the path replaced by ``labels``), one object per
line: ``class cx cy w h`` normalised to [0, 1] (a polygon ``class x1 y1 x2 y2
...`` is reduced to its bounding box). A missing label file is a frame with
no objects, as in Ultralytics.

**COCO** (as many aerial and thermal datasets ship): one JSON per split
(``app.sense.real.coco``, or found as ``annotations/*<split>*.json``) with
``images`` (``id``, ``file_name``, ``width``, ``height``), ``categories``
(``id``, ``name``) and ``annotations`` (``image_id``, ``category_id``,
``bbox`` = ``[x, y, w, h]`` in pixels; ``iscrowd`` ones skipped). Images are
looked up under ``images/<split>/``, ``<split>/``, ``images/``, the data
folder and the JSON's folder.

Bad input stops the build with one line naming the file (and the line, or
the annotation id) and the fix. A split missing from the data is carved out
of train by a seeded shuffle (``val_fraction``, ``test_fraction``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from edgeml import DataError, Progress
from edgeml_vision.frames_store import SPLITS, RawFrames

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")


def read_image(path: Path) -> np.ndarray:
    """uint8 (H, W, 3) RGB or (H, W, 1) gray; 16-bit images keep their top 8 bits."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            im.load()
            if im.mode in ("I;16", "I;16B", "I;16L", "I"):
                a = np.asarray(im, dtype=np.int64)
                a = (np.clip(a, 0, 65535) >> 8) if a.max(initial=0) > 255 else a
                return a.astype(np.uint8)[:, :, None]
            if im.mode in ("L", "1", "F"):
                return np.asarray(im.convert("L"), dtype=np.uint8)[:, :, None]
            return np.asarray(im.convert("RGB"), dtype=np.uint8)
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError) as exc:
        raise DataError(f"{path}: not a readable image ({type(exc).__name__}: {exc}): "
                        "replace or delete the file (and its label file)") from exc


def detect_format(data_dir: Path, real: Any) -> str:
    if (data_dir / "data.yaml").is_file() or (data_dir / "data.yml").is_file():
        return "yolo"
    if real.get("coco") or list((data_dir / "annotations").glob("*.json")):
        return "coco"
    raise DataError(f"{data_dir} holds neither data.yaml (YOLO layout) nor annotations/*.json (COCO): "
                    "point app.data_dir at a YOLO dataset folder or a folder with COCO JSON annotations")


def read_dataset(data_dir: str | Path, real: Any, seed: int, progress: Progress) -> RawFrames:
    root = Path(str(data_dir))
    if not root.is_dir():
        raise DataError(f"app.data_dir={root} is not a directory: point it at a YOLO dataset folder "
                        "(data.yaml, images/, labels/) or a folder with COCO JSON annotations")
    kind = detect_format(root, real)
    reader = _yolo_items if kind == "yolo" else _coco_items
    classes, items = reader(root, real)
    items = _fill_missing_splits(items, real, seed, root)
    cap = real.get("max_per_split")
    frames, objects, files = {}, {}, {}
    total = sum(len(v) if cap is None else min(len(v), int(cap)) for v in items.values())
    done = 0
    for split in SPLITS:
        chosen = items[split] if cap is None else items[split][:int(cap)]
        frames[split], objects[split], files[split] = [], [], []
        for image_path, load_objects in chosen:
            img = read_image(image_path)
            frames[split].append(img)
            objects[split].append(load_objects(img.shape[1], img.shape[0]))
            files[split].append(str(image_path.relative_to(root)) if image_path.is_relative_to(root)
                                else str(image_path))
            done += 1
            if done % 50 == 0 or done == total:
                progress.update(done, total, f"read {kind} images")
        if not frames[split]:
            raise DataError(f"{root}: the '{split}' split has no images: add images or set "
                            f"app.sense.real.{split[:4]}_fraction to carve it out of train")
    return RawFrames.from_lists(frames, objects, classes, files=files,
                                provenance={"source": f"{kind} dataset", "data_dir": str(root),
                                            "max_per_split": cap})


# ------------------------------------------------------------------ YOLO


def _yolo_names(yaml_path: Path) -> tuple[dict, list[str]]:
    from omegaconf import OmegaConf

    try:
        meta = OmegaConf.to_container(OmegaConf.load(yaml_path), resolve=False)
    except Exception as exc:  # omegaconf/yaml raise assorted errors on bad YAML
        raise DataError(f"{yaml_path}: not valid YAML ({type(exc).__name__}: {exc}): fix the file") from exc
    if not isinstance(meta, dict) or "names" not in meta:
        raise DataError(f"{yaml_path}: has no 'names' (the class names): add `names: [person, car, ...]`")
    names = meta["names"]
    if isinstance(names, dict):
        try:
            idx = sorted(int(k) for k in names)
        except (TypeError, ValueError) as exc:
            raise DataError(f"{yaml_path}: 'names' keys must be class indices 0, 1, ...") from exc
        if idx != list(range(len(idx))):
            raise DataError(f"{yaml_path}: 'names' indices {idx} must be 0..{len(idx) - 1} without gaps")
        names = [names[k] if k in names else names[str(k)] for k in idx]
    if not isinstance(names, list) or not names:
        raise DataError(f"{yaml_path}: 'names' must be a non-empty list or dict of class names")
    return meta, [str(n) for n in names]


def _label_path(image: Path) -> Path:
    parts = list(image.parts)
    for i in range(len(parts) - 2, -1, -1):
        if parts[i] == "images":
            parts[i] = "labels"
            return Path(*parts).with_suffix(".txt")
    return image.with_suffix(".txt")


def _images_of(entry: Any, base: Path, yaml_path: Path) -> list[Path]:
    entries = entry if isinstance(entry, list) else [entry]
    out: list[Path] = []
    for e in entries:
        p = Path(str(e))
        p = p if p.is_absolute() else base / p
        if p.is_dir():
            out += sorted(f for f in p.rglob("*") if f.suffix.lower() in IMAGE_SUFFIXES)
        elif p.is_file() and p.suffix == ".txt":
            for line in p.read_text().splitlines():
                if line.strip():
                    q = Path(line.strip())
                    out.append(q if q.is_absolute() else (base / q))
        else:
            raise DataError(f"{yaml_path}: split entry '{e}' ({p}) is neither a folder of images nor a .txt list: "
                            "fix the path in data.yaml")
    return out


def parse_yolo_labels(path: Path, n_classes: int, names_file: Path) -> np.ndarray:
    """(k, 5) float32 ``class, cx, cy, w, h`` of one label file; bad lines raise DataError naming file:line."""
    rows = []
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: not a readable label file ({exc}): fix or delete it") from exc
    for no, line in enumerate(text.splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        where = f"{path}:{no}"
        try:
            values = [float(v) for v in fields]
        except ValueError as exc:
            raise DataError(f"{where}: '{line.strip()}' is not 'class cx cy w h' numbers: fix the line") from exc
        cls = values[0]
        if cls != int(cls) or not 0 <= int(cls) < n_classes:
            raise DataError(f"{where}: class {fields[0]} is not in {names_file.name}'s names (0..{n_classes - 1}): "
                            f"fix the label or add the class to {names_file}")
        coords = values[1:]
        if len(coords) == 4:
            cx, cy, w, h = coords
            box_pts = [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]
            check = coords
        elif len(coords) >= 6 and len(coords) % 2 == 0:  # polygon (segmentation label)
            xs, ys = coords[0::2], coords[1::2]
            box_pts = [min(xs), min(ys), max(xs), max(ys)]
            check = coords
        else:
            raise DataError(f"{where}: {len(fields)} fields; a label line is 'class cx cy w h' "
                            "(or a polygon 'class x1 y1 x2 y2 ...'): fix the line")
        if not all(0.0 <= v <= 1.0 for v in check):
            raise DataError(f"{where}: coordinates {' '.join(fields[1:])} are outside [0, 1]: YOLO labels are "
                            "normalised by the image width and height; fix the line")
        x0, y0, x1, y1 = box_pts
        rows.append((int(cls), (x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0))
    return np.asarray(rows, np.float32).reshape(-1, 5)


def _yolo_items(root: Path, real: Any):
    yaml_path = root / "data.yaml" if (root / "data.yaml").is_file() else root / "data.yml"
    meta, names = _yolo_names(yaml_path)
    base = Path(str(meta["path"])) if meta.get("path") else root
    base = base if base.is_absolute() else root / base
    split_keys = dict(real.splits)
    items: dict[str, list] = {}
    for split in SPLITS:
        key = str(split_keys.get(split, split))
        entry = meta.get(key)
        if entry is None:
            items[split] = []
            continue
        pairs = []
        for image in _images_of(entry, base, yaml_path):
            label = _label_path(image)

            def load(w: int, h: int, label=label) -> np.ndarray:
                if not label.is_file():
                    return np.zeros((0, 5), np.float32)
                return parse_yolo_labels(label, len(names), yaml_path)
            pairs.append((image, load))
        items[split] = pairs
    if not items["train"]:
        raise DataError(f"{yaml_path}: no training images (its 'train' entry is missing or empty): "
                        "add `train: images/train`")
    return names, items


# ------------------------------------------------------------------ COCO


def _coco_files(root: Path, real: Any) -> dict[str, Path]:
    given = real.get("coco")
    out = {}
    for split in SPLITS:
        if given:
            if given.get(split):
                p = Path(str(given[split]))
                out[split] = p if p.is_absolute() else root / p
        else:
            hits = sorted(p for p in (root / "annotations").glob("*.json") if split in p.stem)
            if split == "val" and not hits:
                hits = sorted(p for p in (root / "annotations").glob("*.json") if "valid" in p.stem)
            if hits:
                out[split] = hits[0]
    if "train" not in out:
        raise DataError(f"{root}: no COCO annotation file for the train split: name it annotations/*train*.json "
                        "or set app.sense.real.coco.train")
    return out


def _coco_items(root: Path, real: Any):
    files = _coco_files(root, real)
    classes: list[str] = []
    items: dict[str, list] = {s: [] for s in SPLITS}
    for split in SPLITS:
        if split not in files:
            continue
        path = files[split]
        try:
            doc = json.loads(path.read_text())
        except FileNotFoundError as exc:
            raise DataError(f"{path}: COCO annotation file is missing: fix app.sense.real.coco.{split}") from exc
        except (OSError, ValueError) as exc:
            raise DataError(f"{path}: not valid JSON ({exc}): fix the file") from exc
        if not isinstance(doc, dict) or not all(k in doc for k in ("images", "annotations", "categories")):
            raise DataError(f"{path}: a COCO file needs 'images', 'annotations' and 'categories' lists")
        cats = sorted(doc["categories"], key=lambda c: c["id"])
        if not classes:
            classes = [str(c["name"]) for c in cats]
        cat_index = {}
        for c in cats:
            if str(c["name"]) not in classes:
                raise DataError(f"{path}: category '{c['name']}' (id {c['id']}) is not among the train split's "
                                f"categories {classes}: use one category list for every split")
            cat_index[c["id"]] = classes.index(str(c["name"]))
        images = {}
        for im in doc["images"]:
            images[im["id"]] = im
        per_image: dict[Any, list] = {i: [] for i in images}
        for n, ann in enumerate(doc["annotations"]):
            where = f"{path}: annotation #{n} (id {ann.get('id', '?')})"
            if ann.get("iscrowd"):
                continue
            if ann.get("image_id") not in images:
                raise DataError(f"{where}: image_id {ann.get('image_id')} is not in 'images': fix the annotation")
            if ann.get("category_id") not in cat_index:
                raise DataError(f"{where}: category_id {ann.get('category_id')} is not in 'categories' "
                                f"({sorted(cat_index)}): fix the annotation or add the category")
            bbox = ann.get("bbox")
            if not isinstance(bbox, list) or len(bbox) != 4:
                raise DataError(f"{where}: bbox must be [x, y, width, height] in pixels")
            per_image[ann["image_id"]].append((n, ann, cat_index[ann["category_id"]]))
        for image_id in sorted(images, key=lambda i: str(images[i]["file_name"])):
            im = images[image_id]
            image_path = _find_coco_image(root, path, split, str(im["file_name"]))

            def load(w: int, h: int, anns=per_image[image_id], path=path) -> np.ndarray:
                rows = []
                for n, ann, k in anns:
                    x, y, bw, bh = (float(v) for v in ann["bbox"])
                    cx, cy = x + bw / 2, y + bh / 2
                    if bw < 0 or bh < 0 or not (0 <= cx <= w and 0 <= cy <= h):
                        raise DataError(f"{path}: annotation #{n} (id {ann.get('id', '?')}): bbox {ann['bbox']} "
                                        f"has its centre outside the {w}x{h} image: fix the annotation")
                    rows.append((k, cx / w, cy / h, bw / w, bh / h))
                return np.asarray(rows, np.float32).reshape(-1, 5)
            items[split].append((image_path, load))
    return classes, items


def _find_coco_image(root: Path, ann_file: Path, split: str, name: str) -> Path:
    for base in (root / "images" / split, root / split, root / "images", root, ann_file.parent):
        p = base / name
        if p.is_file():
            return p
    raise DataError(f"{ann_file}: image '{name}' is not under {root}/images/{split}, {root}/{split}, "
                    f"{root}/images or {root}: put the images there")


# ------------------------------------------------------------------ splits


def _fill_missing_splits(items: dict[str, list], real: Any, seed: int, root: Path) -> dict[str, list]:
    """Carve val/test out of train (seeded) when the data has no such split."""
    missing = [s for s in ("val", "test") if not items.get(s)]
    if not missing:
        return items
    train = list(items["train"])
    order = np.random.default_rng([int(seed), 7]).permutation(len(train))
    train = [train[i] for i in order]
    for split in missing:
        n = int(round(len(items["train"]) * float(real.get(f"{split}_fraction", 0.1))))
        if n < 1 or n >= len(train):
            raise DataError(f"{root}: no '{split}' split and too few training images ({len(items['train'])}) to "
                            f"carve {split}_fraction={real.get(f'{split}_fraction')} out of: add a {split} split")
        items[split], train = sorted(train[:n], key=lambda t: str(t[0])), train[n:]
    items["train"] = sorted(train, key=lambda t: str(t[0]))
    return items
