"""Int8 unary ops lowered to a TFLM-computed 256-entry table are bit-exact with TFLM on real converted
models (LOGISTIC, TANH, HARD_SWISH, ELU, LEAKY_RELU, RELU, RELU6) and on a one-op QUANTIZE model that
requantizes int8 to int8. Every input byte is covered: 50 random examples of 96+ values each, plus an
example holding all 256 values."""

from __future__ import annotations

import numpy as np
import pytest

from cmsisnn_layer_harness import (assert_bit_exact, cmsis_nn_root, host_outputs, int8_tflite, tflm_outputs)

pytestmark = pytest.mark.slow


def _lowerings():
    from edgeml_cmsis_nn.layers.lookup import ELEMENTWISE_UNARY, lower_lut

    return {name: lower_lut for name in ELEMENTWISE_UNARY}


def _layer(tf, name):
    return {
        "LOGISTIC": lambda: tf.keras.layers.Activation("sigmoid"),
        "TANH": lambda: tf.keras.layers.Activation("tanh"),
        "HARD_SWISH": lambda: tf.keras.layers.Activation("hard_swish"),
        "LEAKY_RELU": lambda: tf.keras.layers.LeakyReLU(negative_slope=0.17),
        "RELU": lambda: tf.keras.layers.ReLU(),
        "RELU6": lambda: tf.keras.layers.ReLU(max_value=6.0),
    }[name]()


def _all_bytes(shape):
    """One example holding every int8 value (cycled to the input's size)."""
    return [np.resize(np.arange(-128, 128, dtype=np.int8), shape)]


@pytest.mark.parametrize("name", ["LOGISTIC", "TANH", "HARD_SWISH", "LEAKY_RELU", "RELU", "RELU6"])
def test_lut_bit_exact_with_tflm(name, tmp_path):
    import tensorflow as tf

    from edgeml_cmsis_nn.graph import read_graph

    root = cmsis_nn_root()
    x = tf.keras.Input(shape=(4, 8, 9), batch_size=1)
    tflite = int8_tflite(tf.keras.Model(x, _layer(tf, name)(x)), low=-7.0, high=5.0)
    g = read_graph(tflite)
    assert g.op_counts() == {name: 1}, g.op_counts()
    assert assert_bit_exact(tflite, _lowerings(), count=50, root=root, workdir=tmp_path) == 50 * 4 * 8 * 9
    every = [_all_bytes(g.tensor(g.inputs[0]).shape)]
    want = tflm_outputs(tflite, every)[0][0]
    got = host_outputs(tflite, _lowerings(), every, root, tmp_path)[0][0]
    assert np.array_equal(np.asarray(want).reshape(got.shape), got)


def _one_op(name, options=None, in_q=(0.05, -3), out_q=(0.11, 7)):
    from edgeml_cmsis_nn.graph import Graph, Op, Tensor
    from edgeml_cmsis_nn.layers.lookup import one_op_model

    t_in = Tensor(0, "x", (1, 256), np.dtype(np.int8), np.array([in_q[0]], np.float32), np.array([in_q[1]]))
    t_out = Tensor(1, "y", (1, 256), np.dtype(np.int8), np.array([out_q[0]], np.float32), np.array([out_q[1]]))
    op = Op(index=0, name=name, inputs=[0], outputs=[1], options=options or {})
    return one_op_model(Graph(tensors=[t_in, t_out], ops=[op], inputs=[0], outputs=[1]), op)


def test_quantize_int8_to_int8_table(tmp_path):
    """A requantizing QUANTIZE (scale 0.05/zp -3 to scale 0.11/zp 7), as a one-op model built here."""
    from edgeml_cmsis_nn.graph import read_graph

    root = cmsis_nn_root()
    tflite = _one_op("QUANTIZE")
    assert read_graph(tflite).op_counts() == {"QUANTIZE": 1}
    assert assert_bit_exact(tflite, _lowerings(), count=20, root=root, workdir=tmp_path) == 20 * 256
    table = host_outputs(tflite, _lowerings(), [_all_bytes((1, 256))], root, tmp_path)[0][0].reshape(-1)
    x = np.arange(-128, 128)
    # the real-valued requantization, for a sanity bound: TFLM's integer rounding is within one step
    ideal = np.clip(np.round((x + 3) * 0.05 / 0.11) + 7, -128, 127)
    assert np.max(np.abs(table.astype(int) - ideal)) <= 1


@pytest.mark.parametrize("name", ["ELU", "ABS"])
def test_one_op_tables_bit_exact(name, tmp_path):
    """Ops the Keras converter does not emit in int8 (ELU stays float there), as one-op models."""
    root = cmsis_nn_root()
    tflite = _one_op(name)
    assert assert_bit_exact(tflite, _lowerings(), count=20, root=root, workdir=tmp_path) == 20 * 256


def test_op_tflm_cannot_run_is_refused():
    """LOGISTIC with an output zero point other than -128 fails TFLM's Prepare: refused, not guessed."""
    import edgeml
    from edgeml_cmsis_nn.graph import read_graph
    from edgeml_cmsis_nn.layers.base import Lowering
    from edgeml_cmsis_nn.layers.lookup import lower_lut

    g = read_graph(_one_op("LOGISTIC"))
    with pytest.raises(edgeml.IncompatibleError, match=r"op LOGISTIC \(layer 0\): TFLM does not run it"):
        lower_lut(Lowering(graph=g, op=g.ops[0]))


def test_non_elementwise_op_is_refused():
    import edgeml
    from edgeml_cmsis_nn.graph import Graph, Op, Tensor
    from edgeml_cmsis_nn.layers.base import Lowering
    from edgeml_cmsis_nn.layers.lookup import lower_lut

    t = Tensor(0, "x", (1, 8), np.dtype(np.int8), np.array([0.1], np.float32), np.array([0]))
    u = Tensor(1, "y", (1, 8), np.dtype(np.int8), np.array([1 / 256], np.float32), np.array([-128]))
    op = Op(index=3, name="SOFTMAX", inputs=[0], outputs=[1], options={"beta": 1.0})
    with pytest.raises(edgeml.IncompatibleError, match=r"op SOFTMAX \(layer 3\).*use backend=tflm"):
        lower_lut(Lowering(graph=Graph(tensors=[t, u], ops=[op], inputs=[0], outputs=[1]), op=op))
