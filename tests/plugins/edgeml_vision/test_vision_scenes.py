"""The aerial scene generator and the preprocess stage: reproducible frames, labels in the frame, features."""

from __future__ import annotations

import numpy as np
import pytest

from edgeml import ConfigError, Progress, testing
from edgeml.artifacts import tree_hashes
from edgeml_vision.app import VisionApp
from edgeml_vision.frames_store import RawFrames
from edgeml_vision.scenes import SceneGenerator

from vision_tiny import vision_config

SMALL = ["app.sense.per_split.train=6", "app.sense.per_split.val=2", "app.sense.per_split.test=3"]


def test_same_seed_same_bytes_other_seed_other_frames(tmp_path):
    app = VisionApp()
    dirs = []
    for name, seed in (("a", 0), ("b", 0), ("c", 1)):
        ctx = testing.stage_context("sense", vision_config(*SMALL, seed=seed), tmp_path / name, seed=seed)
        metrics = app.sense(ctx)
        dirs.append(ctx.out_dir)
    assert metrics["n_train"] == 6 and metrics["n_test"] == 3
    assert tree_hashes(dirs[0]) == tree_hashes(dirs[1])
    assert tree_hashes(dirs[0]) != tree_hashes(dirs[2])


def test_frames_and_labels():
    data = SceneGenerator(vision_config(*SMALL).app.sense, 0).generate(Progress(enabled=False))
    frames = data.frames("train")
    assert len(frames) == 6 and frames[0].shape == (120, 160, 3) and frames[0].dtype == np.uint8
    objs = data.objects["train"]
    real = objs[objs[:, :, 0] >= 0]
    assert set(np.unique(real[:, 0]).tolist()) <= {0, 1} and len(real) > 6
    assert (real[:, 1:3] >= 0).all() and (real[:, 1:3] < 1).all()
    assert data.classes == ["person", "vehicle"]
    assert 20 < float(np.mean([f.mean() for f in frames])) < 200
    # Splits never share a frame.
    assert not any(np.array_equal(a, b) for a in data.frames("test") for b in frames)


def test_preprocess_maps_frames_and_centroids_to_the_input(tmp_path):
    app = VisionApp()
    for letterbox in (False, True):
        cfg = vision_config(*SMALL, f"app.preprocess.letterbox={str(letterbox).lower()}")
        build = tmp_path / str(letterbox)
        sense = testing.stage_context("sense", cfg, build)
        app.sense(sense)
        testing.mark_finished(sense.out_dir)
        fs = app.preprocess(testing.stage_context("preprocess", cfg, build))
        assert fs.classes == ["background", "person", "vehicle"]
        assert fs.x["train"].shape == (6, 96, 96, 1) and fs.x["train"].dtype == np.float32
        assert fs.y["train"].dtype == np.float32 and fs.y["train"].shape[2] == 3
        data = RawFrames.load(sense.out_dir)
        obj = data.objects["train"][0][0]
        y0 = fs.y["train"][0][0]
        if letterbox:  # 160x120 -> 96x72 content, 12 px bars above and below
            assert y0[1:] == pytest.approx([obj[1] * 96, obj[2] * 72 + 12], abs=1e-4)
            assert (fs.x["train"][:, :12] == 0).all()
        else:
            assert y0[1:] == pytest.approx([obj[1] * 96, obj[2] * 96], abs=1e-4)
        assert fs.spec["frame"]["resize"] == "area"
        assert fs.spec["frame"]["letterbox"] is letterbox


def test_bad_generator_settings_are_config_errors():
    with pytest.raises(ConfigError, match="pixels_per_metre"):
        SceneGenerator(vision_config("app.sense.generator.pixels_per_metre=[9,3]").app.sense, 0)
    with pytest.raises(ConfigError, match="at least one frame"):
        SceneGenerator(vision_config("app.sense.per_split.val=0").app.sense, 0)
