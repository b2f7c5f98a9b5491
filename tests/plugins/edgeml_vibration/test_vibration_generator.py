"""The bearing vibration generator: the defect frequencies computed from geometry are really in the signal."""

from __future__ import annotations

import numpy as np
import pytest

import edgeml
from edgeml_vibration.bearing import CWRU_DRIVE_END, BearingGeometry
from edgeml_vibration.generator import BearingSignalGenerator
from edgeml_vibration.raw_dataset import CLASSES
from vibration_tiny import app_config


def test_cwru_geometry_gives_the_published_defect_orders():
    o = BearingGeometry.from_config(CWRU_DRIVE_END).orders()
    # CWRU's bearing page: BPFI 5.4152, BPFO 3.5848, FTF 0.39828, 2 x BSF 4.7135 (multiples of shaft speed).
    assert o["bpfi"] == pytest.approx(5.4152, abs=2e-4)
    assert o["bpfo"] == pytest.approx(3.5848, abs=2e-4)
    assert o["ftf"] == pytest.approx(0.39828, abs=5e-5)
    assert 2 * o["bsf"] == pytest.approx(4.7135, abs=5e-4)


def _clean_generator(length: int = 48000):
    """High-SNR frames, 4 s long, without distractors: lines are resolved to 0.25 Hz."""
    cfg = app_config(**{"sense.frame_samples": length, "sense.synth.snr_db": [6, 6], "sense.synth.shaft_db": [-20, -20],
                        "sense.synth.tone_db": [-40, -40], "sense.synth.sporadic_impacts": [0, 0],
                        "sense.synth.speed_drift": 0.0, "sense.synth.tach_error": 0.0,
                        "sense.synth.slip": 0.005})
    return BearingSignalGenerator(cfg.sense, seed=3)


def _envelope_spectrum(x: np.ndarray, fs: int, band=(2000, 5000)):
    from scipy.signal import butter, hilbert, sosfiltfilt

    y = sosfiltfilt(butter(4, band, btype="bandpass", output="sos", fs=fs), x)
    env = np.abs(hilbert(y))
    spec = np.abs(np.fft.rfft((env - env.mean()) * np.hanning(len(env))))
    return np.fft.rfftfreq(len(env), 1 / fs), spec


def _line(freqs, spec, f_hz, tol_hz):
    """Line height at f_hz (+-tol) over the median of the 0..600 Hz envelope spectrum."""
    near = np.abs(freqs - f_hz) <= tol_hz
    floor = np.median(spec[(freqs > 5) & (freqs < 600)])
    return spec[near].max() / floor


@pytest.mark.parametrize("fault, order, harmonic_of", [("outer_race", "bpfo", 1), ("inner_race", "bpfi", 1),
                                                        ("ball", "bsf", 2)])
def test_fault_frequencies_appear_in_the_envelope_spectrum(fault, order, harmonic_of):
    gen = _clean_generator()
    rng = np.random.default_rng(0)
    x, shaft = gen.frame(CLASSES.index(fault), rng)
    freqs, spec = _envelope_spectrum(x.astype(np.float64), gen.fs)
    f_defect = gen.orders[order] * shaft * harmonic_of
    assert _line(freqs, spec, f_defect, 1.5) > 8, f"no line at {f_defect:.1f} Hz"
    assert _line(freqs, spec, 2 * f_defect, 3.0) > 4, "no second harmonic"
    # The strongest line between 20 Hz and 400 Hz is the defect frequency (or its harmonic).
    band = (freqs > 20) & (freqs < 400)
    top = freqs[band][spec[band].argmax()]
    assert min(abs(top - k * f_defect) for k in (1, 2, 3)) < 2.0, (top, f_defect)
    # The other faults' lines are absent.
    others = {"bpfo": 1, "bpfi": 1, "bsf": 2}
    others.pop(order)
    for o, h in others.items():
        f = gen.orders[o] * shaft * h
        if min(abs(f - k * f_defect) for k in (1, 2, 3)) > 4:
            assert _line(freqs, spec, f, 1.0) < _line(freqs, spec, f_defect, 1.5) / 3


def test_inner_race_impacts_are_modulated_at_shaft_speed():
    gen = _clean_generator()
    x, shaft = gen.frame(CLASSES.index("inner_race"), np.random.default_rng(1))
    freqs, spec = _envelope_spectrum(x.astype(np.float64), gen.fs)
    bpfi = gen.orders["bpfi"] * shaft
    side = max(_line(freqs, spec, bpfi - shaft, 1.0), _line(freqs, spec, bpfi + shaft, 1.0))
    assert side > 4, "no shaft-speed sideband around BPFI"


def test_normal_frames_have_no_defect_lines():
    gen = _clean_generator()
    x, shaft = gen.frame(CLASSES.index("normal"), np.random.default_rng(2))
    freqs, spec = _envelope_spectrum(x.astype(np.float64), gen.fs)
    for o, h in (("bpfo", 1), ("bpfi", 1), ("bsf", 2)):
        assert _line(freqs, spec, gen.orders[o] * shaft * h, 1.5) < 6


def test_generation_is_seeded_and_balanced():
    cfg = app_config(**{"sense.per_class": {"train": 3, "val": 2, "test": 2}})
    a = BearingSignalGenerator(cfg.sense, seed=0).generate()
    b = BearingSignalGenerator(cfg.sense, seed=0).generate()
    c = BearingSignalGenerator(cfg.sense, seed=1).generate()
    assert a.x["train"].tobytes() == b.x["train"].tobytes() and a.shaft_hz["test"].tobytes() == b.shaft_hz["test"].tobytes()
    assert a.x["train"].tobytes() != c.x["train"].tobytes()
    assert a.x["train"].dtype == np.float32 and a.x["train"].shape == (12, 4096)
    assert np.bincount(a.y["test"]).tolist() == [2, 2, 2, 2]
    assert a.counts()["n_train.ball"] == 3.0
    rpm = cfg.sense.synth.rpm
    assert ((a.shaft_hz["train"] > rpm[0] / 60 * 0.98) & (a.shaft_hz["train"] < rpm[1] / 60 * 1.02)).all()


def test_bad_generator_config_names_the_key():
    with pytest.raises(edgeml.ConfigError, match="snr_db"):
        BearingSignalGenerator(app_config(**{"sense.synth.snr_db": [3, -3]}).sense, 0)
    with pytest.raises(edgeml.ConfigError, match="pitch_diameter"):
        BearingSignalGenerator(app_config(**{"sense.bearing.ball_diameter": 2.0}).sense, 0)
    with pytest.raises(edgeml.ConfigError, match="sample_rate=1000 is too low"):
        BearingSignalGenerator(app_config(**{"sense.sample_rate": 1000, "sense.synth.resonance_hz": [100, 200]}).sense, 0)


def test_ball_fault_shows_bsf_itself_and_cage_sidebands():
    """Alternating strong/weak race contacts put a line at BSF; the cage carries the ball: FTF sidebands."""
    gen = _clean_generator()
    x, shaft = gen.frame(CLASSES.index("ball"), np.random.default_rng(4))
    freqs, spec = _envelope_spectrum(x.astype(np.float64), gen.fs)
    bsf, ftf = gen.orders["bsf"] * shaft, gen.orders["ftf"] * shaft
    assert _line(freqs, spec, bsf, 1.5) > 4
    assert max(_line(freqs, spec, 2 * bsf - ftf, 0.5), _line(freqs, spec, 2 * bsf + ftf, 0.5)) > 3
