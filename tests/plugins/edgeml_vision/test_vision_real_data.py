"""Reading YOLO and COCO folders, and the one-line errors naming the file (and line)."""

from __future__ import annotations

import json

import pytest

from edgeml import DataError, testing
from edgeml_vision.app import VisionApp
from edgeml_vision.frames_store import RawFrames

from vision_tiny import vision_config, write_image, yolo_folder


def _sense(tmp_path, data_dir, *overrides):
    ctx = testing.stage_context("sense", vision_config(f"app.data_dir={data_dir}", *overrides), tmp_path / "build")
    metrics = VisionApp().sense(ctx)
    return metrics, RawFrames.load(ctx.out_dir)


def test_reads_the_yolo_layout(tmp_path):
    metrics, data = _sense(tmp_path, yolo_folder(tmp_path / "ds"))
    assert data.classes == ["person", "car"]
    assert (metrics["n_train"], metrics["n_val"], metrics["n_test"]) == (4, 4, 4)
    assert metrics["train.person"] == 3 and metrics["train.car"] == 3
    assert [tuple(s) for s in data.shapes["train"][:2]] == [(48, 64, 3), (48, 80, 3)]
    first = data.objects["train"][0]
    assert first[0].tolist() == pytest.approx([0, 0.25, 0.5, 0.05, 0.1])
    assert data.files["train"][0] == "images/train/f0.png"
    assert (data.objects["train"][3][:, 0] == -1).all()  # no label file: no objects


def test_missing_splits_are_carved_out_of_train(tmp_path):
    root = yolo_folder(tmp_path / "ds", splits=("train",), per_split=10)
    metrics, _ = _sense(tmp_path, root, "app.sense.real.val_fraction=0.2")
    assert (metrics["n_train"], metrics["n_val"], metrics["n_test"]) == (7, 2, 1)


@pytest.mark.parametrize("line, message", [
    ("5 0.5 0.5 0.1 0.1", r"f0.txt:2: class 5 is not in data.yaml's names \(0..1\)"),
    ("0 1.2 0.5 0.1 0.1", r"f0.txt:2: coordinates 1.2 0.5 0.1 0.1 are outside \[0, 1\]"),
    ("0 0.5 0.5", r"f0.txt:2: 3 fields"),
])
def test_bad_label_lines_name_file_and_line(tmp_path, line, message):
    root = yolo_folder(tmp_path / "ds")
    (root / "labels" / "train" / "f0.txt").write_text(f"0 0.5 0.5 0.1 0.1\n{line}\n")
    with pytest.raises(DataError, match=message):
        _sense(tmp_path, root)


def test_unreadable_image_names_the_file(tmp_path):
    root = yolo_folder(tmp_path / "ds")
    bad = root / "images" / "val" / "f1.png"
    bad.write_bytes(b"\x89PNG not really")
    with pytest.raises(DataError, match=f"{bad}: not a readable image"):
        _sense(tmp_path, root)


def test_reads_coco_json(tmp_path):
    root = tmp_path / "coco"
    for split in ("train", "val", "test"):
        images, anns = [], []
        for i in range(3):
            write_image(root / "images" / split / f"{split}{i}.png", 40, 30, seed=i, mode="L")
            images.append({"id": i + 1, "file_name": f"{split}{i}.png", "width": 40, "height": 30})
            anns.append({"id": 100 + i, "image_id": i + 1, "category_id": 7, "bbox": [10, 5, 4, 6], "iscrowd": 0})
        anns.append({"id": 200, "image_id": 1, "category_id": 3, "bbox": [0, 0, 40, 30], "iscrowd": 0})
        doc = {"images": images, "annotations": anns,
               "categories": [{"id": 3, "name": "vehicle"}, {"id": 7, "name": "person"}]}
        (root / "annotations").mkdir(parents=True, exist_ok=True)
        (root / "annotations" / f"instances_{split}.json").write_text(json.dumps(doc))
    metrics, data = _sense(tmp_path, root)
    assert data.classes == ["vehicle", "person"]
    assert metrics["train.person"] == 3 and metrics["train.vehicle"] == 1
    assert tuple(data.shapes["test"][0]) == (30, 40, 1)
    first = data.objects["train"][0]
    assert first[0].tolist() == pytest.approx([1, 12 / 40, 8 / 30, 4 / 40, 6 / 30])
    assert first[1].tolist() == pytest.approx([0, 0.5, 0.5, 1, 1])

    doc = json.loads((root / "annotations" / "instances_val.json").read_text())
    doc["annotations"][0]["category_id"] = 9
    (root / "annotations" / "instances_val.json").write_text(json.dumps(doc))
    with pytest.raises(DataError, match=r"instances_val.json: annotation #0 \(id 100\): category_id 9"):
        _sense(tmp_path, root)


def test_not_a_dataset_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="neither data.yaml"):
        _sense(tmp_path, tmp_path / "empty")
