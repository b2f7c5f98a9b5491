"""An arena too small makes some TFLM kernels segfault; the arena search must survive it."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.slow


def _split_concat_int8_tflite() -> bytes:
    """SPLIT_V, STRIDED_SLICE, MUL and CONCATENATION: in-process, a 300-byte arena segfaults TFLM 2026-10."""
    import tensorflow as tf

    class Split(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([1, 64], tf.float32)])
        def f(self, x):
            a, b = tf.split(x, [40, 24], axis=1)
            return tf.concat([a[:, ::2] * 2.0, b], axis=1)

    module = Split()
    conv = tf.lite.TFLiteConverter.from_concrete_functions([module.f.get_concrete_function()], module)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    rng = np.random.default_rng(0)
    conv.representative_dataset = lambda: ([rng.normal(size=(1, 64)).astype(np.float32)] for _ in range(20))
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = conv.inference_output_type = tf.int8
    return conv.convert()


def test_a_probe_that_crashes_tflm_fails_instead_of_killing_the_build():
    from edgeml_tflm.arena_search import arena_works, find_arena

    import edgeml

    data, q = _split_concat_int8_tflite(), np.zeros(64, np.int8)
    with edgeml.native_output_captured():
        assert [arena_works(data, n, q) for n in (100, 300, 1500)] == [False, False, False]  # each segfaults
    found = find_arena(data, q, upper=1 << 22, granularity=16, margin_fraction=0.1, margin_bytes=256)
    with edgeml.native_output_captured():
        assert arena_works(data, found.measured_bytes, q) and not arena_works(data, found.measured_bytes - 16, q)
