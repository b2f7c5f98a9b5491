"""ECG features: the CMSIS-DSP biquad band-pass, beat windows, RR features, and their C twin compiled with gcc."""

from __future__ import annotations

import ctypes
import shutil
import subprocess

import numpy as np
import pytest

from ecg_tiny import ecg_app_config


@pytest.fixture(scope="module")
def record():
    from edgeml_ecg.synth import EcgGenerator

    return EcgGenerator(ecg_app_config().sense, 0).generate().records[-1]


@pytest.fixture(scope="module")
def settings():
    from edgeml_ecg.features import FeatureSettings

    return FeatureSettings.from_config(ecg_app_config().preprocess, 360)


def test_cmsis_biquads_equal_scipy_sosfilt(record, settings):
    from scipy.signal import butter, sosfilt

    from edgeml_ecg.features import bandpass, biquad_coefficients

    coefs = biquad_coefficients(settings)
    assert coefs.shape == (2, 5) and coefs.dtype == np.float32   # order 2 per edge: two biquads
    ours = bandpass(record.signal, coefs)
    ref = sosfilt(butter(2, [0.5, 40.0], btype="bandpass", fs=360, output="sos"), record.signal.astype(np.float64))
    assert np.abs(ours - ref).max() < 1e-3 * np.abs(ref).max()   # float32 vs float64
    assert abs(float(np.mean(ours))) < 0.01                        # baseline removed


def test_beat_features_layout_and_rr(record, settings):
    from edgeml_ecg.features import bandpass, beat_features, biquad_coefficients, usable_beats

    filtered = bandpass(record.signal, biquad_coefficients(settings))
    beats = usable_beats(record.peaks, len(filtered), settings)
    assert beats[0] >= 1 and beats[-1] <= len(record.peaks) - 2
    x = beat_features(filtered, record.peaks, beats, settings)
    assert x.shape == (len(beats), 259) and x.dtype == np.float32
    np.testing.assert_allclose(x[:, :256].mean(axis=1), 0, atol=1e-4)
    np.testing.assert_allclose(x[:, :256].std(axis=1), 1, atol=0.02)   # std / (std + eps)
    i = int(beats[20])
    pre, post = (record.peaks[i] - record.peaks[i - 1]) / 360, (record.peaks[i + 1] - record.peaks[i]) / 360
    local = np.mean(np.diff(record.peaks[max(0, i - 10):i + 1])) / 360
    np.testing.assert_allclose(x[20, 256:], [pre / local, post / local, local], rtol=1e-5)


@pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")
def test_device_c_equals_python_on_a_test_record(record, settings, tmp_path):
    """The emitted C (biquads with arm_biquad_cascade_df1_f32 semantics, windows, RR) against Python.

    Tolerance: band-pass within 1e-4 of the signal's peak (C's float32 loop vs
    CMSIS-DSP's own build), features within 1e-4 absolute."""
    from edgeml_ecg.device_c import write_device_code
    from edgeml_ecg.features import bandpass, beat_features, biquad_coefficients, spec, usable_beats

    coefs = biquad_coefficients(settings)
    files = write_device_code(tmp_path, spec(settings, coefs))
    assert files == ["ecg/ecg_features.h", "ecg/ecg_features.c", "ecg/ecg_features_beat.c"]
    lib = tmp_path / "libecg.so"
    subprocess.run(["gcc", "-O2", "-std=c99", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC",
                    str(tmp_path / files[1]), "-o", str(lib), "-lm"], check=True)
    c = ctypes.CDLL(str(lib))
    fptr = np.ctypeslib.ndpointer(np.float32, flags="C_CONTIGUOUS")
    iptr = np.ctypeslib.ndpointer(np.int32, flags="C_CONTIGUOUS")
    c.ecg_bandpass_run.argtypes = [ctypes.c_void_p, fptr, fptr, ctypes.c_uint32]
    c.ecg_beat_features.argtypes = [fptr, ctypes.c_int32, iptr, ctypes.c_int32, ctypes.c_int32, fptr]
    state = ctypes.create_string_buffer(4 * 4 * len(coefs))
    c.ecg_bandpass_init(state)
    signal = np.ascontiguousarray(record.signal, dtype=np.float32)
    out = np.zeros_like(signal)
    half = len(signal) // 2     # two calls: the state carries over like CMSIS-DSP's
    c.ecg_bandpass_run(state, signal[:half].copy(), out[:half], half)
    rest = np.zeros(len(signal) - half, np.float32)
    c.ecg_bandpass_run(state, signal[half:].copy(), rest, len(rest))
    out[half:] = rest
    py = bandpass(signal, coefs)
    assert np.abs(out - py).max() <= 1e-4 * np.abs(py).max()   # measured 6e-5 (0.5 Hz poles near 1)

    peaks = np.ascontiguousarray(record.peaks, dtype=np.int32)
    beats = usable_beats(record.peaks, len(py), settings)
    expected = beat_features(py, record.peaks, beats, settings)
    got = np.zeros_like(expected)
    row = np.zeros(expected.shape[1], np.float32)
    for k, i in enumerate(beats):
        assert c.ecg_beat_features(py, len(py), peaks, len(peaks), int(i), row) == 0
        got[k] = row
    assert c.ecg_beat_features(py, len(py), peaks, len(peaks), 0, row) == -1   # no previous beat
    assert np.abs(got - expected).max() <= 1e-4
