"""The vibration feature extractor: a float32 numpy twin of the device's C code.

One frame of ``frame_samples`` accelerometer samples and the shaft speed
(from a tachometer) become ``n_features`` numbers:

1. a DC blocker ``d[t] = (x[t] - x[t-1]) + r * d[t-1]``;
2. time statistics of ``d``: log2 RMS, kurtosis (about zero), crest factor;
3. a Welch power spectrum (Hann-windowed blocks of ``fft_length``, emlearn's
   ``eml_fft_forward``), summed into ``bands`` equal bands and expressed as
   log2 of each band's share of the total: level-independent;
4. the envelope spectrum: ``d`` through a 4th-order Butterworth band-pass
   around the structural resonance (two biquads, transposed direct form II),
   full-wave rectified, block-averaged by ``envelope_decimation``, mean
   removed, Hann-windowed and transformed; at each defect order of the
   bearing (shaft, FTF, BSF, BPFO, BPFI, times each harmonic, plus BPFI's
   shaft-speed sidebands) the largest power within +-``peak_halfwidth_bins``
   of ``order x shaft_hz``, over the mean power of the envelope spectrum:
   speed-normalised and level-independent.

Every step is written here exactly as the C does it, operation by operation,
in float32 (sequential sums, the same FFT butterflies and twiddle table, the
same constants), so the C output equals this one bit for bit when the C is
compiled without floating-point contraction (``-ffp-contract=off``: an FMA
rounds once where this rounds twice). ``log2`` is a fixed polynomial on the
``frexp`` mantissa, not libm's, for the same reason. On a core without an FPU
(Cortex-M0+) the same C runs on the compiler's soft-float routines, which are
IEEE-754 correctly rounded, so the features are the same there too.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from edgeml import ConfigError, DataError

F32 = np.float32
#: log2(m) ~ ((c3 m + c2) m + c1) m + c0 on the frexp mantissa m in [0.5, 1) (least squares, |error| < 0.003).
_LOG2_DEGREE = 3
#: The defect orders a feature is read at, besides the shaft itself.
ORDER_NAMES = ("ftf", "bsf", "bpfo", "bpfi")


def _log2_coefficients() -> list[float]:
    m = np.linspace(0.5, 1.0, 2001)
    c = np.polynomial.polynomial.polyfit(m, np.log2(m), _LOG2_DEGREE)
    return [float(F32(v)) for v in c]


@dataclass(frozen=True)
class FeatureSpec:
    """Everything the device needs to compute the features; goes into feature_spec.json."""

    sample_rate: int
    frame_samples: int
    fft_length: int
    dc_block_pole: float
    bands: list[list[int]]                # [first bin, end bin) of each band
    envelope_band_hz: list[float]
    envelope_sos: list[list[float]]       # per biquad: b0, b1, b2, a1, a2 (float32 values)
    envelope_decimation: int
    peak_halfwidth_bins: int
    envelope_norm_bins: list[int]         # [first, end) bins averaged for the normalising power
    lines: list[list[Any]]                # [name, coefficient x shaft_hz] of each envelope feature
    log2_coefficients: list[float]
    orders: dict[str, float]

    @classmethod
    def from_config(cls, cfg: Any, sample_rate: int, orders: dict[str, float], where: str = "app.preprocess",
                    design: bool = True) -> "FeatureSpec":
        """The spec for data at ``sample_rate`` with the bearing's defect ``orders``; bad values raise with the fix.

        ``design=False`` checks everything but skips the filter design (no scipy import), for composition time.
        """
        want = int(cfg.sample_rate)
        if int(sample_rate) != want:
            raise DataError(f"the data is sampled at {sample_rate} Hz but the feature spec is for {want} Hz: set "
                            f"{where}.sample_rate={sample_rate} (and envelope_band_hz below {sample_rate // 2} Hz) "
                            "or resample the data")
        fs, n, fft = want, int(cfg.frame_samples), int(cfg.fft_length)
        dec = int(cfg.envelope_decimation)
        if fft not in (64, 128, 256, 512, 1024, 2048):
            raise ConfigError(f"{where}.fft_length={fft} must be a power of two from 64 to 2048 (eml_fft radix 2)")
        if n % fft or n < fft:
            raise ConfigError(f"{where}.frame_samples={n} must be a multiple of fft_length={fft}")
        if dec < 1 or n != dec * fft:
            raise ConfigError(f"{where}.envelope_decimation={dec}: frame_samples / envelope_decimation must equal "
                              f"fft_length ({n} / {dec} != {fft}); set envelope_decimation={max(1, n // fft)}")
        lo, hi = (float(v) for v in cfg.envelope_band_hz)
        if not 0 < lo < hi < fs / 2:
            raise DataError(f"{where}.envelope_band_hz=[{lo}, {hi}] must lie inside (0, {fs / 2:g}) Hz, the "
                            f"Nyquist band of {fs} Hz data: lower the band or use data sampled faster")
        r = float(cfg.dc_block_pole)
        if not 0 < r < 1:
            raise ConfigError(f"{where}.dc_block_pole={r} must be in (0, 1)")
        nb = int(cfg.bands)
        half = fft // 2
        if not 1 <= nb <= half:
            raise ConfigError(f"{where}.bands={nb} must be in 1..{half}")
        edges = [1 + round(i * half / nb) for i in range(nb + 1)]
        bands = [[edges[i], edges[i + 1]] for i in range(nb)]
        env_fs = fs / dec
        w = int(cfg.peak_halfwidth_bins)
        if not 0 <= w < half // 4:
            raise ConfigError(f"{where}.peak_halfwidth_bins={w} must be in 0..{half // 4 - 1}")
        lines: list[list[Any]] = []
        missing = [o for o in ORDER_NAMES if o not in orders]
        if missing:
            raise DataError(f"the raw data names no defect order {missing}: re-run the sense stage")
        harmonics = [int(h) for h in cfg.defect_harmonics]
        if not harmonics or min(harmonics) < 1:
            raise ConfigError(f"{where}.defect_harmonics={harmonics} must list harmonics >= 1")
        for name, order in [("shaft", 1.0)] + [(o, float(orders[o])) for o in ORDER_NAMES]:
            for h in harmonics:
                lines.append([f"env_{name}_h{h}", float(F32(h * order))])
        lines.append(["env_bpfi_sb_lo", float(F32(orders["bpfi"] - 1.0))])
        lines.append(["env_bpfi_sb_hi", float(F32(orders["bpfi"] + 1.0))])
        top_hz = max(c for _, c in lines) * float(cfg.max_shaft_hz)
        if (top_hz * fft / env_fs) + w >= half:
            raise ConfigError(
                f"the highest envelope line ({top_hz:.0f} Hz at max_shaft_hz={cfg.max_shaft_hz}) is above the "
                f"envelope spectrum's {env_fs / 2:g} Hz Nyquist: lower {where}.envelope_decimation or defect_harmonics")
        norm = [max(1, int(math.floor(float(cfg.envelope_norm_hz[0]) * fft / env_fs))),
                min(half + 1, int(math.ceil(float(cfg.envelope_norm_hz[1]) * fft / env_fs)) + 1)]
        if norm[1] - norm[0] < 8:
            raise ConfigError(f"{where}.envelope_norm_hz={list(cfg.envelope_norm_hz)} spans fewer than 8 envelope bins")
        sos32: list[list[float]] = []
        if design:
            from scipy.signal import butter

            sos = butter(2, [lo, hi], btype="bandpass", output="sos", fs=fs)
            sos32 = [[float(F32(s[0])), float(F32(s[1])), float(F32(s[2])), float(F32(s[4])), float(F32(s[5]))]
                     for s in sos]
        return cls(sample_rate=fs, frame_samples=n, fft_length=fft, dc_block_pole=float(F32(r)), bands=bands,
                   envelope_band_hz=[lo, hi], envelope_sos=sos32, envelope_decimation=dec, peak_halfwidth_bins=w,
                   envelope_norm_bins=norm, lines=lines, log2_coefficients=_log2_coefficients(),
                   orders={k: float(v) for k, v in orders.items()})

    # ------------------------------------------------------------------ derived

    @property
    def names(self) -> list[str]:
        return (["rms_log2", "kurtosis", "crest_factor"] + [f"band{i:02d}_log2" for i in range(len(self.bands))]
                + [n for n, _ in self.lines])

    @property
    def n_features(self) -> int:
        return len(self.names)

    @property
    def envelope_rate_hz(self) -> float:
        return self.sample_rate / self.envelope_decimation

    def constants(self) -> dict[str, np.ndarray | np.float32]:
        """Every float constant, as the float32 the C tables hold."""
        n = self.fft_length
        i = np.arange(n // 2)
        return {
            "hann": (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)).astype(F32),   # periodic Hann
            "cos": np.cos(2 * np.pi * i / n).astype(F32), "sin": np.sin(2 * np.pi * i / n).astype(F32),
            "inv_frame": F32(1.0 / self.frame_samples), "inv_decimation": F32(1.0 / self.envelope_decimation),
            "inv_fft": F32(1.0 / n), "bins_per_hz": F32(n / self.envelope_rate_hz), "pole": F32(self.dc_block_pole),
        }

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d.update({"names": self.names, "n_features": self.n_features, "envelope_rate_hz": self.envelope_rate_hz,
                  "envelope_resolution_hz": self.envelope_rate_hz / self.fft_length,
                  "shaft_speed": "an input: the tachometer's shaft frequency in Hz (vibration_features_finish)",
                  "layout": "x[n, feature] float32, feature order = names"})
        return d


# ---------------------------------------------------------------------- the twin


def log2_approx(x: np.ndarray, coefs: list[float]) -> np.ndarray:
    m, e = np.frexp(np.asarray(x, F32))
    c = [F32(v) for v in coefs]
    acc = c[-1] * m
    for k in range(len(c) - 2, 0, -1):
        acc = (acc + c[k]) * m
    return ((acc + c[0]) + e.astype(F32)).astype(F32)


def eml_fft(re: np.ndarray, im: np.ndarray, cos: np.ndarray, sin: np.ndarray) -> None:
    """emlearn's eml_fft_forward in place on ``(N, batch)`` float32 arrays, butterfly for butterfly."""
    n = re.shape[0]
    levels = n.bit_length() - 1
    rev = np.array([int(format(i, f"0{levels}b")[::-1], 2) for i in range(n)])
    re[:] = re[rev]
    im[:] = im[rev]
    size = 2
    while size <= n:
        half, step = size // 2, n // size
        starts = np.arange(0, n, size)
        j = (starts[:, None] + np.arange(half)[None, :]).ravel()
        k = np.tile(np.arange(half) * step, len(starts))
        l = j + half
        c, s = cos[k][:, None], sin[k][:, None]
        rl, il = re[l], im[l]
        tpre = rl * c + il * s
        tpim = (-rl) * s + il * c
        rj, ij = re[j], im[j]
        re[l] = rj - tpre
        im[l] = ij - tpim
        re[j] = rj + tpre
        im[j] = ij + tpim
        size *= 2


def compute_features(spec: FeatureSpec, frames: np.ndarray, shaft_hz: np.ndarray,
                     progress=None, label: str = "") -> np.ndarray:
    """Features of ``frames`` (n, frame_samples) float32 with ``shaft_hz`` (n,): (n, n_features) float32."""
    frames = np.asarray(frames, F32)
    if frames.ndim != 2 or frames.shape[1] != spec.frame_samples:
        raise DataError(f"frames have shape {frames.shape}, the feature spec takes (n, {spec.frame_samples})")
    n_ex = frames.shape[0]
    if n_ex == 0:
        return np.zeros((0, spec.n_features), F32)
    out = []
    for start in range(0, n_ex, 512):
        out.append(_features_batch(spec, frames[start:start + 512], np.asarray(shaft_hz[start:start + 512], F32)))
        if progress is not None:
            progress.update(min(start + 512, n_ex), n_ex, label or "vibration features (eml_fft twin)")
    return np.concatenate(out, axis=0)


def _features_batch(spec: FeatureSpec, frames: np.ndarray, shaft: np.ndarray) -> np.ndarray:
    k = spec.constants()
    L, N, D = spec.frame_samples, spec.fft_length, spec.envelope_decimation
    X = np.ascontiguousarray(frames.T)              # (L, batch)
    b = X.shape[1]
    zero = np.zeros(b, F32)
    pole = k["pole"]
    sos = [[F32(v) for v in s] for s in spec.envelope_sos]
    dc = np.empty_like(X)
    rect = np.empty_like(X)
    xp, yp = X[0].copy(), zero.copy()
    s2, s4, peak = zero.copy(), zero.copy(), zero.copy()
    z = [[zero.copy(), zero.copy()] for _ in sos]
    for t in range(L):
        xt = X[t]
        d = (xt - xp) + pole * yp
        xp, yp = xt, d
        dc[t] = d
        d2 = d * d
        s2 = s2 + d2
        s4 = s4 + d2 * d2
        peak = np.maximum(peak, np.abs(d))
        v = d
        for (b0, b1, b2, a1, a2), st in zip(sos, z):
            y = b0 * v + st[0]
            st[0] = (b1 * v - a1 * y) + st[1]
            st[1] = b2 * v - a2 * y
            v = y
        rect[t] = np.abs(v)

    # Time statistics.
    ms = s2 * k["inv_frame"]
    with np.errstate(divide="ignore", invalid="ignore"):
        rms = np.sqrt(ms).astype(F32)
        kurt = np.where(ms > 0, (s4 * k["inv_frame"]) / (ms * ms), zero).astype(F32)
        crest = np.where(rms > 0, peak / rms, zero).astype(F32)
    feats = [log2_approx(rms, spec.log2_coefficients), kurt, crest]

    # Welch power spectrum and band shares.
    half = N // 2
    psd = np.zeros((half + 1, b), F32)
    hann = k["hann"][:, None]
    for blk in range(L // N):
        re = dc[blk * N:(blk + 1) * N] * hann
        im = np.zeros_like(re)
        eml_fft(re, im, k["cos"], k["sin"])
        psd = psd + (re[:half + 1] * re[:half + 1] + im[:half + 1] * im[:half + 1])
    energies = []
    for lo, hi in spec.bands:
        acc = zero.copy()
        for i in range(lo, hi):
            acc = acc + psd[i]
        energies.append(acc)
    total = zero.copy()
    for e in energies:
        total = total + e
    with np.errstate(divide="ignore", invalid="ignore"):
        for e in energies:
            feats.append(log2_approx(np.where(total > 0, e / total, zero).astype(F32), spec.log2_coefficients))

    # Envelope spectrum.
    env = zero.copy()[None, :].repeat(L // D, axis=0)
    for j in range(D):
        env = env + rect[j::D]
    env = env * k["inv_decimation"]
    mean = zero.copy()
    for i in range(N):
        mean = mean + env[i]
    mean = mean * k["inv_fft"]
    re = (env - mean) * hann
    im = np.zeros_like(re)
    eml_fft(re, im, k["cos"], k["sin"])
    penv = re[:half + 1] * re[:half + 1] + im[:half + 1] * im[:half + 1]
    lo, hi = spec.envelope_norm_bins
    acc = zero.copy()
    for i in range(lo, hi):
        acc = acc + penv[i]
    norm = acc / F32(hi - lo)
    w = spec.peak_halfwidth_bins
    cols = np.arange(b)
    for _, coef in spec.lines:
        kf = (F32(coef) * shaft) * k["bins_per_hz"]
        idx = np.floor(kf + F32(0.5)).astype(np.int64)
        idx = np.clip(idx, w, half - w)
        best = penv[idx - w, cols]
        for o in range(-w + 1, w + 1):
            best = np.maximum(best, penv[idx + o, cols])
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(norm > 0, best / norm, zero).astype(F32)
        feats.append(log2_approx(ratio, spec.log2_coefficients))
    return np.stack(feats, axis=1).astype(F32)
