"""Seeded background noise for one-second clips: coloured noise, mains hum, babble.

Every generator returns float64 samples with unit RMS so the caller sets the
level (an SNR against speech, or an absolute level for silence clips).
"""

from __future__ import annotations

import numpy as np

NOISE_KINDS = ("white", "pink", "brown", "hum", "babble")


def _unit_rms(x: np.ndarray) -> np.ndarray:
    x = x - x.mean()
    rms = np.sqrt(np.mean(x * x))
    return x / rms if rms > 0 else x


def coloured(rng: np.random.Generator, n: int, exponent: float) -> np.ndarray:
    """Noise with power spectral density ~ 1/f**exponent (0 white, 1 pink, 2 brown)."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(len(spectrum), dtype=np.float64)
    f[0] = 1.0  # the DC bin is removed by _unit_rms anyway
    return _unit_rms(np.fft.irfft(spectrum / f ** (exponent / 2), n))


def hum(rng: np.random.Generator, n: int, sample_rate: int) -> np.ndarray:
    """Mains hum (50 or 60 Hz and a few harmonics) over a little pink noise."""
    t = np.arange(n) / sample_rate
    base = 50.0 if rng.random() < 0.5 else 60.0
    x = sum(rng.uniform(0.1, 1.0) / k * np.sin(2 * np.pi * base * k * t + rng.uniform(0, 2 * np.pi))
            for k in range(1, 6))
    return _unit_rms(x + 0.1 * coloured(rng, n, 1.0))


def babble(rng: np.random.Generator, n: int, bank: list[np.ndarray]) -> np.ndarray:
    """Several other words, each at a random time and gain, from ``bank`` (float arrays)."""
    x = np.zeros(n)
    for _ in range(int(rng.integers(3, 7))):
        word = bank[int(rng.integers(len(bank)))][:n]
        start = int(rng.integers(0, n - len(word) + 1))
        x[start:start + len(word)] += rng.uniform(0.3, 1.0) * word / (np.abs(word).max() + 1e-12)
    return _unit_rms(x + 0.05 * coloured(rng, n, 1.0))


def make_noise(kind: str, rng: np.random.Generator, n: int, sample_rate: int,
               bank: list[np.ndarray] | None = None) -> np.ndarray:
    """One unit-RMS noise clip of ``kind`` (one of :data:`NOISE_KINDS`)."""
    if kind == "white":
        return coloured(rng, n, 0.0)
    if kind == "pink":
        return coloured(rng, n, 1.0)
    if kind == "brown":
        return coloured(rng, n, 2.0)
    if kind == "hum":
        return hum(rng, n, sample_rate)
    if kind == "babble":
        if not bank:
            return coloured(rng, n, 1.0)
        return babble(rng, n, bank)
    raise ValueError(f"unknown noise kind '{kind}'")
