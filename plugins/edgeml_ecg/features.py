"""What the device computes before the model: band-pass, beat windows, RR features.

* Band-pass: a cascade of biquads (Butterworth, designed once with SciPy),
  run with CMSIS-DSP's ``arm_biquad_cascade_df1_f32`` through the ``cmsisdsp``
  package: the very kernel the device runs, in float32, state carried
  across the whole record.
* Beat window: ``before`` samples before and ``after`` samples after each R
  peak of the filtered signal, normalised per beat: ``(w - mean(w)) / (std(w) + eps)``.
* RR features (what makes atrial premature beats visible): previous RR /
  local average RR, next RR / local average RR, and the local average RR in
  seconds, the mean of the ``local_beats`` RR intervals ending at this beat.

The model input is one vector: the window followed by the three RR
features, so the device runtime has a single input tensor. The same
arithmetic is emitted as C by :mod:`edgeml_ecg.device_c`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from edgeml import ConfigError

N_RR = 3
RR_NAMES = ("pre_rr / local_rr", "post_rr / local_rr", "local_rr (s)")


@dataclass(frozen=True)
class FeatureSettings:
    fs: int
    low_hz: float
    high_hz: float
    order: int
    before: int
    after: int
    local_beats: int
    eps: float = 1e-3

    @classmethod
    def from_config(cls, pre: Any, fs: int) -> "FeatureSettings":
        s = cls(fs=int(fs), low_hz=float(pre.bandpass.low_hz), high_hz=float(pre.bandpass.high_hz),
                order=int(pre.bandpass.order), before=int(pre.window.before), after=int(pre.window.after),
                local_beats=int(pre.rr.local_beats))
        if not 0 < s.low_hz < s.high_hz < fs / 2:
            raise ConfigError(f"app.preprocess.bandpass {s.low_hz}-{s.high_hz} Hz must satisfy 0 < low < high < "
                              f"fs/2 = {fs / 2} Hz")
        if s.order < 1 or s.order > 4:
            raise ConfigError(f"app.preprocess.bandpass.order={s.order}: use 1 to 4 (biquads per band edge)")
        if s.before < 8 or s.after < 8:
            raise ConfigError("app.preprocess.window.before/after must be at least 8 samples each")
        if s.local_beats < 1:
            raise ConfigError("app.preprocess.rr.local_beats must be at least 1")
        return s

    @property
    def window(self) -> int:
        return self.before + self.after

    @property
    def input_size(self) -> int:
        return self.window + N_RR


def biquad_coefficients(s: FeatureSettings) -> np.ndarray:
    """CMSIS-DSP df1 coefficients, ``{b0, b1, b2, a1, a2}`` per stage with the a's negated, float32."""
    return butter_biquads(s.order, s.low_hz, s.high_hz, s.fs)


def butter_biquads(order: int, low_hz: float, high_hz: float, fs: int) -> np.ndarray:
    """A Butterworth band-pass as CMSIS-DSP df1 coefficients (also the QRS detector's band)."""
    from scipy.signal import butter

    sos = butter(order, [low_hz, high_hz], btype="bandpass", fs=fs, output="sos")
    coefs = [[b0, b1, b2, -a1, -a2] for b0, b1, b2, _a0, a1, a2 in sos]
    return np.asarray(coefs, dtype=np.float32)


def bandpass(signal: np.ndarray, coefs: np.ndarray) -> np.ndarray:
    """The record through ``arm_biquad_cascade_df1_f32`` (CMSIS-DSP), from zero state."""
    return bandpass_stages(signal, coefs)[-1]


def bandpass_stages(signal: np.ndarray, coefs: np.ndarray) -> list[np.ndarray]:
    """The record (float32) and the output of each biquad stage, each stage run over the whole record
    from zero state by ``arm_biquad_cascade_df1_f32``. CMSIS-DSP's cascade runs one stage over the
    whole block, then the next over its output, so the last array is the cascade's output bit for
    bit; the earlier ones give the filter state at any sample (the device check's per-beat input)."""
    import cmsisdsp as dsp

    out = [np.ascontiguousarray(signal, dtype=np.float32)]
    for stage in np.asarray(coefs, np.float32).reshape(-1, 5):
        inst = dsp.arm_biquad_casd_df1_inst_f32()
        dsp.arm_biquad_cascade_df1_init_f32(inst, 1, stage.astype(np.float32), np.zeros(4, dtype=np.float32))
        out.append(np.asarray(dsp.arm_biquad_cascade_df1_f32(inst, out[-1]), dtype=np.float32))
    return out


def filter_state(stages: list[np.ndarray], t: int) -> np.ndarray:
    """CMSIS-DSP df1 state before sample ``t``: ``{x[t-1], x[t-2], y[t-1], y[t-2]}`` per stage
    (zero before the record's start), from :func:`bandpass_stages`'s arrays."""
    def at(a: np.ndarray, k: int) -> np.float32:
        return a[k] if k >= 0 else np.float32(0.0)

    return np.array([v for x, y in zip(stages[:-1], stages[1:])
                     for v in (at(x, t - 1), at(x, t - 2), at(y, t - 1), at(y, t - 2))], dtype=np.float32)


def usable_beats(peaks: np.ndarray, n_samples: int, s: FeatureSettings) -> np.ndarray:
    """Indices of peaks with a previous and a next beat and a whole window inside the record."""
    idx = np.arange(len(peaks))
    ok = (idx > 0) & (idx < len(peaks) - 1) & (peaks - s.before >= 0) & (peaks + s.after <= n_samples)
    return idx[ok]


def labelled_beats(symbols: str, peaks: np.ndarray, n_samples: int, s: FeatureSettings) -> np.ndarray:
    """The peak indices preprocess turns into examples: usable beats with an AAMI-mapped code, in order."""
    from edgeml_ecg.records import AAMI_MAP

    beats = usable_beats(peaks, n_samples, s)
    return np.array([i for i in beats if symbols[i] in AAMI_MAP], dtype=np.int64)


def beat_features(filtered: np.ndarray, peaks: np.ndarray, beats: np.ndarray, s: FeatureSettings) -> np.ndarray:
    """(len(beats), window + 3) float32 model inputs for the given peak indices."""
    out = np.empty((len(beats), s.input_size), dtype=np.float32)
    if not len(beats):
        return out
    offsets = np.arange(-s.before, s.after)
    windows = filtered[peaks[beats][:, None] + offsets[None, :]].astype(np.float32)
    # Sums run left to right (cumsum), as the device's loop does, so C and Python round alike.
    n = np.float32(s.window)
    mean = windows.cumsum(axis=1, dtype=np.float32)[:, -1:] / n
    centred = windows - mean
    std = np.sqrt((centred * centred).cumsum(axis=1, dtype=np.float32)[:, -1:] / n)
    out[:, :s.window] = centred / (std + np.float32(s.eps))
    out[:, s.window:] = rr_features(peaks, beats, s)
    return out


def rr_features(peaks: np.ndarray, beats: np.ndarray, s: FeatureSettings) -> np.ndarray:
    """(len(beats), 3) float32: pre/local, post/local, local RR in seconds."""
    rr = np.diff(peaks).astype(np.float32) / np.float32(s.fs)      # rr[i] = peaks[i+1] - peaks[i]
    out = np.empty((len(beats), N_RR), dtype=np.float32)
    for k, i in enumerate(beats):
        pre, post = rr[i - 1], rr[i]
        first = max(0, i - s.local_beats)
        local = np.float32(np.cumsum(rr[first:i], dtype=np.float32)[-1] / np.float32(i - first))
        out[k] = (pre / local, post / local, local)
    return out


def spec(s: FeatureSettings, coefs: np.ndarray) -> dict[str, Any]:
    """The feature spec the device code reproduces (it goes into the preprocess manifest)."""
    return {
        "fs_hz": s.fs,
        "bandpass": {"kind": f"Butterworth band-pass, order {s.order} per edge, {s.low_hz}-{s.high_hz} Hz",
                     "implementation": "arm_biquad_cascade_df1_f32 (CMSIS-DSP), float32, zero initial state",
                     "stages": int(len(coefs)), "coefficients_b0_b1_b2_a1_a2": coefs.tolist()},
        "window": {"before": s.before, "after": s.after, "samples": s.window,
                   "normalisation": f"(w - mean(w)) / (std(w) + {s.eps}), population std, float32"},
        "rr": {"features": list(RR_NAMES), "local_beats": s.local_beats,
               "local_rr": "mean of the local_beats RR intervals ending at this beat (fewer at the record start)"},
        "layout": f"x[n, 0:{s.window}] = normalised window, x[n, {s.window}:{s.input_size}] = RR features",
        "peaks": "annotated R peaks (training and evaluation); the first and last beat of a record are skipped. "
                 "On the device: the QRS detector's peaks (qrs_detector: the test records cut at them are scored "
                 "as metrics.<level>.detected_peaks)",
    }
