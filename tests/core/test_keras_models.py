"""edgeml.save_keras and edgeml.keras_macs: the Keras helpers every Keras app uses."""

from __future__ import annotations

import numpy as np
import pytest

import edgeml

pytestmark = pytest.mark.slow


def test_two_saves_of_one_model_are_byte_identical_and_load(tmp_path):
    keras = pytest.importorskip("keras")
    keras.utils.set_random_seed(0)
    inp = keras.Input((4,))
    a = keras.layers.Dense(3)
    shared = keras.layers.Dense(3)  # a layer used twice gets a shared_object_id (a Python id()) in config.json
    model = keras.Model(inp, shared(a(inp)) + shared(a(inp)))
    edgeml.save_keras(model, tmp_path / "a.keras")
    edgeml.save_keras(model, tmp_path / "b.keras")
    assert (tmp_path / "a.keras").read_bytes() == (tmp_path / "b.keras").read_bytes()
    x = np.ones((2, 4), np.float32)
    np.testing.assert_array_equal(keras.models.load_model(tmp_path / "a.keras").predict(x, verbose=0),
                                  model.predict(x, verbose=0))


def test_macs_count_conv_depthwise_and_dense_layers():
    keras = pytest.importorskip("keras")
    inp = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, padding="same")(inp)          # 8*8*4 * 3*3*3 = 6912
    x = keras.layers.DepthwiseConv2D(3, padding="same")(x)      # 8*8*4 * 3*3   = 2304
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(5)(x)                                # 256 * 5       = 1280
    assert edgeml.keras_macs(keras.Model(inp, x)) == 6912 + 2304 + 1280
