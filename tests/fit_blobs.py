"""The blobs pipeline with knobs, for edgeml fit tests: a ranked app and its config dir."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import edgeml
from blobs_plugin import BlobsApp, BlobsPlugin
from edgeml.testing import registry_with

KNOBS = ("knobs:\n"
         "  app.preprocess.scale: {type: float, low: 0.5, high: 2.0, step: 0.5}\n"
         "  app.train.shrink: {choices: [0.5, 1.0]}\n"
         "  backend.ram_bytes: {choices: [1000, 5000000]}\n"
         "fit:\n"
         "  probe: {app.train.mode: probe}\n"
         "  rank: {app.train.mode: rank}\n")


class RankedBlobs(BlobsApp):
    """Blobs whose train stage reports the validation accuracy that fit ranks on."""

    def train(self, ctx, features):
        model = super().train(ctx, features)
        cent = np.load(ctx.out_dir / model.path)
        val = -((features.x["val"][:, None, :] - cent[None]) ** 2).sum(-1)
        model.metrics["val.accuracy"] = float(np.mean(val.argmax(1) == features.y["val"]))
        model.metrics["trained_as"] = 1.0 if ctx.app.train.mode == "rank" else 0.0
        return model


class FitPlugin(BlobsPlugin):
    @edgeml.hookimpl
    def edgeml_register_apps(self):
        return [RankedBlobs()]


def fit_setup_in(tmp_path: Path):
    """(registry, base overrides, tmp_path) for a 6-trial search of the blobs knobs under tmp_path."""
    conf = tmp_path / "conf"
    (conf / "app").mkdir(parents=True)
    (conf / "backend").mkdir()
    (conf / "app" / "blobs.yaml").write_text(
        "name: blobs\ndata_dir: null\nsense: {n: 300, classes: 3, spread: 1.5, fail: false}\n"
        "preprocess: {scale: 1.0}\ntrain: {shrink: 1.0, mode: full}\n" + KNOBS)
    (conf / "backend" / "pyref.yaml").write_text("name: pyref\nram_bytes: 1000\ncorrupt: false\n")
    registry = registry_with(FitPlugin(conf))
    base = ["app=blobs", "backend=pyref", "target=cortex-m4", f"build_dir={tmp_path / 'b'}",
            "tracking.enabled=false", "fit.trials=6"]
    return registry, base, tmp_path
