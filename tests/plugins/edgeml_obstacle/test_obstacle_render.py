"""The ray caster: exact depth on hand-built scenes, labels from it, seeded and deterministic frames."""

from __future__ import annotations

import numpy as np

from edgeml.progress import Progress
from edgeml_obstacle.render import Camera, LabelRule, cast, labels, render
from edgeml_obstacle.scenes import BOX, MAX_CIRCLES, MAX_SEGMENTS, PLAIN, SceneBatch, make_batch

CAM = Camera(40, 32, 70.0)
RULE = LabelRule(sectors=5, blocked_distance_m=1.5, collision_distance_m=1.0, half_width_m=0.25, clearance_m=0.15)


def _scene(segs=(), circs=(), cam_height=1.0) -> SceneBatch:
    seg = np.zeros((1, MAX_SEGMENTS, 4), np.float32)
    seg_attr = np.zeros((1, MAX_SEGMENTS, 4), np.float32)
    seg_active = np.zeros((1, MAX_SEGMENTS), bool)
    for i, (x0, y0, x1, y1, hgt) in enumerate(segs):
        seg[0, i], seg_attr[0, i], seg_active[0, i] = (x0, y0, x1, y1), (hgt, 0.6, PLAIN, 1.0), True
    circ = np.zeros((1, MAX_CIRCLES, 3), np.float32)
    circ[..., 0], circ[..., 2] = 1e4, 0.1
    circ_attr = np.zeros((1, MAX_CIRCLES, 4), np.float32)
    circ_active = np.zeros((1, MAX_CIRCLES), bool)
    for i, (cx, cy, r, hgt) in enumerate(circs):
        circ[0, i], circ_attr[0, i], circ_active[0, i] = (cx, cy, r), (hgt, 0.5, BOX, 1.0), True
    one = lambda v: np.array([v], np.float32)  # noqa: E731
    return SceneBatch(kind=np.array([0]), seg=seg, seg_attr=seg_attr, seg_active=seg_active, circ=circ,
                      circ_attr=circ_attr, circ_active=circ_active, cam_height=one(cam_height), ceiling=one(0.0),
                      light=np.array([[1.0, 0.0]], np.float32), floor_albedo=one(0.4), top_albedo=one(0.8),
                      tile=one(0.0), tex_offset=np.zeros((1, 2), np.float32))


def _labels(scene):
    dirs = CAM.ray_dirs()
    return labels(scene, cast(scene, dirs), dirs, RULE)


def test_wall_ahead_depth_is_exact_and_blocks_everything_when_near():
    depth, y = _labels(_scene(segs=[(0.8, -20, 0.8, 20, 3.0)]))
    dirs = CAM.ray_dirs()
    np.testing.assert_allclose(depth[0], 0.8 / dirs[:, 0], rtol=1e-5)
    assert y.tolist() == [[1, 1, 1, 1, 1, 1]]
    depth, y = _labels(_scene(segs=[(3.0, -20, 3.0, 20, 3.0)]))
    assert y.tolist() == [[0, 0, 0, 0, 0, 0]]


def test_pole_on_the_left_blocks_the_left_sector_only():
    # 0.7 m ahead, 0.4 m to the left (+y): about 30 degrees left of the axis, outside the drone's corridor
    depth, y = _labels(_scene(circs=[(0.7, 0.4, 0.05, 3.0)]))
    assert y[0, 0] == 1 and y[0, 1:].sum() == 0
    hit = np.isfinite(depth[0]) & (depth[0] < 30)
    assert hit[:8].any() and not hit[20:].any()


def test_object_below_flight_height_is_no_obstacle():
    _, low = _labels(_scene(circs=[(0.8, 0.0, 0.3, 0.5)], cam_height=1.2))
    _, tall = _labels(_scene(circs=[(0.8, 0.0, 0.3, 1.5)], cam_height=1.2))
    assert low.sum() == 0
    assert tall[0, 2] == 1 and tall[0, -1] == 1


def test_frames_are_seeded_and_show_the_scene():
    probs = np.array([0.25, 0.25, 0.25, 0.25])
    a = render(*(lambda s: (s, cast(s, CAM.ray_dirs())))(make_batch(np.random.default_rng(3), 6, probs, (0.4, 1.5))),
               CAM, np.random.default_rng(4))
    b = render(*(lambda s: (s, cast(s, CAM.ray_dirs())))(make_batch(np.random.default_rng(3), 6, probs, (0.4, 1.5))),
               CAM, np.random.default_rng(4))
    assert a.dtype == np.uint8 and a.shape == (6, 32, 40)
    assert np.array_equal(a, b)
    assert a.std(axis=(1, 2)).min() > 3          # not blank
    near = _scene(segs=[(0.8, -20, 0.8, 20, 3.0)])
    img = render(near, cast(near, CAM.ray_dirs()), CAM, np.random.default_rng(0))
    far = _scene(segs=[(8.0, -20, 8.0, 20, 3.0)])
    img_far = render(far, cast(far, CAM.ray_dirs()), CAM, np.random.default_rng(0))
    # a near wall fills more rows than a far one: the floor (darker) shows less
    assert not np.array_equal(img, img_far)


def test_generated_splits_have_both_labels(tmp_path):
    from omegaconf import OmegaConf

    from edgeml_obstacle.dataset import RawFrames, generate

    cfg = OmegaConf.load(__import__("edgeml_obstacle").__path__[0] + "/conf/app/obstacle.yaml")
    cfg.sense.frames = {"train": 60, "val": 20, "test": 30}
    cfg.sense.camera.width, cfg.sense.camera.height, cfg.sense.batch = 32, 24, 25
    data = generate(cfg.sense, 0, Progress(enabled=False))
    data.save(tmp_path)
    back = RawFrames.load(tmp_path)
    assert back.frames["test"].shape == (30, 24, 32) and back.y["train"].shape == (60, 6)
    assert back.sectors_labelled and back.classes[-1] == "collision"
    y = back.y["train"]
    assert 0.1 < y[:, :5].mean() < 0.9 and 0.05 < y[:, 5].mean() < 0.95
    again = generate(cfg.sense, 0, Progress(enabled=False))
    assert np.array_equal(again.frames["val"], data.frames["val"])
