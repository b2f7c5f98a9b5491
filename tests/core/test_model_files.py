"""edgeml.save_keras: the same weights give the same .keras bytes, and the file loads."""

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
