"""A tiny real training run: a TrainedModel that Keras loads back, byte-identical for one seed."""

from __future__ import annotations

import numpy as np
import pytest

import edgeml

from kws_fixtures import app, kws_config, stage_context, tones_features  # noqa: F401 (fixtures)

pytestmark = pytest.mark.slow
TINY_TRAIN = ["app.train.epochs=2", "app.train.batch_size=8"]


def _train(app, features, build):
    ctx = stage_context(build, "train", kws_config(*TINY_TRAIN))
    return app.train(ctx, features), ctx.out_dir


def test_tiny_train_returns_a_loadable_keras_model_and_is_reproducible(app, tones_features, tmp_path):
    import keras

    fs, _ = tones_features
    model, out = _train(app, fs, tmp_path / "a")
    assert isinstance(model, edgeml.TrainedModel) and model.kind == "keras" and model.path == "model.keras"
    assert model.test_outputs.shape == (len(fs.y["test"]), 3)
    np.testing.assert_allclose(model.test_outputs.sum(1), 1, atol=1e-5)
    assert {"train.accuracy", "val.accuracy", "macs", "params"} <= set(model.metrics)
    assert 0 < model.metrics["macs"] < 250_000 and model.info["estimated_latency_ms"] > 0

    loaded = keras.saving.load_model(out / "model.keras")
    np.testing.assert_allclose(loaded.predict(fs.x["test"], verbose=0), model.test_outputs, atol=1e-6)
    types = {type(layer).__name__ for layer in loaded.layers}
    assert "Dense" not in types and {"DepthwiseConv2D", "GlobalAveragePooling2D", "Softmax"} <= types

    again, out2 = _train(app, fs, tmp_path / "b")
    assert (out / "model.keras").read_bytes() == (out2 / "model.keras").read_bytes()
    np.testing.assert_array_equal(model.test_outputs, again.test_outputs)
