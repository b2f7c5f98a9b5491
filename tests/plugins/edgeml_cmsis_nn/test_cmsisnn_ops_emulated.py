"""The non-convolution lowerings through the whole backend (compile_model: memory plan, scratch queries,
code generator) on small chained models, run by the host runner and by the emulator on a Cortex-M4 (the
CMSIS-NN DSP paths: SIMD fully connected, avgpool with its scratch, elementwise add) and a Cortex-M0+
(portable C), every output equal to TFLM's."""

from __future__ import annotations

import numpy as np
import pytest

from cmsisnn_layer_harness import assert_bit_exact_compiled, cmsis_nn_root, int8_tflite

pytestmark = pytest.mark.slow


def _lowerings():
    from edgeml_cmsis_nn.layers.data_movement import lower_concatenation, lower_pad, lower_strided_slice
    from edgeml_cmsis_nn.layers.elementwise import lower_add
    from edgeml_cmsis_nn.layers.lookup import ELEMENTWISE_UNARY, lower_lut

    return {"ADD": lower_add, "CONCATENATION": lower_concatenation, "STRIDED_SLICE": lower_strided_slice,
            "PAD": lower_pad, "PADV2": lower_pad} | {name: lower_lut for name in ELEMENTWISE_UNARY}


def _fc(tf, per_channel):
    tf.keras.utils.set_random_seed(5)
    x = tf.keras.Input(shape=(45,), batch_size=1)
    init = tf.keras.initializers.RandomUniform(-0.5, 0.5)
    y = tf.keras.layers.Dense(24, activation="relu", bias_initializer=init)(x)
    y = tf.keras.layers.Dense(11, bias_initializer=init)(y)
    attrs = {"_experimental_disable_per_channel_quantization_for_dense_layers": not per_channel}
    return int8_tflite(tf.keras.Model(x, y), low=0.0, high=2.0, **attrs)


def _pools(tf):
    x = tf.keras.Input(shape=(11, 9, 20), batch_size=1)
    y = tf.keras.layers.AveragePooling2D(3, strides=2, padding="same")(x)
    y = tf.keras.layers.MaxPooling2D(2, padding="same")(y)
    y = tf.keras.layers.AveragePooling2D((2, 1), padding="valid")(y)
    return int8_tflite(tf.keras.Model(x, y), low=-1.0, high=2.0)


def _mean(tf):
    x = tf.keras.Input(shape=(10, 7, 12), batch_size=1)
    y = tf.keras.layers.MaxPooling2D(2, strides=1)(x)
    y = tf.keras.layers.GlobalAveragePooling2D(keepdims=True)(y)
    return int8_tflite(tf.keras.Model(x, y), low=0.0, high=2.0)


def _add(tf):
    x = tf.keras.Input(shape=(6, 5, 7), batch_size=1)
    p = tf.keras.layers.MaxPooling2D(3, strides=1, padding="same")(x)
    q = tf.keras.layers.AveragePooling2D(2, strides=1, padding="same")(x)
    y = tf.keras.layers.ReLU()(tf.keras.layers.Add()([p, q]))
    return int8_tflite(tf.keras.Model(x, y), low=-2.0, high=1.0)


def _tables(tf):
    x = tf.keras.Input(shape=(4, 6, 5), batch_size=1)
    y = tf.keras.layers.MaxPooling2D(2, strides=1)(x)
    y = tf.keras.layers.Activation("tanh")(y)
    y = tf.keras.layers.LeakyReLU(negative_slope=0.3)(y)
    return int8_tflite(tf.keras.Model(x, y), low=-3.0, high=3.0)


def _moves(tf):
    x = tf.keras.Input(shape=(8, 8, 3), batch_size=1)
    p = tf.keras.layers.MaxPooling2D(2)(x)                              # 4x4x3
    p = tf.keras.layers.ZeroPadding2D(((1, 0), (2, 1)))(p)              # 5x7x3
    p = tf.keras.layers.Lambda(lambda t: t[:, ::-2, 1:6, :])(p)         # 3x5x3
    q = tf.keras.layers.AveragePooling2D((3, 2), strides=(2, 2), padding="same")(x)   # 4x4x3
    q = tf.keras.layers.Lambda(lambda t: t[:, 1:, :-1, :])(q)           # 3x3x3
    return int8_tflite(tf.keras.Model(x, tf.keras.layers.Concatenate(axis=2)([p, q])), low=-1.0, high=1.0)


MODELS = {"fc_per_tensor": lambda tf: _fc(tf, False), "fc_per_channel": lambda tf: _fc(tf, True),
          "pools": _pools, "mean": _mean, "add": _add, "tables": _tables, "data_movement": _moves}


@pytest.mark.parametrize("model", sorted(MODELS))
def test_chained_ops_equal_tflm_on_host_and_emulated_cores(model):
    import tensorflow as tf

    from edgeml_cmsis_nn.graph import read_graph

    cmsis_nn_root()
    tflite = MODELS[model](tf)
    g = read_graph(tflite)
    assert len(g.ops) >= 2, g.op_counts()      # an intermediate tensor in the arena
    compared = assert_bit_exact_compiled(tflite, _lowerings(), count=24, targets=("cortex-m4", "cortex-m0plus"))
    assert compared == 2 * 2 * 24 * g.tensor(g.outputs[0]).size      # 2 targets x (host, emulator)
    assert np.prod(g.tensor(g.outputs[0]).shape) > 0
