"""Fitting audio into fixed-length clips: resampling, trimming, placing, level."""

from __future__ import annotations

from math import gcd

import numpy as np


def resample(x: np.ndarray, from_hz: int, to_hz: int) -> np.ndarray:
    """Polyphase resampling (scipy.signal.resample_poly); 22050 -> 16000 is 320/441."""
    if from_hz == to_hz:
        return np.asarray(x, dtype=np.float64)
    from scipy.signal import resample_poly

    g = gcd(int(from_hz), int(to_hz))
    return resample_poly(np.asarray(x, dtype=np.float64), int(to_hz) // g, int(from_hz) // g)


def trim_silence(x: np.ndarray, sample_rate: int, threshold: float = 0.02, margin_s: float = 0.01) -> np.ndarray:
    """Cut leading and trailing samples quieter than ``threshold`` x peak, keeping a small margin."""
    peak = np.abs(x).max() if len(x) else 0.0
    if peak == 0:
        return x[:0]
    loud = np.flatnonzero(np.abs(x) > threshold * peak)
    margin = int(margin_s * sample_rate)
    return x[max(0, loud[0] - margin):loud[-1] + 1 + margin]


def pad_or_trim(x: np.ndarray, n: int) -> np.ndarray:
    """First ``n`` samples of ``x``, zero-padded at the end (Speech Commands' convention)."""
    out = np.zeros(n, dtype=x.dtype)
    out[:min(n, len(x))] = x[:n]
    return out


def place(x: np.ndarray, n: int, position: float) -> np.ndarray:
    """Put ``x`` into a zero clip of ``n`` samples; ``position`` in [0, 1] slides it from start to end."""
    out = np.zeros(n)
    x = x[:n]
    start = int(round(position * (n - len(x))))
    out[start:start + len(x)] = x
    return out


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if len(x) else 0.0


def to_int16(x: np.ndarray) -> np.ndarray:
    """Float samples in [-1, 1) full scale to int16, rounded and clipped."""
    return np.clip(np.round(np.asarray(x) * 32768.0), -32768, 32767).astype(np.int16)
