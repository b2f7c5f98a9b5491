"""FULLY_CONNECTED through arm_fully_connected_s8 / arm_fully_connected_per_channel_s8 is bit-exact with
TFLM: per-tensor and per-channel weights, fused activations, no bias, a rank-3 input."""

from __future__ import annotations

import numpy as np
import pytest

from cmsisnn_layer_harness import assert_bit_exact, cmsis_nn_root, int8_tflite, lower_reshape_alias

pytestmark = pytest.mark.slow


def _lowerings():
    from edgeml_cmsis_nn.layers.fully_connected import lower_fully_connected

    return {"FULLY_CONNECTED": lower_fully_connected, "RESHAPE": lower_reshape_alias}


def _dense(shape, seed=0, **kw):
    import tensorflow as tf

    tf.keras.utils.set_random_seed(seed)
    x = tf.keras.Input(shape=shape, batch_size=1)       # a static batch: no run-time shape arithmetic
    if kw.get("use_bias", True):                        # zero biases would be dropped by the converter
        kw["bias_initializer"] = tf.keras.initializers.RandomUniform(-0.5, 0.5)
    return tf.keras.Model(x, tf.keras.layers.Dense(**kw)(x))


PER_TENSOR = {"_experimental_disable_per_channel_quantization_for_dense_layers": True}
PER_CHANNEL = {"_experimental_disable_per_channel_quantization_for_dense_layers": False}
CASES = {
    "per_tensor": (dict(shape=(37,), units=11), PER_TENSOR, 0.0, 3.0),
    "per_tensor_relu": (dict(shape=(24,), units=16, activation="relu"), PER_TENSOR, -1.0, 1.0),
    "per_tensor_no_bias_relu6": (dict(shape=(19,), units=5, use_bias=False, activation="relu6"), PER_TENSOR,
                                 -4.0, 4.0),
    "per_tensor_rank3": (dict(shape=(3, 8), units=6), PER_TENSOR, -1.0, 2.0),
    "per_channel": (dict(shape=(33,), units=9, activation="relu"), PER_CHANNEL, -1.0, 1.0),
    "per_channel_rank3": (dict(shape=(4, 6), units=7), PER_CHANNEL, 0.0, 1.0),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_fully_connected_bit_exact_with_tflm(case, tmp_path):
    from edgeml_cmsis_nn.graph import read_graph
    from edgeml_cmsis_nn.layers.base import Lowering
    from edgeml_cmsis_nn.layers.fully_connected import lower_fully_connected

    root = cmsis_nn_root()
    kw, conv_attrs, low, high = CASES[case]
    tflite = int8_tflite(_dense(**kw), low=low, high=high, **conv_attrs)
    g = read_graph(tflite)
    fc = [op for op in g.ops if op.name == "FULLY_CONNECTED"]
    assert len(fc) == 1
    assert (len(fc[0].inputs) > 2 and fc[0].inputs[2] >= 0) == ("no_bias" not in case)
    layer = lower_fully_connected(Lowering(graph=g, op=fc[0]))
    want_kernel = "arm_fully_connected_s8" if case.startswith("per_tensor") else "arm_fully_connected_per_channel_s8"
    assert layer.kernel == want_kernel
    assert layer.scratch_bytes == 0 and "precomputed" in layer.info["kernel_sum"]
    compared = assert_bit_exact(tflite, _lowerings(), count=50, root=root, workdir=tmp_path)
    assert compared == 50 * g.tensor(g.outputs[0]).size


def test_kernel_sum_is_what_arm_vector_sum_s8_computes():
    """bias + input_offset * row sums, wrapped to int32 like the C."""
    from edgeml_cmsis_nn.layers.fully_connected import _wrap32

    w = np.array([[127, 127, -128], [1, 2, 3]], dtype=np.int64)
    bias = np.array([10, -5])
    got = _wrap32(bias + 128 * w.sum(axis=1))
    assert got.tolist() == [10 + 128 * 126, -5 + 128 * 6]
    assert _wrap32(np.array([(1 << 31) + 5])).tolist() == [-(1 << 31) + 5]


def test_fully_connected_multiplier_uses_the_float32_product():
    """TFLM multiplies the two float32 scales in float32, then widens: for some scales that changes the
    Q31 multiplier against the all-double product."""
    from edgeml_cmsis_nn.quantization import fully_connected_multiplier, quantize_multiplier

    rng = np.random.default_rng(0)
    differ = 0
    for _ in range(2000):
        a, b, c = (np.float32(v) for v in rng.uniform(1e-3, 1e-1, 3))
        got = fully_connected_multiplier(a, b, c)
        assert got == quantize_multiplier(float(np.float32(a * b)) / float(c))
        differ += got != quantize_multiplier(float(a) * float(b) / float(c))
    assert differ > 0


def test_precomputed_kernel_sum_equals_arm_vector_sum_s8(tmp_path):
    """The flash kernel sums are exactly what CMSIS-NN's own arm_vector_sum_s8 computes at run time (the
    Helium path reads them instead of the bias), checked by running arm_vector_sum_s8 on the host."""
    import subprocess

    from cmsisnn_layer_harness import CFLAGS, _library
    from edgeml_cmsis_nn.graph import read_graph
    from edgeml_cmsis_nn.layers.base import Lowering
    from edgeml_cmsis_nn.layers.fully_connected import lower_fully_connected
    from edgeml_cmsis_nn.layers.op_checks import c_int_list

    root = cmsis_nn_root()
    tflite = int8_tflite(_dense((29,), units=13), low=0.5, high=3.0, **PER_CHANNEL)   # input zp far from 0
    g = read_graph(tflite)
    op = g.ops[0]
    layer = lower_fully_connected(Lowering(graph=g, op=op))
    c = {k.name: k.values for k in layer.constants}
    zp = int(g.tensor(op.inputs[0]).zero_point[0])
    assert zp != 0
    src = f"""#include <stdio.h>
#include "arm_nnfunctions.h"
static const int8_t w[] = {{{c_int_list(c["weights"])}}};
static const int32_t bias[] = {{{c_int_list(c["bias"])}}};
int main(void) {{
    int32_t sum[13];
    arm_vector_sum_s8(sum, 29, 13, w, {-zp}, 0, bias);
    for (int i = 0; i < 13; ++i) printf("%ld\\n", (long)sum[i]);
    return 0;
}}
"""
    (tmp_path / "vs.c").write_text(src)
    subprocess.run(["gcc", *CFLAGS, "-I", str(root / "Include"), str(tmp_path / "vs.c"), str(_library(root)),
                    "-o", str(tmp_path / "vs")], check=True)
    out = subprocess.run([str(tmp_path / "vs")], check=True, capture_output=True, text=True).stdout
    assert [int(v) for v in out.split()] == np.asarray(c["kernel_sum"]).tolist()
