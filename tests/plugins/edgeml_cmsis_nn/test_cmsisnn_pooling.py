"""AVERAGE_POOL_2D (arm_avgpool_s8) and MAX_POOL_2D (arm_max_pool_s8) are bit-exact with TFLM, with SAME
padding (including the odd extra row/column TFLM puts at the end) and VALID, square and unequal strides."""

from __future__ import annotations

import pytest

from cmsisnn_layer_harness import assert_bit_exact, cmsis_nn_root, int8_tflite

pytestmark = pytest.mark.slow

CASES = {
    "avg_valid_2x2": ("avg", (8, 8, 5), dict(pool_size=2, strides=2, padding="valid")),
    "avg_same_3x3_s2": ("avg", (9, 7, 6), dict(pool_size=3, strides=2, padding="same")),
    "avg_same_4x3_s1x2": ("avg", (6, 10, 3), dict(pool_size=(4, 3), strides=(1, 2), padding="same")),
    "avg_valid_3x2_s2x1": ("avg", (7, 6, 4), dict(pool_size=(3, 2), strides=(2, 1), padding="valid")),
    "max_valid_2x2": ("max", (8, 6, 5), dict(pool_size=2, strides=2, padding="valid")),
    "max_same_3x3_s2": ("max", (9, 7, 6), dict(pool_size=3, strides=2, padding="same")),
    "max_same_2x4_s2x3": ("max", (5, 11, 3), dict(pool_size=(2, 4), strides=(2, 3), padding="same")),
}


def _lowerings():
    from edgeml_cmsis_nn.layers.pooling import lower_average_pool, lower_max_pool

    return {"AVERAGE_POOL_2D": lower_average_pool, "MAX_POOL_2D": lower_max_pool}


@pytest.mark.parametrize("case", sorted(CASES))
def test_pooling_bit_exact_with_tflm(case, tmp_path):
    import tensorflow as tf

    from edgeml_cmsis_nn.graph import read_graph
    from edgeml_cmsis_nn.layers.base import Lowering

    root = cmsis_nn_root()
    kind, shape, kw = CASES[case]
    x = tf.keras.Input(shape=shape, batch_size=1)
    layer = tf.keras.layers.AveragePooling2D(**kw) if kind == "avg" else tf.keras.layers.MaxPooling2D(**kw)
    tflite = int8_tflite(tf.keras.Model(x, layer(x)), low=-1.0, high=3.0)
    g = read_graph(tflite)
    name = "AVERAGE_POOL_2D" if kind == "avg" else "MAX_POOL_2D"
    assert g.op_counts() == {name: 1}
    lowered = _lowerings()[name](Lowering(graph=g, op=g.ops[0]))
    channels = shape[-1]
    assert lowered.scratch_bytes == (4 * channels if kind == "avg" else 0)
    compared = assert_bit_exact(tflite, _lowerings(), count=50, root=root, workdir=tmp_path)
    assert compared == 50 * g.tensor(g.outputs[0]).size


def test_padding_matches_tflm_compute_padding():
    """ComputePaddingHeightWidth on hand-worked values: SAME puts the odd pixel at the end."""
    from edgeml_cmsis_nn.layers.op_checks import padding_and_out_size

    assert padding_and_out_size(0, 9, 3, 2) == (5, 1)      # total 2
    assert padding_and_out_size(0, 10, 4, 1) == (10, 1)    # total 3: 1 before, 2 after
    assert padding_and_out_size(0, 11, 4, 3) == (4, 1)     # total (4-1)*3+4-11 = 2
    assert padding_and_out_size(1, 11, 4, 3) == (3, 0)     # VALID never pads
