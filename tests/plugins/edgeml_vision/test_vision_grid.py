"""Grid encoding and the Python post-processing: cells, merging, centroids, the int8 twin."""

from __future__ import annotations

import numpy as np
import pytest

from edgeml import QuantParams
from edgeml.artifacts import CompressedModel
from edgeml_vision.grid import DecodeSettings, GridGeometry, decode, decode_int8, encode, int8_threshold
from edgeml_vision.scoring import detection_metrics

GEO = GridGeometry(width=96, height=96, grid_w=12, grid_h=12)


def _scores(cells: dict[tuple[int, int], tuple[int, float]], classes: int = 3) -> np.ndarray:
    """One grid: background 1.0 except the given cells (row, col) -> (class, score)."""
    g = np.zeros((1, 12, 12, classes), np.float32)
    g[..., 0] = 1.0
    for (r, c), (k, s) in cells.items():
        g[0, r, c, :] = (1 - s) / (classes - 1)
        g[0, r, c, k] = s
    return g


def test_encode_marks_the_centroid_cell_and_the_first_object_wins_a_shared_cell():
    y = np.array([[[0, 4.0, 4.0], [1, 95.9, 40.0], [1, 5.0, 6.0], [-1, 0, 0]]], np.float32)
    g = encode(y, GEO)
    assert g.shape == (1, 12, 12) and g.dtype == np.int64
    assert g[0, 0, 0] == 1 and g[0, 5, 11] == 2 and int((g > 0).sum()) == 2


def test_a_label_margin_marks_the_cell_across_a_nearby_border():
    y = np.array([[[0, 15.0, 20.0], [1, 44.0, 44.0], [-1, 0, 0]]], np.float32)
    g = encode(y, GEO, margin_px=1.5)
    # (15, 20) is 1 px from the border x = 16: cells (2, 1) and (2, 2); (44, 44) is mid-cell: one cell.
    assert np.argwhere(g[0] == 1).tolist() == [[2, 1], [2, 2]]
    assert np.argwhere(g[0] == 2).tolist() == [[5, 5]]
    merged = decode(np.eye(3, dtype=np.float32)[g], GEO, DecodeSettings(0.5, connectivity=4))[0]
    assert merged[0][:3].tolist() == [0, 16.0, 20.0]


def test_ground_truth_grids_decode_back_to_their_objects():
    rng = np.random.default_rng(0)
    y = np.full((20, 4, 3), -1, np.float32)
    for i in range(20):
        cells = rng.choice(144, 4, replace=False)
        cells = [c for c in cells if all(abs(c // 12 - d // 12) > 1 or abs(c % 12 - d % 12) > 1
                                         for d in cells if d != c)]
        for j, c in enumerate(cells):
            y[i, j] = (rng.integers(2), (c % 12 + rng.uniform(0, 1)) * 8, (c // 12 + rng.uniform(0, 1)) * 8)
    onehot = np.eye(3, dtype=np.float32)[encode(y, GEO)]
    m = detection_metrics(decode(onehot, GEO, DecodeSettings(0.5)), y, ["person", "vehicle"], radius=8.0)
    assert m["f1"] == 1.0 and m["count_mae"] == 0.0


def test_connectivity_and_class_decide_what_merges():
    g = _scores({(2, 2): (1, 0.9), (3, 3): (1, 0.7), (2, 3): (2, 0.8), (8, 8): (1, 0.4)})
    eight = decode(g, GEO, DecodeSettings(0.5, connectivity=8))[0]
    four = decode(g, GEO, DecodeSettings(0.5, connectivity=4))[0]
    # (2,2) and (3,3) touch at a corner: one person with 8-connectivity, two with 4; the vehicle cell apart.
    assert sorted(eight[:, 0].tolist()) == [0, 1] and sorted(four[:, 0].tolist()) == [0, 0, 1]
    person = eight[eight[:, 0] == 0][0]
    # Score-weighted centre of cells (2,2) and (3,3): x = (0.9*20 + 0.7*28) / 1.6.
    assert person[1] == pytest.approx((0.9 * 20 + 0.7 * 28) / 1.6) and person[3] == pytest.approx(0.9)
    assert person[4] == 2
    plain = decode(g, GEO, DecodeSettings(0.5, connectivity=8, centroid="cell"))[0]
    assert plain[plain[:, 0] == 0][0][1] == pytest.approx(24.0)
    # A lower threshold turns the 0.4 cell on.
    assert len(decode(g, GEO, DecodeSettings(0.35))[0]) == 3


def test_best_object_class_may_win_below_background():
    g = _scores({(0, 0): (1, 0.45)})  # background 0.275 after the split, person 0.45
    g[0, 0, 0] = [0.5, 0.45, 0.05]
    assert len(decode(g, GEO, DecodeSettings(0.4))[0]) == 1
    assert len(decode(g, GEO, DecodeSettings(0.5))[0]) == 0


def test_int8_twin_matches_the_float_post_processing_on_dequantized_grids():
    rng = np.random.default_rng(3)
    raw = rng.integers(-128, 128, (40, 12, 12, 3)).astype(np.int8)
    raw[..., 0] = np.maximum(raw[..., 0], 60)          # mostly background
    hot = rng.random((40, 12, 12)) < 0.1
    raw[..., 1][hot] = 100
    model = CompressedModel(format="tflite-int8", path="m", test_outputs=raw, reference="test",
                            output_quant=QuantParams(scale=1 / 256, zero_point=-128))
    real = model.dequantize(raw)
    for conn in (4, 8):
        for centroid in ("score", "cell"):
            settings = DecodeSettings(0.5, conn, centroid)
            q_thr = int8_threshold(0.5, model.dequantize)
            assert q_thr == 0
            a = decode(real, GEO, settings)
            b = decode_int8(raw, GEO, q_thr, -128, conn, centroid)
            assert sum(len(o) for o in a) > 40
            for fa, fb in zip(a, b):
                np.testing.assert_array_equal(fa[:, [0, 4]], fb[:, [0, 4]])
                np.testing.assert_allclose(fa[:, 1:3], fb[:, 1:3], atol=1e-4)


def test_int8_threshold_is_the_first_value_at_or_above():
    deq = QuantParams(scale=0.1, zero_point=0)
    model = CompressedModel(format="x", path="m", test_outputs=np.zeros(1), reference="r", output_quant=deq)
    assert int8_threshold(0.25, model.dequantize) == 3
    assert int8_threshold(99.0, model.dequantize) == 128
