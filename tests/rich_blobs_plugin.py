"""The blobs pipeline with every optional part of the app contract filled in:
primary_metric, default_backend, evaluate, device_code, illustrate,
log_metrics, and a compressor that reports an intermediate level."""

from __future__ import annotations

import numpy as np

import edgeml
from blobs_plugin import ROOT, BlobsApp, BlobsPlugin, CentroidInt8
from edgeml.config import compose


class RichBlobsApp(BlobsApp):
    primary_metric = "macro_f1"
    default_backend = "pyref"

    def train(self, ctx, features):
        for epoch in range(3):
            ctx.log_metrics({"loss": 1.0 / (epoch + 1)}, step=epoch)
        return super().train(ctx, features)

    def evaluate(self, ev):
        m = edgeml.metrics.classification(ev.features.y[ev.split], ev.outputs, ev.features.classes)
        return m | {"level_seen": ev.level, "examples": len(ev.outputs)}

    def device_code(self, ctx, model, features):
        (ctx.out_dir / "blobs").mkdir()
        (ctx.out_dir / "blobs" / "features.h").write_text(f"#define BLOBS_SCALE {features.spec['scale']}f\n")
        return edgeml.DeviceCode(files=["blobs/features.h"], flash_bytes=edgeml.Figure(120, "counted by hand"),
                                 ram_bytes=edgeml.Figure(32, "8 floats"), macs=8, macs_by_kind={"float_dsp": 8})

    def illustrate(self, ctx, ev):
        (ctx.out_dir / "blobs.txt").write_text(f"{ev.level}: {len(ev.outputs)} outputs\n")
        return ["blobs.txt"]


class LevelledCompressor(CentroidInt8):
    def compress(self, ctx, model, features):
        out = super().compress(ctx, model, features)
        out.levels = {"halfway": np.asarray(model.test_outputs) * 0.5}
        return out


class Recorder:
    def __init__(self):
        self.calls = []

    @edgeml.hookimpl
    def edgeml_stage_metrics(self, run, stage, metrics, step):
        self.calls.append((stage, metrics, step))


class RichPlugin(BlobsPlugin):
    def __init__(self, conf_dir, app=None):
        super().__init__(conf_dir)
        self.app = app or RichBlobsApp()

    @edgeml.hookimpl
    def edgeml_register_apps(self):
        return [self.app]

    @edgeml.hookimpl
    def edgeml_register_compressors(self):
        return [LevelledCompressor()]


def compose_rich(registry, tmp_path, *overrides):
    return compose(["app=blobs", "target=cortex-m4", f"build_dir={tmp_path / 'build'}", "tracking.enabled=false",
                    "progress=false", *overrides], registry, ROOT)
