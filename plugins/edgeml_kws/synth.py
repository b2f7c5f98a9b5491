"""The offline default data source: keyword, other words and silence, spoken by espeak-ng.

Each clip is one second at 16 kHz. Speech clips hold one synthesised word
(several English accents x voice variants, random speed, pitch and
intonation), resampled from 22050 Hz, trimmed, placed at a random time and
level, over background noise at a random SNR. ``_unknown_`` draws from
everyday words and from words that sound like the keyword; ``_silence_`` is
noise alone. Voice variants are assigned per split in the config, so the test
split is spoken by variants that train and val never heard.

Reproducibility: every random choice is drawn up front from one seeded
generator, all utterances are synthesised in that fixed order in one fresh
espeak-ng process (see :mod:`edgeml_kws.espeak`), and each clip is mixed from
its own noise seed. Same config + seed -> the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import metadata
from typing import Any

import numpy as np

from edgeml import ConfigError, Progress
from edgeml_kws.clips import place, resample, rms, to_int16, trim_silence
from edgeml_kws.espeak import ESPEAK_RATE_HZ, SpeechWorker, Utterance
from edgeml_kws.noise import NOISE_KINDS, make_noise
from edgeml_kws.raw_dataset import SILENCE, SPLITS, UNKNOWN, ClipFormat, RawDataset

_CHUNK = 200  # utterances per request to the worker: the progress granularity


@dataclass(frozen=True)
class ClipPlan:
    """Everything random about one clip, drawn before any audio exists."""

    label: int
    utterance: Utterance | None  # None: a silence clip
    position: float
    peak_dbfs: float
    snr_db: float
    silence_rms_dbfs: float
    noise_kind: str
    noise_seed: int


def _uniform_int(rng: np.random.Generator, bounds: Any) -> int:
    lo, hi = int(bounds[0]), int(bounds[1])
    return int(rng.integers(lo, hi + 1))


def _uniform(rng: np.random.Generator, bounds: Any) -> float:
    return float(rng.uniform(float(bounds[0]), float(bounds[1])))


class SpeechGenerator:
    """Plans, synthesises and mixes the three splits from ``app.sense``."""

    def __init__(self, sense: Any, seed: int):
        self.cfg = sense
        self.seed = int(seed)
        fmt = ClipFormat.from_sense(sense)
        self.keywords, self.classes = fmt.keywords, fmt.classes
        self.sample_rate, self.clip_samples = fmt.sample_rate, fmt.clip_samples
        synth = sense.synth
        self.languages = [str(v) for v in synth.languages]
        self.variants = {s: [str(v) for v in synth.variants[s]] for s in SPLITS}
        self.unknown_words = [str(w) for w in synth.unknown_words]
        self.confusables = [str(w) for w in synth.confusable_words]
        self.noise_kinds = [str(k) for k in synth.noise_kinds]
        self._check()

    def _check(self) -> None:
        where = "params/app/kws.yaml (app.sense)"
        if not self.keywords:
            raise ConfigError(f"app.sense.keywords is empty: list at least one keyword in {where}")
        clash = sorted(set(self.keywords) & set(self.unknown_words + self.confusables))
        if clash:
            raise ConfigError(f"keyword(s) {', '.join(clash)} also listed as unknown words: remove them from "
                              f"app.sense.synth.unknown_words/confusable_words in {where}")
        for name, values in (("languages", self.languages), ("unknown_words", self.unknown_words),
                             *((f"variants.{s}", self.variants[s]) for s in SPLITS)):
            if not values:
                raise ConfigError(f"app.sense.synth.{name} is empty: list at least one in {where}")
        bad = [k for k in self.noise_kinds if k not in NOISE_KINDS]
        if bad:
            raise ConfigError(f"unknown noise kind(s) {', '.join(bad)} in app.sense.synth.noise_kinds: "
                              f"choose from {', '.join(NOISE_KINDS)}")

    # ------------------------------------------------------------------ plan

    def _utterance(self, rng: np.random.Generator, split: str, word: str) -> Utterance:
        synth = self.cfg.synth
        voice = f"{self.languages[int(rng.integers(len(self.languages)))]}+" \
                f"{self.variants[split][int(rng.integers(len(self.variants[split])))]}"
        punct = [str(p) for p in synth.punctuation] or [""]
        text = word + punct[int(rng.integers(len(punct)))]
        return Utterance(text=text, voice=voice, rate_wpm=_uniform_int(rng, synth.rate_wpm),
                         pitch=_uniform_int(rng, synth.pitch), pitch_range=_uniform_int(rng, synth.pitch_range),
                         seed=int(rng.integers(1, 2**31 - 1)))

    def _other_word(self, rng: np.random.Generator) -> str:
        if self.confusables and rng.random() < float(self.cfg.synth.confusable_fraction):
            return self.confusables[int(rng.integers(len(self.confusables)))]
        return self.unknown_words[int(rng.integers(len(self.unknown_words)))]

    def plan(self, split: str, rng: np.random.Generator) -> tuple[list[Utterance], list[ClipPlan]]:
        """The babble bank and the clips of one split, in their final order."""
        synth = self.cfg.synth
        bank = [self._utterance(rng, split, self._other_word(rng)) for _ in range(int(synth.babble_bank))]
        labels = np.repeat(np.arange(len(self.classes)), int(self.cfg.per_class[split]))
        labels = labels[rng.permutation(len(labels))]
        clips = []
        for label in labels:
            name = self.classes[int(label)]
            utt = None
            if name == UNKNOWN:
                utt = self._utterance(rng, split, self._other_word(rng))
            elif name != SILENCE:
                utt = self._utterance(rng, split, name)
            clips.append(ClipPlan(
                label=int(label), utterance=utt, position=float(rng.random()),
                peak_dbfs=_uniform(rng, synth.speech_peak_dbfs), snr_db=_uniform(rng, synth.snr_db),
                silence_rms_dbfs=_uniform(rng, synth.silence_rms_dbfs),
                noise_kind=self.noise_kinds[int(rng.integers(len(self.noise_kinds)))] if self.noise_kinds else "",
                noise_seed=int(rng.integers(0, 2**63 - 1))))
        return bank, clips

    # ------------------------------------------------------------------ audio

    def _speech(self, wave: np.ndarray) -> np.ndarray:
        x = resample(wave.astype(np.float64) / 32768.0, ESPEAK_RATE_HZ, self.sample_rate)
        return trim_silence(x, self.sample_rate)

    def _mix(self, plan: ClipPlan, speech: np.ndarray | None, bank: list[np.ndarray]) -> np.ndarray:
        rng = np.random.default_rng(plan.noise_seed)
        n = self.clip_samples
        noise = make_noise(plan.noise_kind, rng, n, self.sample_rate, bank) if plan.noise_kind else np.zeros(n)
        if speech is None or len(speech) == 0:
            return to_int16(noise * 10 ** (plan.silence_rms_dbfs / 20))
        speech = speech / np.abs(speech).max() * 10 ** (plan.peak_dbfs / 20)
        clip = place(speech, n, plan.position)
        return to_int16(clip + noise * rms(speech) / 10 ** (plan.snr_db / 20))

    def generate(self, progress: Progress) -> RawDataset:
        rng = np.random.default_rng([self.seed, 0x6B7773])
        plans = {split: self.plan(split, rng) for split in SPLITS}
        jobs = [u for split in SPLITS for u in plans[split][0] + [c.utterance for c in plans[split][1] if c.utterance]]
        waves: list[np.ndarray] = []
        with SpeechWorker() as worker:
            for start in range(0, len(jobs), _CHUNK):
                waves += worker.say(jobs[start:start + _CHUNK])
                progress.update(len(waves), len(jobs), "synthesise speech (espeak-ng)")
        audio, labels = {}, {}
        it = iter(waves)
        done, total = 0, sum(len(plans[s][1]) for s in SPLITS)
        for split in SPLITS:
            bank_plan, clip_plans = plans[split]
            bank = [self._speech(next(it)) for _ in bank_plan]
            bank = [b for b in bank if len(b)]
            out = np.zeros((len(clip_plans), self.clip_samples), np.int16)
            for i, plan in enumerate(clip_plans):
                speech = self._speech(next(it)) if plan.utterance else None
                out[i] = self._mix(plan, speech, bank)
                done += 1
                if done % 500 == 0 or done == total:
                    progress.update(done, total, "mix clips")
            audio[split] = out
            labels[split] = np.array([c.label for c in clip_plans], np.int64)
        return RawDataset(audio=audio, labels=labels, classes=self.classes, sample_rate=self.sample_rate,
                          provenance=self.provenance())

    def provenance(self) -> dict[str, Any]:
        try:
            loader = metadata.version("espeakng-loader")
        except metadata.PackageNotFoundError:  # pragma: no cover - the worker would have failed first
            loader = "unknown"
        held_out = not (set(self.variants["test"]) & set(self.variants["train"] + self.variants["val"]))
        return {"source": "synthetic", "generator": "espeak-ng via espeakng-loader", "espeakng_loader": loader,
                "seed": self.seed, "resampling": f"scipy.signal.resample_poly {ESPEAK_RATE_HZ}->{self.sample_rate}",
                "test_variants_held_out": held_out,
                "note": "voice variants are assigned per split (app.sense.synth.variants); accents are shared"}
