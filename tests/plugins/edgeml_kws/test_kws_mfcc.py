"""CMSIS-DSP MFCC features: shape, spec, normalisation, and equality with a direct cmsisdsp call."""

from __future__ import annotations

import numpy as np
import pytest

from edgeml import ConfigError
from edgeml_kws.mfcc import MfccSettings

from kws_fixtures import app, finish, kws_config, noise_dataset, stage_context, tones_features  # noqa: F401

def test_features_shape_and_spec(tones_features):
    fs, _ = tones_features
    assert fs.classes == ["_silence_", "_unknown_", "go"]
    assert fs.x["train"].shape == (18, 97, 10, 1) and fs.x["train"].dtype == np.float32
    assert fs.input_shape == (97, 10, 1)
    spec = fs.spec
    for key, value in (("window", "hann"), ("window_samples", 512), ("fft_length", 512), ("hop_samples", 160),
                       ("mel_filters", 40), ("coefficients", 10), ("fmin_hz", 20.0), ("fmax_hz", 4000.0),
                       ("frames", 97)):
        assert spec[key] == value
    assert spec["implementation"]["functions"][:2] == ["arm_mfcc_init_f32", "arm_mfcc_f32"]
    assert spec["implementation"]["cmsisdsp_python"]
    train = fs.x["train"].reshape(-1, 10)
    assert np.allclose(train.mean(0), 0, atol=1e-4) and np.allclose(train.std(0), 1, atol=1e-3)
    assert len(spec["normalisation"]["mean"]) == len(spec["normalisation"]["std"]) == 10

def test_one_frame_equals_a_direct_cmsisdsp_call(tones_features):
    import cmsisdsp as dsp
    import cmsisdsp.mfcc as mfcc
    import scipy.signal as sig
    from cmsisdsp.datatype import F32

    fs, _ = tones_features
    clip = noise_dataset().audio["train"][7]
    frame = clip[30 * 160:30 * 160 + 512].astype(np.float32) / 32768
    window = sig.get_window("hann", 512, fftbins=True).astype(np.float32)
    lengths, positions, coefs = mfcc.melFilterMatrix(F32, 20, 4000, 40, 16000, 512)
    dct = mfcc.dctMatrix(F32, 10, 40)
    inst = dsp.arm_mfcc_instance_f32()
    assert dsp.arm_mfcc_init_f32(inst, 512, 40, 10, dct, positions, lengths, coefs, window) == 0
    direct = dsp.arm_mfcc_f32(inst, frame, np.zeros(514, np.float32))
    mean = np.array(fs.spec["normalisation"]["mean"], np.float32)
    std = np.array(fs.spec["normalisation"]["std"], np.float32)
    np.testing.assert_array_equal(fs.x["train"][7, 30, :, 0], (direct - mean) / std)

def test_bad_settings_are_config_errors():
    cfg = kws_config("app.preprocess.fft_length=500").app.preprocess
    with pytest.raises(ConfigError, match="power of two"):
        MfccSettings.from_config(cfg, 16000)
    cfg = kws_config("app.preprocess.fmax_hz=9000").app.preprocess
    with pytest.raises(ConfigError, match="frequency range"):
        MfccSettings.from_config(cfg, 16000)

def test_shorter_window_and_other_hop(tmp_path, app):
    cfg = kws_config("app.preprocess.window=hamming", "app.preprocess.window_samples=480",
                     "app.preprocess.hop_samples=320", "app.preprocess.coefficients=13")
    sense = stage_context(tmp_path, "sense", cfg)
    noise_dataset(n_per_class=2).save(sense.out_dir)
    finish(sense)
    fs = app.preprocess(stage_context(tmp_path, "preprocess", cfg))
    assert fs.input_shape == (49, 13, 1) and fs.spec["window"] == "hamming"
