"""An offline ECG generator: continuous single-lead records at 360 Hz with beat annotations.

Each record is one "patient": its own heart rate and variability
(respiratory and Mayer-wave modulation plus jitter), beat morphology (PQRST
as a sum of Gaussians, after McSharry et al. 2003; some patients with bundle
branch block, a wide notched QRS, coded L or R as in MIT-BIH), lead gain,
and ectopy rates. Ectopic beats follow their physiology:

* V (premature ventricular): early (55-75 % of the sinus RR), no P wave, a
  wide QRS of the patient's own ectopic focus (polarity and width), a
  discordant T wave, and a full compensatory pause (the next sinus beat
  comes two sinus cycles after the last one).
* S (atrial premature, code A): early (60-82 %), an abnormal P wave (ectopic
  focus: other shape and timing), a normal QRS, and a non-compensatory pause
  (the sinus node resets: the next beat one sinus cycle later).
* F (fusion): on time, a blend of the normal and the ventricular complex.

Noise, mixed at a per-record SNR drawn from ``snr_db``: baseline wander
(respiration, 0.05-0.5 Hz), mains hum (50 or 60 Hz), muscle noise
(band-limited, in bursts) and electrode motion (low-frequency steps and
drifts). Everything comes from one NumPy generator seeded by (seed, record):
the same config and seed give the same records, bit for bit.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from edgeml import ConfigError, Progress
from edgeml_ecg.records import SPLITS, EcgRecord, RawEcg

# Wave order in a morphology row: P, Q, R, S, T; columns: amplitude (mV), centre (s from R), width (s).
_WAVES = 5


def _settings(sense: Any) -> dict[str, Any]:
    syn = sense.synth
    out = {
        "fs": int(sense.fs), "seconds": float(syn.record_seconds),
        "records": {s: int(syn.records[s]) for s in SPLITS},
        "heart_rate_bpm": [float(v) for v in syn.heart_rate_bpm],
        "ectopy": {k: [float(a), float(b)] for k, (a, b) in syn.ectopy.items()},
        "bundle_branch_fraction": float(syn.bundle_branch_fraction),
        "snr_db": [float(v) for v in syn.snr_db],
        "lead_gain": [float(v) for v in syn.lead_gain],
    }
    if out["seconds"] < 10:
        raise ConfigError(f"app.sense.synth.record_seconds={out['seconds']} is too short: use at least 10 s")
    for s, n in out["records"].items():
        if n < 1:
            raise ConfigError(f"app.sense.synth.records.{s}={n}: every split needs at least one record")
    for k in out["ectopy"]:
        if k not in ("V", "S", "F"):
            raise ConfigError(f"app.sense.synth.ectopy has '{k}': the generator makes V, S and F ectopic beats")
    lo, hi = out["heart_rate_bpm"]
    if not 30 <= lo <= hi <= 180:
        raise ConfigError(f"app.sense.synth.heart_rate_bpm={[lo, hi]} must be within 30-180 bpm, low first")
    return out


class EcgGenerator:
    """Generates the train, val and test records (split by patient: no record is shared)."""

    def __init__(self, sense: Any, seed: int):
        self.cfg = _settings(sense)
        self.seed = int(seed)

    def generate(self, progress: Progress | None = None) -> RawEcg:
        records = []
        total = sum(self.cfg["records"].values())
        k = 0
        for split_index, split in enumerate(SPLITS):
            for i in range(self.cfg["records"][split]):
                rng = np.random.default_rng([self.seed, split_index, i])
                records.append(self.record(f"{split}{i:03d}", split, rng))
                k += 1
                if progress is not None:
                    progress.update(k, total, "ECG records (generator)")
        return RawEcg(records=records, fs=self.cfg["fs"], lead="synthetic",
                      provenance={"source": "edgeml_ecg generator", "seed": self.seed, "settings": self.cfg})

    # ------------------------------------------------------------------ one patient

    def record(self, name: str, split: str, rng: np.random.Generator) -> EcgRecord:
        cfg, fs = self.cfg, self.cfg["fs"]
        n = int(round(cfg["seconds"] * fs))
        patient = _patient(rng, cfg)
        times, kinds = _rhythm(rng, patient, cfg["seconds"])
        clean = np.zeros(n, dtype=np.float64)
        peaks, symbols = [], []
        t_axis = np.arange(n) / fs
        half = int(0.7 * fs)
        for t, kind in zip(times, kinds):
            waves = _beat_waves(rng, patient, kind)
            r = int(round(t * fs))
            lo, hi = max(0, r - half), min(n, r + half)
            rel = t_axis[lo:hi] - t
            a, mu, sd = waves[:, 0:1], waves[:, 1:2], waves[:, 2:3]
            clean[lo:hi] += (a * np.exp(-0.5 * ((rel[None, :] - mu) / sd) ** 2)).sum(axis=0)
            peaks.append(r)
            symbols.append(patient["n_symbol"] if kind == "N" else {"S": "A"}.get(kind, kind))
        clean *= patient["gain"]
        noise = _noise(rng, n, fs)
        snr_db = rng.uniform(*cfg["snr_db"])
        noise *= np.sqrt(np.var(clean) / max(np.var(noise), 1e-12) / 10 ** (snr_db / 10))
        signal = (clean + noise).astype(np.float32)
        return EcgRecord(name=name, split=split, signal=signal, peaks=np.asarray(peaks, dtype=np.int64),
                         symbols="".join(symbols))


def _patient(rng: np.random.Generator, cfg: dict[str, Any]) -> dict[str, Any]:
    """One patient's heart: rates, variability, morphologies, ectopy."""
    bbb = rng.random() < cfg["bundle_branch_fraction"]
    normal = np.array([
        [rng.uniform(0.08, 0.22), -rng.uniform(0.15, 0.21), rng.uniform(0.018, 0.03)],    # P
        [-rng.uniform(0.05, 0.2), -rng.uniform(0.025, 0.035), rng.uniform(0.008, 0.012)],  # Q
        [rng.uniform(0.9, 1.6), 0.0, rng.uniform(0.009, 0.013)],                           # R
        [-rng.uniform(0.1, 0.4), rng.uniform(0.028, 0.04), rng.uniform(0.009, 0.014)],     # S
        [rng.uniform(0.15, 0.45), rng.uniform(0.22, 0.3), rng.uniform(0.04, 0.065)],       # T
    ])
    if bbb:  # bundle branch block: a slow, notched ventricular activation
        normal[2, 2] *= rng.uniform(1.8, 2.4)
        normal[3] = [rng.uniform(0.3, 0.6) * normal[2, 0], rng.uniform(0.04, 0.06), rng.uniform(0.015, 0.022)]
        normal[4, 0] *= rng.choice([-1.0, 1.0])
    polarity = rng.choice([-1.0, 1.0], p=[0.3, 0.7])
    ventricular = np.array([
        [0.0, -0.18, 0.02],                                                                 # no P
        [-polarity * rng.uniform(0.0, 0.3), -rng.uniform(0.04, 0.06), rng.uniform(0.015, 0.025)],
        [polarity * rng.uniform(1.0, 2.2), 0.0, rng.uniform(0.025, 0.045)],                 # wide QRS
        [-polarity * rng.uniform(0.1, 0.5), rng.uniform(0.06, 0.09), rng.uniform(0.02, 0.035)],
        [-polarity * rng.uniform(0.3, 0.6), rng.uniform(0.28, 0.36), rng.uniform(0.06, 0.09)],  # discordant T
    ])
    atrial_p = np.array([rng.choice([-1.0, 1.0]) * rng.uniform(0.06, 0.2), -rng.uniform(0.11, 0.2),
                         rng.uniform(0.012, 0.025)])
    rates = {k: rng.uniform(lo, hi) for k, (lo, hi) in cfg["ectopy"].items()}
    lo, hi = cfg["heart_rate_bpm"]
    return {
        "rr": 60.0 / rng.uniform(lo, hi), "resp_hz": rng.uniform(0.15, 0.35), "resp_depth": rng.uniform(0.01, 0.06),
        "mayer_depth": rng.uniform(0.0, 0.04), "mayer_phase": rng.uniform(0, 2 * np.pi),
        "jitter": rng.uniform(0.005, 0.025), "trend": rng.uniform(-0.1, 0.1),
        "normal": normal, "ventricular": ventricular, "atrial_p": atrial_p, "n_symbol": rng.choice(["L", "R"]) if bbb else "N",
        "rates": rates, "gain": rng.uniform(*cfg["lead_gain"]),
        "v_coupling": rng.uniform(0.55, 0.72), "s_coupling": rng.uniform(0.6, 0.8),
    }


def _rhythm(rng: np.random.Generator, p: dict[str, Any], seconds: float) -> tuple[list[float], list[str]]:
    """Beat times and kinds: a modulated sinus rhythm with premature beats and their pauses."""
    def sinus_rr(t: float) -> float:
        mod = (1 + p["resp_depth"] * np.sin(2 * np.pi * p["resp_hz"] * t)
               + p["mayer_depth"] * np.sin(2 * np.pi * 0.1 * t + p["mayer_phase"])
               + p["trend"] * t / seconds)
        return p["rr"] * mod * (1 + p["jitter"] * rng.standard_normal())

    rates = p["rates"]
    times, kinds = [rng.uniform(0.3, 0.9)], ["N"]
    forced: float | None = None
    while True:
        last, rr = times[-1], sinus_rr(times[-1])
        if forced is not None:
            t, kind, forced = forced, "N", None
        else:
            u = rng.random()
            kind = "N"
            if kinds[-1] == "N":  # no ectopic right after an ectopic beat
                edges = np.cumsum([rates.get("V", 0), rates.get("S", 0), rates.get("F", 0)])
                kind = "V" if u < edges[0] else "S" if u < edges[1] else "F" if u < edges[2] else "N"
            if kind == "V":
                t = last + rr * p["v_coupling"] * rng.uniform(0.95, 1.05)
                forced = last + 2 * rr                           # full compensatory pause
            elif kind == "S":
                t = last + rr * p["s_coupling"] * rng.uniform(0.92, 1.06)   # next: one sinus cycle later
            elif kind == "F":
                t = last + rr * rng.uniform(0.93, 1.0)
            else:
                t = last + rr
        if t > seconds - 0.8:
            break
        times.append(t)
        kinds.append(kind)
    return times, kinds


def _beat_waves(rng: np.random.Generator, p: dict[str, Any], kind: str) -> np.ndarray:
    """The Gaussian waves of one beat, with beat-to-beat variation (amplitude, width, timing)."""
    if kind == "V":
        w = p["ventricular"].copy()
    elif kind == "F":
        alpha = rng.uniform(0.3, 0.7)
        w = np.vstack([p["normal"] * [alpha, 1, 1], p["ventricular"] * [1 - alpha, 1, 1]])
    else:
        w = p["normal"].copy()
        if kind == "S":
            w[0] = p["atrial_p"]
    w = w * np.column_stack([rng.normal(1, 0.06, len(w)), np.ones(len(w)), rng.normal(1, 0.05, len(w))])
    w[:, 1] += rng.normal(0, 0.003, len(w))
    return w


def _noise(rng: np.random.Generator, n: int, fs: int) -> np.ndarray:
    """Baseline wander + mains + muscle bursts + electrode motion, each at a random share."""
    t = np.arange(n) / fs
    wander = sum(rng.uniform(0.2, 1.0) * np.sin(2 * np.pi * rng.uniform(0.05, 0.5) * t + rng.uniform(0, 2 * np.pi))
                 for _ in range(3))
    mains = np.sin(2 * np.pi * rng.choice([50.0, 60.0]) * t + rng.uniform(0, 2 * np.pi))
    white = rng.standard_normal(n)
    muscle = np.convolve(white, np.ones(3) / 3, mode="same") - np.convolve(white, np.ones(15) / 15, mode="same")
    envelope = np.repeat(rng.uniform(0.2, 1.5, n // fs + 1), fs)[:n]
    muscle *= np.convolve(envelope, np.ones(fs) / fs, mode="same")
    steps = np.cumsum(rng.standard_normal(n // (fs // 4) + 1))
    motion = np.repeat(steps, fs // 4)[:n]
    motion = np.convolve(motion - motion.mean(), np.ones(fs // 2) / (fs // 2), mode="same")
    parts = [wander, mains, muscle, motion]
    shares = rng.dirichlet([2.0, 0.7, 1.5, 1.0])
    return sum(s * x / max(np.std(x), 1e-12) for s, x in zip(shares, parts))
