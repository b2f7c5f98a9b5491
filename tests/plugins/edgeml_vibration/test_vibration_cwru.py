"""The CWRU reader, on .mat files the test writes itself with scipy.io.savemat."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.io import savemat

import edgeml
from edgeml_vibration.cwru import CwruReader
from vibration_tiny import app_config

FRAME = 1024


def _sense(**cwru):
    cfg = app_config(**{"sense.frame_samples": FRAME})
    for k, v in cwru.items():
        cfg.sense.cwru[k] = v
    return cfg.sense


def _mat(path, number, n=FRAME * 10, rpm=1772, de=True, seed=0):
    rng = np.random.default_rng(seed)
    data = {f"X{number:03d}_FE_time": rng.normal(size=(n, 1))}
    if de:
        data[f"X{number:03d}_DE_time"] = rng.normal(size=(n, 1)) + number
    if rpm is not None:
        data[f"X{number:03d}RPM"] = np.array([[rpm]])
    path.parent.mkdir(parents=True, exist_ok=True)
    savemat(str(path), data)


def _folders(root):
    _mat(root / "Normal" / "97.mat", 97, rpm=1797)
    _mat(root / "OR" / "130.mat", 130, rpm=1772)
    _mat(root / "IR" / "105.mat", 105, rpm=None)
    _mat(root / "B" / "118.mat", 118, n=FRAME * 20)
    return root


def test_reads_class_folders_with_cwru_names(tmp_path):
    data = CwruReader(str(_folders(tmp_path / "cwru")), _sense(), seed=0).read()
    assert data.classes == ["normal", "outer_race", "inner_race", "ball"]
    assert data.sample_rate == 12000 and data.x["train"].shape[1] == FRAME
    # 10 frames per file split 7/2/1 (rounded 70/15/15 %), the ball file 20 frames 14/3/3.
    assert np.bincount(data.y["train"]).tolist() == [7, 7, 7, 14]
    assert np.bincount(data.y["test"], minlength=4).tolist() == [1, 1, 1, 3]
    # The drive-end signal (offset by the file number), not the fan end.
    normal = data.x["train"][data.y["train"] == 0]
    assert abs(float(normal.mean()) - 97) < 0.2
    # RPM from the file, or the configured default (1797) when the file has none.
    speeds = {c: set(np.round(data.shaft_hz["train"][data.y["train"] == i] * 60).tolist())
              for i, c in enumerate(data.classes)}
    assert speeds == {"normal": {1797.0}, "outer_race": {1772.0}, "inner_race": {1797.0}, "ball": {1772.0}}
    # Frames of one file in time order: train first, test last; no frame is in two splits.
    first = data.x["train"][data.y["train"] == 0][0]
    assert not any(np.array_equal(first, f) for f in data.x["test"])
    assert data.orders["bpfo"] == pytest.approx(3.5848, abs=2e-4)


def test_mapping_file_labels_and_frame_caps(tmp_path):
    root = tmp_path / "flat"
    _mat(root / "a.mat", 1)
    _mat(root / "b.mat", 2)
    _mat(root / "c.mat", 3)
    (root / "labels.csv").write_text("file,label\na.mat,normal\nb.mat,inner race\nc.mat,inner_race\n")
    data = CwruReader(str(root), _sense(mapping_file="labels.csv", max_per_class=5), seed=0).read()
    assert data.classes == ["normal", "inner_race"]
    assert np.bincount(data.y["train"]).tolist() == [5, 5]
    assert data.provenance["files"][1]["label"] == "inner_race"


def test_mat_file_without_drive_end_signal_is_named(tmp_path):
    root = _folders(tmp_path / "cwru")
    _mat(root / "OR" / "131.mat", 131, de=False)
    with pytest.raises(edgeml.DataError, match=r"OR/131\.mat has no drive-end signal \(\*_DE_time; found X131RPM, "
                                               r"X131_FE_time\): use CWRU drive-end files or remove"):
        CwruReader(str(root), _sense(), seed=0).read()


def test_one_class_is_refused_with_the_fix(tmp_path):
    _mat(tmp_path / "only" / "normal" / "97.mat", 97)
    with pytest.raises(edgeml.DataError, match="holds only one class \\(normal\\).*add folders for the other classes"):
        CwruReader(str(tmp_path / "only"), _sense(), seed=0).read()


def test_a_file_at_another_sample_rate_is_named_with_the_fix(tmp_path):
    root = tmp_path / "rates"
    _mat(root / "a.mat", 1)
    _mat(root / "b.mat", 2)
    (root / "map.csv").write_text("a.mat,normal,12000\nb.mat,ball,48000\n")
    with pytest.raises(edgeml.DataError, match=r"b\.mat is sampled at 48000 Hz but this build reads 12000 Hz data: "
                                               r"set app.sense.sample_rate=48000 and app.preprocess.sample_rate=48000"):
        CwruReader(str(root), _sense(mapping_file="map.csv"), seed=0).read()


def test_unreadable_and_missing_files_are_named(tmp_path):
    root = _folders(tmp_path / "cwru")
    (root / "B" / "119.mat").write_bytes(b"not a mat file")
    with pytest.raises(edgeml.DataError, match=r"B/119\.mat is not a readable MATLAB \.mat file"):
        CwruReader(str(root), _sense(), seed=0).read()
    with pytest.raises(edgeml.DataError, match="mapping file .*nope.csv does not exist"):
        CwruReader(str(root), _sense(mapping_file="nope.csv"), seed=0).read()
    with pytest.raises(edgeml.DataError, match="is not a directory"):
        CwruReader(str(tmp_path / "missing"), _sense(), seed=0).read()


def test_short_file_is_named(tmp_path):
    root = _folders(tmp_path / "cwru")
    _mat(root / "IR" / "106.mat", 106, n=FRAME * 2)
    with pytest.raises(edgeml.DataError, match=r"IR/106\.mat has 2048 samples, fewer than 3 frames"):
        CwruReader(str(root), _sense(), seed=0).read()
