"""CONCATENATION, STRIDED_SLICE and PAD/PADV2 lowered to memcpy loops are bit-exact with TFLM on converted
models: several axes, a constant input, requantizing QUANTIZE ops the converter puts before a concatenation,
negative strides, begin/end/shrink masks, zero and constant-value padding."""

from __future__ import annotations

import numpy as np
import pytest

from cmsisnn_layer_harness import assert_bit_exact, cmsis_nn_root, int8_tflite

pytestmark = pytest.mark.slow


def _lowerings():
    from edgeml_cmsis_nn.layers.data_movement import lower_concatenation, lower_pad, lower_strided_slice
    from edgeml_cmsis_nn.layers.lookup import lower_lut
    from edgeml_cmsis_nn.layers.pooling import lower_average_pool, lower_max_pool

    return {"CONCATENATION": lower_concatenation, "STRIDED_SLICE": lower_strided_slice, "PAD": lower_pad,
            "PADV2": lower_pad, "QUANTIZE": lower_lut, "MAX_POOL_2D": lower_max_pool,
            "AVERAGE_POOL_2D": lower_average_pool}


def _lambda_model(shape, fn):
    import tensorflow as tf

    x = tf.keras.Input(shape=shape, batch_size=1)
    return tf.keras.Model(x, tf.keras.layers.Lambda(fn)(x))


def _check(tflite, expect_ops, tmp_path, count=50):
    from edgeml_cmsis_nn.graph import read_graph

    root = cmsis_nn_root()
    g = read_graph(tflite)
    assert set(g.op_counts()) == set(expect_ops), g.op_counts()
    n = assert_bit_exact(tflite, _lowerings(), count=count, root=root, workdir=tmp_path)
    assert n == count * sum(g.tensor(o).size for o in g.outputs)


SLICES = {
    "box": lambda t: t[:, 1:4, 2:7, :],
    "negative_and_masks": lambda t: t[:, -3:, ::-1, 1:3],
    "shrink_and_step": lambda t: t[:, 1:6:2, 3, ::2],
    "channel_step": lambda t: t[..., ::3],
}


@pytest.mark.parametrize("case", sorted(SLICES))
def test_strided_slice_bit_exact(case, tmp_path):
    import tensorflow as tf  # noqa: F401  (Lambda bodies use tensor slicing)

    _check(int8_tflite(_lambda_model((6, 8, 5), SLICES[case])), {"STRIDED_SLICE"}, tmp_path)


def test_pad_zero_point_bit_exact(tmp_path):
    import tensorflow as tf

    x = tf.keras.Input(shape=(5, 4, 3), batch_size=1)
    model = tf.keras.Model(x, tf.keras.layers.ZeroPadding2D(((1, 2), (0, 3)))(x))
    _check(int8_tflite(model, low=0.5, high=4.0), {"PAD"}, tmp_path)     # zero point far from 0


def test_pad_channels_and_constant_value_bit_exact(tmp_path):
    import tensorflow as tf

    tflite = int8_tflite(_lambda_model((3, 4, 5), lambda t: tf.pad(t, [[0, 0], [2, 0], [0, 0], [1, 2]],
                                                                     constant_values=0.75)), low=-1.0, high=2.0)
    from edgeml_cmsis_nn.graph import read_graph

    ops = set(read_graph(tflite).op_counts())
    assert ops <= {"PAD", "PADV2"} and ops
    _check(tflite, ops, tmp_path)


@pytest.mark.parametrize("axis", [1, 2, 3])
def test_concatenation_of_branches_bit_exact(axis, tmp_path):
    """Two pooling branches of one input (same quantization), joined along H, W or C."""
    import tensorflow as tf

    x = tf.keras.Input(shape=(6, 6, 4), batch_size=1)
    p = tf.keras.layers.MaxPooling2D(2)(x)
    q = tf.keras.layers.AveragePooling2D(2)(x)
    model = tf.keras.Model(x, tf.keras.layers.Concatenate(axis=axis)([p, q, p]))
    _check(int8_tflite(model), {"CONCATENATION", "MAX_POOL_2D", "AVERAGE_POOL_2D"}, tmp_path)


def test_concatenation_with_constant_bit_exact(tmp_path):
    import tensorflow as tf

    const = np.linspace(-1.0, 1.0, 2 * 4 * 3, dtype=np.float32).reshape(1, 2, 4, 3)
    tflite = int8_tflite(_lambda_model((5, 4, 3), lambda t: tf.concat([t, tf.constant(const)], axis=1)))
    _check(tflite, {"CONCATENATION"}, tmp_path)


def test_concatenation_of_two_model_inputs_bit_exact(tmp_path):
    """Inputs calibrated on different ranges: the converter gives both the output's quantization."""
    import tensorflow as tf

    a = tf.keras.Input(shape=(3, 4), batch_size=1, name="in_a")
    b = tf.keras.Input(shape=(3, 2), batch_size=1, name="in_b")
    model = tf.keras.Model([a, b], tf.keras.layers.Concatenate(axis=-1)([a, b]))
    _check(int8_tflite(model, low=(-1.0, -8.0), high=(1.0, 3.0)), {"CONCATENATION"}, tmp_path)


def test_concatenation_needing_requantization_is_refused():
    import edgeml
    from edgeml_cmsis_nn.graph import Graph, Op, Tensor
    from edgeml_cmsis_nn.layers.base import Lowering
    from edgeml_cmsis_nn.layers.data_movement import lower_concatenation

    def t(i, shape, scale):
        return Tensor(i, f"t{i}", shape, np.dtype(np.int8), np.array([scale], np.float32), np.array([0]))

    g = Graph(tensors=[t(0, (1, 2), 0.1), t(1, (1, 3), 0.2), t(2, (1, 5), 0.1)],
              ops=[Op(index=4, name="CONCATENATION", inputs=[0, 1], outputs=[2], options={"axis": 1})],
              inputs=[0, 1], outputs=[2])
    with pytest.raises(edgeml.IncompatibleError, match=r"op CONCATENATION \(layer 4\): .*requires them equal"):
        lower_concatenation(Lowering(graph=g, op=g.ops[0]))


def test_affine_fold_merges_contiguous_dims():
    from edgeml_cmsis_nn.layers.data_movement import _affine

    full = np.arange(2 * 3 * 4)
    assert _affine((2, 3, 4), full) == (0, [(24, 1)])
    sliced = np.arange(5 * 6).reshape(5, 6)[1:4, ::-2]
    assert _affine(sliced.shape, sliced.reshape(-1)) == (11, [(3, 6), (3, -2)])
    assert _affine((2, 2), np.array([0, 1, 3, 2])) is None
