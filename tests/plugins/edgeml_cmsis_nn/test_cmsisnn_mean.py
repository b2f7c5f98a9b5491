"""MEAN lowered to generated C is bit-exact with TFLM: global average pooling (axes [1,2], keep_dims true
and false) and other axis sets, on tiny converted models with random int8 inputs."""

from __future__ import annotations

import numpy as np
import pytest

from cmsisnn_layer_harness import assert_bit_exact, cmsis_nn_root, int8_tflite, lower_reshape_alias

pytestmark = pytest.mark.slow


def _model(shape, fn):
    import tensorflow as tf

    x = tf.keras.Input(shape=shape)
    return tf.keras.Model(x, fn(x))


def _lowerings():
    from edgeml_cmsis_nn.layers.reduce import lower_mean

    return {"MEAN": lower_mean, "RESHAPE": lower_reshape_alias}


def _mean(tf, x, **kw):
    return tf.keras.layers.Lambda(lambda t: tf.reduce_mean(t, **kw))(x)


CASES = {
    # the keyword-spotting head: [1,H,W,C] -> [1,1,1,C]; calibrated off-centre so the zero points are not 0
    "gap_keepdims": ((5, 7, 12), lambda tf, x: tf.keras.layers.GlobalAveragePooling2D(keepdims=True)(x), 0.0, 2.0),
    "gap_flat": ((6, 4, 9), lambda tf, x: tf.keras.layers.GlobalAveragePooling2D()(x), -1.0, 1.0),
    "axis_w": ((3, 10, 4), lambda tf, x: _mean(tf, x, axis=2), -3.0, 1.0),
    "axes_h_c": ((4, 5, 6), lambda tf, x: _mean(tf, x, axis=[1, 3], keepdims=True), -1.0, 1.0),
    "big_h": ((49, 10, 3), lambda tf, x: _mean(tf, x, axis=[1, 2], keepdims=True), -1.0, 1.0),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_mean_bit_exact_with_tflm(case, tmp_path):
    import tensorflow as tf

    root = cmsis_nn_root()
    shape, fn, low, high = CASES[case]
    tflite = int8_tflite(_model(shape, lambda x: fn(tf, x)), low=low, high=high)
    from edgeml_cmsis_nn.graph import read_graph

    assert "MEAN" in read_graph(tflite).op_counts()
    compared = assert_bit_exact(tflite, _lowerings(), count=50, root=root, workdir=tmp_path)
    assert compared >= 50


def test_mean_multiplier_folds_the_count_like_tflm():
    """The 1/n folding of reference_ops::QuantizedMeanOrSum, on numbers worked by hand."""
    from edgeml_cmsis_nn.quantization import mean_multiplier, quantize_multiplier

    m, s = quantize_multiplier(0.5)                 # (1<<30, 0)
    assert (m, s) == (1 << 30, 0)
    assert mean_multiplier(1.0, 2.0, 4) == ((1 << 30 << 2) // 4, -2)
    assert mean_multiplier(1.0, 2.0, 3) == ((1 << 30 << 1) // 3, -1)
    # the shift is clamped to 31 + output_shift
    m, s = quantize_multiplier(2.0 ** -30)
    mm, ss = mean_multiplier(2.0 ** -30, 1.0, 1 << 10)
    assert ss == -31 and mm == (m << (31 + s)) // (1 << 10)
    assert np.int32(mm) == mm
