"""ADD through arm_elementwise_add_s8 is bit-exact with TFLM (two inputs of different scales and zero
points, a fused ReLU, one input feeding both operands through two branches); broadcasting is refused."""

from __future__ import annotations

import pytest

from cmsisnn_layer_harness import assert_bit_exact, cmsis_nn_root, int8_tflite

pytestmark = pytest.mark.slow


def _lowerings():
    from edgeml_cmsis_nn.layers.elementwise import lower_add
    from edgeml_cmsis_nn.layers.pooling import lower_average_pool, lower_max_pool

    return {"ADD": lower_add, "MAX_POOL_2D": lower_max_pool, "AVERAGE_POOL_2D": lower_average_pool}


def _two_inputs(shape_a, shape_b, relu=False):
    import tensorflow as tf

    a = tf.keras.Input(shape=shape_a, batch_size=1, name="in_a")
    b = tf.keras.Input(shape=shape_b, batch_size=1, name="in_b")
    y = tf.keras.layers.Add()([a, b])
    if relu:
        y = tf.keras.layers.ReLU()(y)
    return tf.keras.Model([a, b], y)


@pytest.mark.parametrize("relu", [False, True])
def test_add_two_inputs_bit_exact(relu, tmp_path):
    from edgeml_cmsis_nn.graph import read_graph

    root = cmsis_nn_root()
    tflite = int8_tflite(_two_inputs((5, 4, 6), (5, 4, 6), relu), low=(-1.0, -0.2), high=(3.0, 0.5))
    g = read_graph(tflite)
    assert g.op_counts() == {"ADD": 1}
    add = g.ops[0]
    if relu:
        assert add.options["fusedActivationFunction"] == 1
    a, b = (g.tensor(i) for i in add.inputs)
    assert a.scale[0] != b.scale[0] and a.zero_point[0] != b.zero_point[0]
    compared = assert_bit_exact(tflite, _lowerings(), count=50, root=root, workdir=tmp_path)
    assert compared == 50 * 5 * 4 * 6


def test_add_of_two_branches_bit_exact(tmp_path):
    """One model input, two pooling branches added: the shape the backend's single-input models have."""
    import tensorflow as tf

    from edgeml_cmsis_nn.graph import read_graph

    root = cmsis_nn_root()
    x = tf.keras.Input(shape=(6, 6, 4), batch_size=1)
    p = tf.keras.layers.MaxPooling2D(2, strides=1, padding="same")(x)
    q = tf.keras.layers.AveragePooling2D(3, strides=1, padding="same")(x)
    tflite = int8_tflite(tf.keras.Model(x, tf.keras.layers.Add()([p, q])), low=-2.0, high=1.0)
    assert read_graph(tflite).op_counts() == {"ADD": 1, "AVERAGE_POOL_2D": 1, "MAX_POOL_2D": 1}
    assert assert_bit_exact(tflite, _lowerings(), count=50, root=root, workdir=tmp_path) == 50 * 6 * 6 * 4


def test_broadcast_add_is_refused():
    import edgeml
    from edgeml_cmsis_nn.graph import read_graph
    from edgeml_cmsis_nn.layers.base import Lowering
    from edgeml_cmsis_nn.layers.elementwise import lower_add

    tflite = int8_tflite(_two_inputs((4, 4, 3), (1, 1, 3)))
    g = read_graph(tflite)
    op = next(op for op in g.ops if op.name == "ADD")
    with pytest.raises(edgeml.IncompatibleError, match=r"op ADD \(layer \d+\): .*broadcasts.*use backend=tflm"):
        lower_add(Lowering(graph=g, op=op))


def test_add_multipliers_match_hand_values():
    """Equal input scales: each input multiplier is 1/2 (Q31 1<<30, shift 0); the output one folds 2^-20."""
    from edgeml_cmsis_nn.quantization import add_multipliers, quantize_multiplier

    (m1, s1), (m2, s2), (mo, so) = add_multipliers(0.5, 0.5, 0.25)
    assert (m1, s1) == (m2, s2) == (1 << 30, 0)
    assert (mo, so) == quantize_multiplier(1.0 / (1 << 20) / 0.25)
    with pytest.raises(ValueError):
        add_multipliers(1.0, 1.0, 1e-9)
