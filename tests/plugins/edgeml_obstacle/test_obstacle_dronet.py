"""Collision sequences in DroNet's layout: read, split by sequence, and refused with one-line errors."""

from __future__ import annotations

import numpy as np
import pytest
from omegaconf import OmegaConf

import edgeml
from edgeml.progress import Progress
from edgeml_obstacle.dronet import read_collision_folder
from obstacle_tiny import write_collision_folder


def _sense():
    cfg = OmegaConf.load(__import__("edgeml_obstacle").__path__[0] + "/conf/app/obstacle.yaml")
    cfg.sense.camera.width, cfg.sense.camera.height = 24, 20
    return cfg.sense


def test_reads_named_splits_any_frame_size_and_leaves_sectors_unlabelled(tmp_path):
    write_collision_folder(tmp_path / "training", {"seq_a": [0, 1, 1, 0], "seq_b": [1, 0]}, size=(40, 30))
    write_collision_folder(tmp_path / "validation", {"seq_c": [0, 1]}, size=(64, 48), rgb=False)
    write_collision_folder(tmp_path / "testing", {"seq_d": [1, 1, 0]}, size=(17, 13))
    data = read_collision_folder(tmp_path, _sense(), 0, Progress(enabled=False))
    assert data.frames["train"].shape == (6, 20, 24) and data.frames["test"].shape == (3, 20, 24)
    assert data.y["train"][:, -1].tolist() == [0, 1, 1, 0, 1, 0]
    assert np.isnan(data.y["val"][:, :-1]).all() and not data.sectors_labelled
    assert data.provenance["sequences"]["test"] == ["testing/seq_d"]


def test_frames_follow_natural_order(tmp_path):
    write_collision_folder(tmp_path / "training", {"s": [0] * 9 + [1] * 3}, size=(8, 8))
    write_collision_folder(tmp_path / "validation", {"v": [0, 1]}, size=(8, 8))
    write_collision_folder(tmp_path / "testing", {"t": [0, 1]}, size=(8, 8))
    data = read_collision_folder(tmp_path, _sense(), 0, Progress(enabled=False))
    # frame_10 and frame_11 carry label 1: natural order puts them last, not after frame_1
    assert data.y["train"][:, -1].tolist() == [0] * 9 + [1] * 3


def test_unnamed_sequences_are_split_whole(tmp_path):
    write_collision_folder(tmp_path, {f"seq{i}": [i % 2, 1 - i % 2] for i in range(6)})
    data = read_collision_folder(tmp_path, _sense(), 1, Progress(enabled=False))
    seqs = data.provenance["sequences"]
    assert sorted(sum(seqs.values(), [])) == [f"seq{i}" for i in range(6)]
    assert all(len(v) >= 1 for v in seqs.values())


def test_label_count_mismatch_names_the_folder_and_the_fix(tmp_path):
    write_collision_folder(tmp_path, {f"seq{i}": [0, 1] for i in range(3)})
    (tmp_path / "seq1" / "labels.txt").write_text("0\n1\n1\n")
    with pytest.raises(edgeml.DataError, match=r"seq1: labels.txt has 3 labels but images/ has 2 frames: give "):
        read_collision_folder(tmp_path, _sense(), 0, Progress(enabled=False))


def test_unreadable_frame_names_the_file(tmp_path):
    write_collision_folder(tmp_path, {f"seq{i}": [0, 1] for i in range(3)})
    bad = tmp_path / "seq2" / "images" / "frame_1.png"
    bad.write_bytes(b"not a png")
    with pytest.raises(edgeml.DataError, match=r"frame_1.png: unreadable frame .*replace the file"):
        read_collision_folder(tmp_path, _sense(), 0, Progress(enabled=False))


def test_other_layout_mistakes(tmp_path):
    write_collision_folder(tmp_path, {f"seq{i}": [0, 1] for i in range(3)})
    (tmp_path / "seq0" / "labels.txt").write_text("0\n2\n")
    with pytest.raises(edgeml.DataError, match=r"label '2' on line 2 is not 0 or 1"):
        read_collision_folder(tmp_path, _sense(), 0, Progress(enabled=False))
    (tmp_path / "seq0" / "labels.txt").unlink()
    with pytest.raises(edgeml.DataError, match=r"seq0 has images/ but no labels.txt"):
        read_collision_folder(tmp_path, _sense(), 0, Progress(enabled=False))
    with pytest.raises(edgeml.DataError, match="is not a directory"):
        read_collision_folder(tmp_path / "nope", _sense(), 0, Progress(enabled=False))
