"""The compiler end to end on a small DS-CNN (conv, depthwise, 1x1 conv, average pool, MEAN, dense, softmax):
the generated C with CMSIS-NN equals TFLM bit for bit on the host (also under ASan/UBSan) and in the
emulator on Cortex-M4 (DSP kernels), M7 and M0+ (portable C); every layer's output equals TFLM's; the
memory plan is exact, valid, and within 5 % of the sequential lower bound; the text is reproducible."""

from __future__ import annotations

import json

import numpy as np
import pytest

import edgeml
from cmsisnn_layer_harness import cmsis_nn_root, int8_tflite

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def ds_cnn() -> bytes:
    import tensorflow as tf

    tf.keras.utils.set_random_seed(3)
    L = tf.keras.layers
    x = tf.keras.Input(shape=(33, 16, 1), batch_size=1)
    y = L.Conv2D(8, (5, 3), strides=(2, 2), padding="same", activation="relu")(x)
    y = L.DepthwiseConv2D(3, padding="same", activation="relu")(y)
    y = L.Conv2D(12, 1, activation="relu")(y)
    y = L.AveragePooling2D(2)(y)
    y = L.DepthwiseConv2D(3, padding="valid", activation="relu")(y)
    y = L.Conv2D(16, 1, activation="relu")(y)
    y = L.GlobalAveragePooling2D(keepdims=True)(y)
    y = L.Flatten()(y)
    y = L.Dense(4, kernel_initializer=tf.keras.initializers.RandomNormal(0.0, 3.0))(y)
    y = L.Softmax()(y)
    return int8_tflite(tf.keras.Model(x, y))


@pytest.fixture(scope="module")
def inputs() -> np.ndarray:
    rng = np.random.default_rng(7)      # a level per example, so the pooled features (and outputs) vary
    level = rng.integers(-100, 100, size=(24, 1, 1, 1))
    return np.clip(level + rng.integers(-28, 28, size=(24, 33, 16, 1)), -128, 127).astype(np.int8)


@pytest.fixture(scope="module")
def compiled(ds_cnn):
    cmsis_nn_root()
    from edgeml_cmsis_nn.compiler import compile_model
    from edgeml_cmsis_nn.host_check import cmsis_nn_files

    return compile_model(ds_cnn, cmsis_nn_files(), "cortex-m4")


def test_host_and_sanitized_host_equal_tflm(ds_cnn, compiled, inputs):
    from edgeml_cmsis_nn.host_check import run_compiled, run_tflm

    want = run_tflm(ds_cnn, inputs)
    assert len(np.unique(want, axis=0)) > 4, "a constant model proves nothing"
    for options in ({}, {"host": {"sanitize": True}}):
        runs = run_compiled(compiled, inputs, options=options)
        assert np.array_equal(runs.complete().outputs.reshape(len(inputs), -1), want), options
    assert {"arm_convolve_s8", "arm_depthwise_conv_3x3_s8", "arm_convolve_1x1_s8_fast"} <= set(compiled.kernels())
    assert {"AVERAGE_POOL_2D", "MEAN", "FULLY_CONNECTED", "SOFTMAX"} <= set(compiled.graph.op_counts())


@pytest.mark.parametrize("target", ["cortex-m4", "cortex-m7", "cortex-m0plus"])
def test_emulator_equals_tflm_with_per_layer_figures(ds_cnn, inputs, target):
    from edgeml_cmsis_nn.compiler import compile_model
    from edgeml_cmsis_nn.host_check import cmsis_nn_files, run_compiled, run_tflm

    compiled = compile_model(ds_cnn, cmsis_nn_files(), target)
    runs = run_compiled(compiled, inputs[:6], runners=("emulator",), target_name=target)
    run = runs.runs["emulator"]
    assert np.array_equal(run.outputs.reshape(6, -1), run_tflm(ds_cnn, inputs[:6]))
    sections = {s["mark"]: s["instructions"] for s in run.info["marks"]["sections"]}
    computing = [k for k, layer in enumerate(compiled.layers) if layer.alias_of is None]
    assert set(computing) <= set(sections)
    assert sum(sections.values()) == pytest.approx(run.instructions.value, rel=1e-6)
    assert run.flash_bytes.value > sum(compiled.constants_bytes.values())


def test_every_layer_equals_tflm(ds_cnn, compiled, inputs):
    from edgeml_cmsis_nn.host_check import run_compiled
    from edgeml_cmsis_nn.tflm_reference import layer_outputs

    got = run_compiled(compiled, inputs[:4], dump=True).complete().outputs.reshape(4, -1)
    want = layer_outputs(ds_cnn, inputs[:4])
    assert got.shape == want.shape == (4, compiled.dump_bytes)
    assert np.array_equal(got, want)


def test_memory_plan_is_valid_exact_and_near_the_lower_bound(compiled):
    from edgeml_cmsis_nn.memory_plan import check

    plan = compiled.plan
    check(plan.buffers)
    assert plan.lower_bound_bytes <= plan.arena_bytes <= 1.05 * plan.lower_bound_bytes
    assert all(b.offset % 4 == 0 and b.offset + b.size <= plan.arena_bytes for b in plan.buffers)
    assert f"#define EDGEML_ARENA_SIZE {plan.arena_bytes}" in compiled.files["edgeml_model.h"]
    doc = json.loads(compiled.files["memory_plan.json"])
    assert doc["arena_bytes"] == plan.arena_bytes and doc["sequential_lower_bound_bytes"] == plan.lower_bound_bytes
    assert {"name", "offset", "size", "first_use", "last_use"} <= set(doc["buffers"][0])
    # A RESHAPE aliases its input: its output lives in the same buffer (or the caller's output).
    for layer in compiled.layers:
        if layer.alias_of is not None:
            assert plan.tensor_home[layer.outputs[0]] == plan.tensor_home[layer.alias_of]


def test_same_model_same_text(ds_cnn, compiled):
    from edgeml_cmsis_nn.compiler import compile_model
    from edgeml_cmsis_nn.host_check import cmsis_nn_files

    again = compile_model(ds_cnn, cmsis_nn_files(), "cortex-m4")
    assert again.files == compiled.files


def test_unsupported_op_is_refused_with_the_layer_and_the_advice():
    from edgeml_cmsis_nn.compiler import lower
    from edgeml_cmsis_nn.graph import Graph, Op, Tensor

    t = [Tensor(i, f"t{i}", (1, 4), np.dtype(np.int8), np.array([0.1], np.float32), np.array([0])) for i in range(2)]
    g = Graph(tensors=t, ops=[Op(0, "TRANSPOSE", [0], [1])], inputs=[0], outputs=[1])
    with pytest.raises(edgeml.IncompatibleError, match=r"op TRANSPOSE \(layer 0\).*backend=tflm"):
        lower(g)


def test_planner_shares_memory_between_buffers_that_do_not_live_together():
    from edgeml_cmsis_nn.memory_plan import Buffer, check, place

    chain = [Buffer(f"b{i}", size, i, i + 1, "activation") for i, size in enumerate([400, 100, 400, 100, 40])]
    arena = place(chain, sorted(chain, key=lambda b: -b.size))
    check(chain)
    assert arena == 500        # the largest pair alive together (400 + 100): the lower bound
