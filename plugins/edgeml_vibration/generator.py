"""Seeded accelerometer frames of rotating machinery with and without bearing faults.

Physics, per frame (all draws from one seeded generator, in a fixed order):

* the shaft turns at ``rpm`` with a slow linear drift over the frame; its
  first four harmonics (imbalance, misalignment) are present in every class;
* a local bearing defect makes an impact each time a rolling element passes
  it. The impacts come at the defect frequency the geometry gives
  (:mod:`edgeml_vibration.bearing`) times the instantaneous shaft speed, with
  per-impact jitter from rolling-element slip (1-2 %), and each excites a
  structural resonance (a damped sinusoid at ``resonance_hz`` with damping
  ratio ``damping``, drawn per frame: every machine rings differently):
  - outer race: BPFO, constant amplitude (the defect sits in the load zone);
  - inner race: BPFI, amplitude modulated at shaft speed (the defect turns
    through the load zone);
  - ball: 2 x BSF (the ball hits both races once per spin turn, alternating
    strong and weak impacts, so BSF itself appears too), modulated at the
    cage frequency FTF;
* load scales impact and shaft amplitudes; sporadic shocks (any class) and
  a tone from other machinery make kurtosis and single lines unreliable;
* white noise: the fault SNR (impulse-train power over noise power) is drawn
  uniformly from ``snr_db``; a sensor gain and a small DC offset finish it.
The tachometer reading (``shaft_hz``) carries a small error (``tach_error``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from edgeml import ConfigError
from edgeml_vibration.bearing import BearingGeometry
from edgeml_vibration.raw_dataset import CLASSES, SPLITS, RawDataset

_SPLIT_SEED = {"train": 11, "val": 12, "test": 13}


def _pair(cfg: Any, key: str, lo: float | None = None, hi: float | None = None) -> tuple[float, float]:
    try:
        a, b = (float(v) for v in cfg[key])
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"app.sense.synth.{key} must be a [low, high] pair of numbers ({exc})") from exc
    if a > b or (lo is not None and a < lo) or (hi is not None and b > hi):
        raise ConfigError(f"app.sense.synth.{key}=[{a}, {b}] must be ordered and within [{lo}, {hi}]")
    return a, b


class BearingSignalGenerator:
    """Generates the four classes' frames for every split from ``app.sense``."""

    def __init__(self, sense: Any, seed: int):
        self.seed = int(seed)
        self.fs = int(sense.sample_rate)
        self.length = int(sense.frame_samples)
        self.per_class = {s: int(sense.per_class[s]) for s in SPLITS}
        self.geometry = BearingGeometry.from_config(sense.bearing)
        self.orders = self.geometry.orders()
        syn = sense.synth
        self.rpm = _pair(syn, "rpm", 60.0)
        self.resonance_hz = _pair(syn, "resonance_hz", 1.0, self.fs / 2 * 0.95)
        self.damping = _pair(syn, "damping", 0.001, 0.5)
        self.snr_db = _pair(syn, "snr_db")
        self.shaft_db = _pair(syn, "shaft_db")
        self.load = _pair(syn, "load", 0.0, 1.0)
        self.inner_modulation = _pair(syn, "inner_modulation", 0.0, 1.0)
        self.ball_modulation = _pair(syn, "ball_modulation", 0.0, 1.0)
        self.sporadic = _pair(syn, "sporadic_impacts", 0.0)
        self.tone_db = _pair(syn, "tone_db")
        self.gain = _pair(syn, "gain", 1e-6)
        self.speed_drift = float(syn.speed_drift)
        self.slip = float(syn.slip)
        self.tach_error = float(syn.tach_error)
        if any(n < 1 for n in self.per_class.values()):
            raise ConfigError(f"app.sense.per_class={self.per_class}: every split needs at least one frame per class")
        top = self.rpm[1] / 60 * 2 * max(self.orders.values())
        if top * 4 >= self.fs / 2:
            raise ConfigError(f"sample_rate={self.fs} is too low for defect frequencies up to {top:.0f} Hz: "
                              "raise app.sense.sample_rate")

    def generate(self, progress=None) -> RawDataset:
        x, y, f = {}, {}, {}
        total = sum(self.per_class.values()) * len(CLASSES)
        done = 0
        for split in SPLITS:
            rng = np.random.default_rng([self.seed, _SPLIT_SEED[split]])
            n = self.per_class[split]
            labels = np.repeat(np.arange(len(CLASSES)), n)
            labels = labels[rng.permutation(len(labels))]
            frames = np.empty((len(labels), self.length), np.float32)
            shaft = np.empty(len(labels), np.float32)
            for i, label in enumerate(labels):
                frames[i], shaft[i] = self.frame(int(label), rng)
                done += 1
                if progress is not None and done % 200 == 0:
                    progress.update(done, total, "generate bearing vibration frames")
            x[split], y[split], f[split] = frames, labels.astype(np.int64), shaft
        return RawDataset(x=x, y=y, shaft_hz=f, classes=list(CLASSES), sample_rate=self.fs, orders=self.orders,
                          provenance={"source": "synthetic (edgeml_vibration.generator)", "seed": self.seed,
                                      "bearing": self.geometry.__dict__, "snr_db": list(self.snr_db),
                                      "rpm": list(self.rpm), "resonance_hz": list(self.resonance_hz)})

    # ------------------------------------------------------------------ one frame

    def frame(self, label: int, rng: np.random.Generator) -> tuple[np.ndarray, float]:
        fs, n = self.fs, self.length
        T = n / fs
        t = np.arange(n) / fs
        f0 = rng.uniform(*self.rpm) / 60.0
        drift = rng.uniform(-self.speed_drift, self.speed_drift)
        phase0 = rng.uniform(0, 2 * math.pi)

        def speed(tt):      # instantaneous shaft frequency, Hz
            return f0 * (1 + drift * (tt / T - 0.5))

        def angle(tt):      # shaft angle, rad
            return 2 * math.pi * f0 * (tt + drift * (tt * tt / (2 * T) - tt / 2)) + phase0

        load = rng.uniform(*self.load)
        fn = rng.uniform(*self.resonance_hz)
        zeta = rng.uniform(*self.damping)
        h = self._ringing(fn, zeta)
        noise_power = 1.0
        signal = rng.normal(0.0, 1.0, n)

        # Shaft harmonics (every class).
        shaft_power = noise_power * 10 ** (rng.uniform(*self.shaft_db) / 10) * (0.5 + load)
        amps = rng.uniform(0.2, 1.0, 4) / np.arange(1, 5)
        amps *= math.sqrt(2 * shaft_power / np.sum(amps ** 2))
        for k, a in enumerate(amps, start=1):
            signal += a * np.cos(k * angle(t) + rng.uniform(0, 2 * math.pi))
        # A tone from other machinery (every class), 20-600 Hz.
        tone_a = math.sqrt(2 * noise_power * 10 ** (rng.uniform(*self.tone_db) / 10))
        signal += tone_a * np.sin(2 * math.pi * rng.uniform(20, 600) * t + rng.uniform(0, 2 * math.pi))

        # The amplitude of one impact at the drawn SNR, as if BPFO-rate (also sizes sporadic shocks).
        snr = 10 ** (rng.uniform(*self.snr_db) / 10)
        e_h = float(np.sum(h ** 2))
        ref_rate = self.orders["bpfo"] * f0
        impact = math.sqrt(snr * noise_power * n / (ref_rate * T * e_h)) * (0.6 + 0.8 * load)

        pulses = np.zeros(n + len(h))
        name = CLASSES[label]
        if name != "normal":
            order = {"outer_race": self.orders["bpfo"], "inner_race": self.orders["bpfi"],
                     "ball": 2 * self.orders["bsf"]}[name]
            times, weights = self._impact_times(order, speed, T, rng)
            if name == "inner_race":
                m = rng.uniform(*self.inner_modulation)
                weights *= 1 + m * np.cos(angle(times) + rng.uniform(0, 2 * math.pi))
            elif name == "ball":
                m = rng.uniform(*self.ball_modulation)
                ftf = self.orders["ftf"] * f0
                weights *= 1 + m * np.cos(2 * math.pi * ftf * times + rng.uniform(0, 2 * math.pi))
                weights[1::2] *= rng.uniform(0.3, 0.7)   # alternate race contacts
            train = np.zeros(n + len(h))
            self._place(train, times, weights, fs, len(h))
            fault = np.convolve(train, h)[len(h):len(h) + n]
            p = float(np.mean(fault ** 2))
            if p > 0:
                signal += fault * math.sqrt(snr * noise_power / p) * (0.6 + 0.8 * load)
        # Sporadic shocks, any class.
        count = rng.poisson(rng.uniform(*self.sporadic))
        if count:
            times = rng.uniform(-len(h) / fs, T, count)
            self._place(pulses, times, impact * rng.uniform(0.5, 2.0, count) * rng.choice([-1, 1], count), fs, len(h))
            signal += np.convolve(pulses, h)[len(h):len(h) + n]

        gain = math.exp(rng.uniform(math.log(self.gain[0]), math.log(self.gain[1])))
        signal = gain * (signal + rng.uniform(-0.2, 0.2))
        tach = float(np.mean(speed(t))) * (1 + self.tach_error * rng.standard_normal())
        return signal.astype(np.float32), tach

    def _ringing(self, fn: float, zeta: float) -> np.ndarray:
        """Unit-peak impulse response of the structural resonance, cut at 1 % of its peak."""
        wn = 2 * math.pi * fn
        decay = zeta * wn
        length = min(int(math.log(100) / decay * self.fs) + 1, self.length // 4)
        tt = np.arange(length) / self.fs
        h = np.exp(-decay * tt) * np.sin(wn * math.sqrt(1 - zeta * zeta) * tt)
        return h / np.max(np.abs(h))

    def _impact_times(self, order: float, speed, T: float, rng: np.random.Generator):
        """Impact times from before the frame to its end, with slip jitter on every interval."""
        rate0 = order * speed(0.0)
        t = -rng.uniform(0, 1 / rate0) - 0.02
        times = []
        while t < T:
            times.append(t)
            t += 1 / (order * speed(max(t, 0.0))) * (1 + self.slip * rng.standard_normal())
        times = np.asarray(times)
        return times, 1 + 0.1 * rng.standard_normal(len(times))

    @staticmethod
    def _place(buf: np.ndarray, times: np.ndarray, weights: np.ndarray, fs: int, offset: int) -> None:
        """Add impulses at ``times`` (s, may be negative down to -offset/fs) into ``buf`` (index offset)."""
        idx = np.rint(times * fs).astype(np.int64) + offset
        ok = (idx >= 0) & (idx < len(buf))
        np.add.at(buf, idx[ok], weights[ok])
