"""The feature extractor: the generated C (compiled with gcc) equals the numpy twin bit for bit."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import edgeml
from edgeml_vibration import feature_c
from edgeml_vibration.features import FeatureSpec, compute_features, eml_fft, log2_approx
from edgeml_vibration.generator import BearingSignalGenerator
from vibration_tiny import app_config

ROOT = Path(__file__).resolve().parents[3]

gcc = shutil.which("gcc")


@pytest.fixture(scope="module")
def frames():
    cfg = app_config(**{"sense.per_class": {"train": 1, "val": 1, "test": 6}})
    data = BearingSignalGenerator(cfg.sense, seed=5).generate()
    spec = FeatureSpec.from_config(cfg.preprocess, data.sample_rate, data.orders)
    return spec, data


def test_eml_fft_twin_is_a_dft():
    rng = np.random.default_rng(0)
    n = 256
    x = rng.normal(size=(n, 3)).astype(np.float32)
    re, im = x.copy(), np.zeros_like(x)
    i = np.arange(n // 2)
    eml_fft(re, im, np.cos(2 * np.pi * i / n).astype(np.float32), np.sin(2 * np.pi * i / n).astype(np.float32))
    ref = np.fft.fft(x.astype(np.float64), axis=0)
    assert np.allclose(re, ref.real, atol=1e-3) and np.allclose(im, ref.imag, atol=1e-3)


def test_log2_approx_is_close_and_monotone():
    coefs = FeatureSpec.from_config(app_config().preprocess, 12000,
                                    {"ftf": 0.4, "bsf": 2.36, "bpfo": 3.58, "bpfi": 5.42}).log2_coefficients
    x = np.geomspace(1e-6, 1e6, 20001).astype(np.float32)
    y = log2_approx(x, coefs)
    assert np.max(np.abs(y - np.log2(x.astype(np.float64)))) < 0.01
    assert np.all(np.diff(y) >= 0)


@pytest.mark.skipif(gcc is None, reason="needs gcc")
@pytest.mark.parametrize("target", ["cortex-m4", "cortex-m0plus"])
def test_c_feature_extractor_equals_the_numpy_twin_bit_for_bit(frames, tmp_path, target):
    """Host gcc (with ASan and UBSan) and the emulated target image: every feature of every frame exact."""
    from edgeml.testing import stage_context
    from edgeml_vibration.feature_check import features_program
    from omegaconf import OmegaConf

    spec, data = frames
    x, shaft = data.x["test"], data.shaft_hz["test"]
    d = tmp_path / "vibration"
    d.mkdir()
    (d / feature_c.HEADER).write_text(feature_c.header_source(spec))
    (d / feature_c.SOURCE).write_text(feature_c.c_source(spec))
    (d / feature_c.FRAME_SOURCE).write_text(feature_c.frame_entry_source())
    config = OmegaConf.create({"target": OmegaConf.load(ROOT / "params" / "target" / f"{target}.yaml"),
                               "runners": {"use": ["host", "emulator"], "host": {"sanitize": True},
                                           "emulator": {"profile_examples": 1}}})
    ctx = stage_context("export", config, tmp_path / "build")
    inputs = np.concatenate([shaft.reshape(-1, 1), x], axis=1).astype(np.float32)
    runs = ctx.run_program(features_program(x.shape[1], spec.n_features), inputs, root=tmp_path)
    py_out = compute_features(spec, x, shaft)
    assert set(runs.runs) == {"host", "emulator"}
    for name, run in runs.runs.items():
        # Tolerance: none. Every feature of every frame is the same float32.
        assert run.outputs.tobytes() == py_out.tobytes(), name
    assert np.isfinite(py_out).all() and len(np.unique(py_out[:, 0])) == len(x)
    emulated = runs.runs["emulator"]
    assert emulated.instructions.value > 100_000 and emulated.cycles.value > emulated.instructions.value
    assert emulated.ram_bytes.value > feature_c.state_bytes(spec)

    # The state really is what state_bytes() says (it is the RAM figure).
    (tmp_path / "size.c").write_text(f'#include <stdio.h>\n#include "{feature_c.HEADER}"\n'
                                     'int main(void) { printf("%zu", sizeof(vibration_features_state)); return 0; }\n')
    subprocess.run([gcc, f"-I{d}", str(tmp_path / "size.c"), "-o", str(tmp_path / "size")], check=True)
    size = subprocess.run([str(tmp_path / "size")], capture_output=True, text=True, check=True).stdout
    assert int(size) == feature_c.state_bytes(spec)


def test_envelope_features_point_at_the_fault(frames):
    """At a high SNR the envelope line of the fault's own order stands out over the normal frames'."""
    cfg = app_config(**{"sense.per_class": {"train": 1, "val": 1, "test": 8}, "sense.synth.snr_db": [0, 0]})
    data = BearingSignalGenerator(cfg.sense, seed=1).generate()
    spec = FeatureSpec.from_config(cfg.preprocess, data.sample_rate, data.orders)
    f = compute_features(spec, data.x["test"], data.shaft_hz["test"])
    col = {n: i for i, n in enumerate(spec.names)}
    y = data.y["test"]
    for label, name in ((1, "env_bpfo_h1"), (2, "env_bpfi_h1"), (3, "env_bsf_h2")):
        assert np.median(f[y == label, col[name]]) > np.median(f[y == 0, col[name]]) + 1.5, name


def test_spec_refuses_what_it_cannot_take():
    orders = {"ftf": 0.4, "bsf": 2.36, "bpfo": 3.58, "bpfi": 5.42}
    pre = app_config().preprocess
    with pytest.raises(edgeml.DataError, match="sampled at 48000 Hz but the feature spec is for 12000 Hz: set "
                                               "app.preprocess.sample_rate=48000"):
        FeatureSpec.from_config(pre, 48000, orders)
    pre.sample_rate = 8000
    with pytest.raises(edgeml.DataError, match=r"envelope_band_hz=\[2000.0, 5000.0\] must lie inside \(0, 4000\)"):
        FeatureSpec.from_config(pre, 8000, orders)
    pre = app_config().preprocess
    pre.envelope_decimation = 4
    with pytest.raises(edgeml.ConfigError, match="set envelope_decimation=8"):
        FeatureSpec.from_config(pre, 12000, orders)
    pre = app_config().preprocess
    pre.fft_length, pre.envelope_decimation, pre.frame_samples = 256, 32, 8192
    with pytest.raises(edgeml.ConfigError, match="above the envelope spectrum's 187.5 Hz Nyquist"):
        FeatureSpec.from_config(pre, 12000, orders)
