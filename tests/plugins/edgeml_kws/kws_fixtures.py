"""Helpers and fixtures for the kws tests: stage contexts over params/app/kws.yaml with small
overrides, tiny datasets.

Not a conftest.py: test modules import the fixtures they use from here, under one unambiguous name.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf

import edgeml
from edgeml import testing
from edgeml.run import StageContext
from edgeml_kws.app import KwsApp
from edgeml_kws.raw_dataset import RawDataset

ROOT = Path(__file__).resolve().parents[3]

#: A synthetic dataset small enough for a test: 8/3/3 clips per class.
TINY_SENSE = ["app.sense.per_class.train=8", "app.sense.per_class.val=3", "app.sense.per_class.test=3",
              "app.sense.synth.babble_bank=4"]


def kws_config(*overrides: str, seed: int = 0):
    cfg = OmegaConf.create({"seed": seed, "app": OmegaConf.load(ROOT / "params/app/kws.yaml"),
                            "target": OmegaConf.load(ROOT / "params/target/cortex-m4.yaml")})
    return OmegaConf.merge(cfg, OmegaConf.from_dotlist(list(overrides)))


def stage_context(build: Path, stage: str, cfg) -> StageContext:
    """A context whose out_dir is build/stage (the test marks it finished with finish())."""
    return testing.stage_context(stage, cfg, build, seed=int(cfg.seed))


def finish(ctx: StageContext) -> None:
    """Mark a hand-run stage finished so downstream ctx.input_dir() accepts it."""
    testing.mark_finished(ctx.out_dir)


def noise_dataset(n_per_class: int = 6, seed: int = 0) -> RawDataset:
    """Three classes a tiny model can tell apart: silence, low and high tones in noise (no espeak needed)."""
    rng = np.random.default_rng(seed)
    t = np.arange(16000) / 16000
    audio, labels = {}, {}
    for split in ("train", "val", "test"):
        ys = np.repeat(np.arange(3), n_per_class)
        clips = []
        for y in ys:
            x = 0.01 * rng.standard_normal(16000)
            if y:
                x += 0.3 * np.sin(2 * np.pi * (300 if y == 1 else 2000) * t + rng.uniform(0, 6))
            clips.append(np.round(x * 32767).astype(np.int16))
        audio[split], labels[split] = np.stack(clips), ys.astype(np.int64)
    return RawDataset(audio=audio, labels=labels, classes=["_silence_", "_unknown_", "go"], sample_rate=16000,
                      provenance={"source": "test tones"})


@pytest.fixture
def app() -> KwsApp:
    return KwsApp()


@pytest.fixture
def tones_features(tmp_path, app):
    """The preprocess stage's FeatureSet over noise_dataset(), and the build dir."""
    cfg = kws_config()
    sense = stage_context(tmp_path, "sense", cfg)
    noise_dataset().save(sense.out_dir)
    finish(sense)
    ctx = stage_context(tmp_path, "preprocess", cfg)
    return app.preprocess(ctx), tmp_path
