"""MFCC features computed by CMSIS-DSP's ``arm_mfcc_f32``, the code the device runs.

The ``cmsisdsp`` Python package wraps the same C library a Cortex-M firmware
links, and its helpers build the same tables (``cmsisdsp.mfcc.melFilterMatrix``,
``cmsisdsp.mfcc.dctMatrix``), so the features the model is trained on are the
features the device computes. Per frame ``arm_mfcc_f32`` normalises by the
frame's peak, applies the window, takes the real FFT magnitude, restores the
peak, applies the sparse mel filters, takes ``ln(x + 1e-6)`` and the DCT.

Clips are int16; the input to MFCC is ``sample / 32768`` in float32. Frames
start every ``hop_samples`` and are ``fft_length`` samples long (the window
of ``window_samples`` is zero-padded on the right to ``fft_length``), with no
padding of the clip: ``1 + (clip - fft_length) // hop`` frames.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from edgeml import ConfigError, Progress

FUNCTIONS = ("arm_mfcc_init_f32", "arm_mfcc_f32", "cmsisdsp.mfcc.melFilterMatrix", "cmsisdsp.mfcc.dctMatrix")
WINDOWS = ("hann", "hamming")


@dataclass(frozen=True)
class MfccSettings:
    sample_rate: int
    window: str
    window_samples: int
    fft_length: int
    hop_samples: int
    mel_filters: int
    coefficients: int
    fmin_hz: float
    fmax_hz: float

    @classmethod
    def from_config(cls, cfg: Any, sample_rate: int) -> "MfccSettings":
        s = cls(sample_rate=int(sample_rate), window=str(cfg.window), window_samples=int(cfg.window_samples),
                fft_length=int(cfg.fft_length), hop_samples=int(cfg.hop_samples), mel_filters=int(cfg.mel_filters),
                coefficients=int(cfg.coefficients), fmin_hz=float(cfg.fmin_hz), fmax_hz=float(cfg.fmax_hz))
        where = "app.preprocess in params/app/kws.yaml"
        if s.window not in WINDOWS:
            raise ConfigError(f"window '{s.window}' is not supported: choose {' or '.join(WINDOWS)} in {where}")
        if s.fft_length not in (32, 64, 128, 256, 512, 1024, 2048, 4096):
            raise ConfigError(f"fft_length={s.fft_length} is not an arm_rfft_fast_f32 size: use a power of two "
                              f"from 32 to 4096 in {where}")
        if not 0 < s.window_samples <= s.fft_length:
            raise ConfigError(f"window_samples={s.window_samples} must be in 1..fft_length={s.fft_length} ({where})")
        if not 0 <= s.fmin_hz < s.fmax_hz <= sample_rate / 2:
            raise ConfigError(f"frequency range {s.fmin_hz}-{s.fmax_hz} Hz must lie within 0-{sample_rate / 2} Hz "
                              f"({where})")
        if not 0 < s.coefficients <= s.mel_filters:
            raise ConfigError(f"coefficients={s.coefficients} must be in 1..mel_filters={s.mel_filters} ({where})")
        if s.hop_samples <= 0:
            raise ConfigError(f"hop_samples={s.hop_samples} must be positive ({where})")
        return s

    def n_frames(self, clip_samples: int) -> int:
        return 1 + (clip_samples - self.fft_length) // self.hop_samples


def window_table(s: MfccSettings) -> np.ndarray:
    """The window coefficients fed to arm_mfcc_init_f32 (periodic window, zero-padded to fft_length)."""
    from scipy.signal import get_window

    w = np.zeros(s.fft_length, np.float32)
    w[:s.window_samples] = get_window(s.window, s.window_samples, fftbins=True).astype(np.float32)
    return w


class CmsisMfcc:
    """One initialised ``arm_mfcc_instance_f32``."""

    def __init__(self, settings: MfccSettings):
        import cmsisdsp
        import cmsisdsp.mfcc
        from cmsisdsp.datatype import F32

        self.s = s = settings
        self._dsp = cmsisdsp
        # keep the tables alive: the C instance points into them
        self.filter_lengths, self.filter_positions, self.filter_coefs = cmsisdsp.mfcc.melFilterMatrix(
            F32, s.fmin_hz, s.fmax_hz, s.mel_filters, s.sample_rate, s.fft_length)
        self.dct = cmsisdsp.mfcc.dctMatrix(F32, s.coefficients, s.mel_filters)
        self.window = window_table(s)
        self.instance = cmsisdsp.arm_mfcc_instance_f32()
        status = cmsisdsp.arm_mfcc_init_f32(self.instance, s.fft_length, s.mel_filters, s.coefficients, self.dct,
                                            self.filter_positions, self.filter_lengths, self.filter_coefs,
                                            self.window)
        if status != 0:
            raise ConfigError(f"arm_mfcc_init_f32 refused fft_length={s.fft_length}, mel_filters={s.mel_filters}, "
                              f"coefficients={s.coefficients} (status {status}): change app.preprocess")
        # arm_mfcc_f32 reads 2 x fft_length floats of it (arm_cmplx_mag_f32 over fft_length complex
        # values), more than arm_mfcc_tmp_buffer_size documents in CMSIS-DSP 1.10.3.
        self._tmp = np.zeros(2 * s.fft_length, np.float32)

    def frame(self, samples: np.ndarray) -> np.ndarray:
        """MFCC of one frame of ``fft_length`` float32 samples (not modified)."""
        return self._dsp.arm_mfcc_f32(self.instance, np.array(samples, dtype=np.float32), self._tmp)

    def clip(self, clip: np.ndarray) -> np.ndarray:
        """(frames, coefficients) of one int16 clip."""
        x = clip.astype(np.float32) / np.float32(32768.0)
        s = self.s
        return np.stack([self.frame(x[i * s.hop_samples:i * s.hop_samples + s.fft_length])
                         for i in range(s.n_frames(len(x)))])

    def clips(self, audio: np.ndarray, progress: Progress, task: str) -> np.ndarray:
        """(n, frames, coefficients) float32 for int16 clips (n, samples)."""
        n, samples = audio.shape
        out = np.zeros((n, self.s.n_frames(samples), self.s.coefficients), np.float32)
        for i in range(n):
            out[i] = self.clip(audio[i])
            if (i + 1) % 500 == 0 or i + 1 == n:
                progress.update(i + 1, n, task)
        return out

    def spec(self, clip_samples: int) -> dict[str, Any]:
        import cmsisdsp.version

        return {
            **asdict(self.s),
            "frames": self.s.n_frames(clip_samples), "clip_samples": clip_samples,
            "window_formula": f"scipy.signal.get_window('{self.s.window}', {self.s.window_samples}, fftbins=True) "
                              f"(periodic), zero-padded to {self.s.fft_length}",
            "input_scaling": "float32(int16 sample) / 32768",
            "framing": "frame i = samples[i*hop : i*hop + fft_length], no padding of the clip",
            "mel_scale": "1127 ln(1 + f/700), triangular filters (cmsisdsp.mfcc.melFilterMatrix)",
            "log": "ln(mel energy + 1e-6) inside arm_mfcc_f32",
            "dct": "DCT-II rows cos(i pi (n + 0.5) / N) sqrt(2/N) (cmsisdsp.mfcc.dctMatrix)",
            "implementation": {"library": "CMSIS-DSP", "cmsisdsp_python": cmsisdsp.version.__version__,
                               "functions": list(FUNCTIONS), "dtype": "f32"},
        }


def fit_normaliser(train: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-coefficient mean and std over all training frames, as float32 constants for the device."""
    flat = train.reshape(-1, train.shape[-1]).astype(np.float64)
    mean = flat.mean(axis=0).astype(np.float32)
    std = np.maximum(flat.std(axis=0), 1e-6).astype(np.float32)
    return mean, std


def normalise(x: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """``(mfcc - mean[c]) / std[c]`` in float32, exactly as a device computes it."""
    return ((x.astype(np.float32) - mean) / std).astype(np.float32)
