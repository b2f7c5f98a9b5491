"""QAT and structured pruning in the tflite-int8 compressor, on real models and real conversions."""

from __future__ import annotations

import numpy as np
import pytest
from omegaconf import OmegaConf

import edgeml
from qat_narrow import accuracy, make_narrow_build

pytestmark = pytest.mark.slow


def _compress(build):
    from edgeml_tflite.compressor import TfliteInt8Compressor

    return TfliteInt8Compressor().compress(build.ctx("compress"), build.trained, build.features)


def test_qat_recovers_at_least_half_of_what_ptq_loses_on_a_narrow_model(capsys):
    build = make_narrow_build({"qat": {"enabled": True}})
    cm = _compress(build)
    f = build.features
    floats, ptq, qat = accuracy(build.trained.test_outputs, f), accuracy(cm.levels["ptq"], f), \
        accuracy(cm.dequantized_outputs(), f)
    with capsys.disabled():
        print(f"\n  QAT benchmark (narrow CNN, 600 test examples): float {floats:.3f}, "
              f"PTQ int8 {ptq:.3f} ({(ptq - floats) * 100:+.1f} points), QAT int8 {qat:.3f} "
              f"({(qat - floats) * 100:+.1f} points): QAT recovers {(qat - ptq) / (floats - ptq):.0%} of the loss")
    assert floats - ptq >= 0.02, "the benchmark must be a case where PTQ loses at least 2 points"
    assert qat - ptq >= 0.5 * (floats - ptq)
    # QAT changes the weights, not the graph: the same full-int8 ops as plain PTQ
    build.config.compress.qat.enabled = False
    plain = _compress(build)
    assert cm.info["op_sequence"] == plain.info["op_sequence"]
    assert cm.metrics["model_bytes"] == plain.metrics["model_bytes"]
    assert np.array_equal(plain.dequantized_outputs(), cm.levels["ptq"])
    assert "qat" in cm.info["refine"] and list(cm.levels) == ["ptq"]


def test_pruning_removes_the_weakest_channels_and_fine_tunes():
    build = make_narrow_build({"prune": {"fraction": 0.5}}, loud=0.0, width=8, epochs=12)
    cm = _compress(build)
    f = build.features
    build.config.compress.prune.fraction = 0.0
    full = _compress(build)
    info = cm.info["refine"]["pruning"]
    assert info["kept_channels"] == {"conv": "4 of 8"} and info["params_after"] < info["params_before"]
    assert cm.macs < full.macs and cm.metrics["model_bytes"] < full.metrics["model_bytes"]
    assert cm.info["op_sequence"] == full.info["op_sequence"]
    assert list(cm.levels) == ["pruned"]
    floats, pruned, int8 = (accuracy(o, f) for o in (build.trained.test_outputs, cm.levels["pruned"],
                                                    cm.dequantized_outputs()))
    assert pruned >= floats - 0.08 and abs(int8 - pruned) <= 0.03, (floats, pruned, int8)


def test_pruning_follows_channels_through_bn_depthwise_and_flatten():
    """Pruned chain == the unpruned model with those channels zeroed, on a model with BN and a Flatten."""
    import keras

    from edgeml_tflite.keras_chain import build, chain_of, fold_batch_norm
    from edgeml_tflite.pruning import prune_channels

    keras.utils.set_random_seed(1)
    L = keras.layers
    model = keras.Sequential([keras.Input((6, 5, 2)), L.Conv2D(6, 3, padding="same", use_bias=False, name="c"),
                              L.BatchNormalization(name="bn"), L.ReLU(name="r"),
                              L.DepthwiseConv2D(3, padding="same", depth_multiplier=2, name="dw"),
                              L.Flatten(name="f"), L.Dense(4, name="d")])
    for layer in model.layers:   # non-trivial BN statistics
        if isinstance(layer, L.BatchNormalization):
            layer.set_weights([np.linspace(0.5, 2, 6), np.linspace(-1, 1, 6), np.linspace(-0.2, 0.3, 6),
                               np.linspace(0.5, 1.5, 6)])
    x = np.random.default_rng(0).normal(size=(5, 6, 5, 2)).astype(np.float32)
    folded = fold_batch_norm(chain_of(model))
    np.testing.assert_allclose(build(folded).predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-4)
    pruned, kept = prune_channels(folded, 0.5)
    assert kept == {"c": "3 of 6"}
    l1 = np.abs(folded.links[0].weights[0]).reshape(-1, 6).sum(0)
    dropped = np.argsort(-l1, kind="stable")[3:]
    zeroed = fold_batch_norm(chain_of(model))
    zeroed.links[0].weights[0][..., dropped] = 0
    zeroed.links[0].weights[1][dropped] = 0
    np.testing.assert_allclose(build(pruned).predict(x, verbose=0), build(zeroed).predict(x, verbose=0), atol=1e-4)


def test_pruning_and_qat_refuse_a_branching_model():
    import keras

    from edgeml_tflite.keras_chain import chain_of

    inp = keras.Input((4,))
    a, b = keras.layers.Dense(3, name="a")(inp), keras.layers.Dense(3, name="b")(inp)
    with pytest.raises(edgeml.IncompatibleError, match="model branches"):
        chain_of(keras.Model(inp, keras.layers.Add(name="sum")([a, b])))
    from edgeml_tflite.refine import wanted
    assert not wanted(OmegaConf.create({"prune": {"fraction": 0.0}, "qat": {"enabled": False}}))
    assert wanted(OmegaConf.create({"prune": {"fraction": 0.25}})) and wanted(OmegaConf.create({"qat": {"enabled": True}}))
