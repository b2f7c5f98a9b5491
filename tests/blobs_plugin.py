"""A fast, dependency-free pipeline made of inline plugins.

The "blobs" app, "centroid-int8" compressor and "pyref" backend below are
real plugins (registered through the same hooks as any other) that need
only numpy, so core's orchestration, caching, manifests, reports and
observers are tested in milliseconds. Heavier tests use the built-ins.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import edgeml


ROOT = Path(__file__).resolve().parents[1]


class BlobsApp(edgeml.App):
    name = "blobs"
    version = "1.0"
    task = "classification"
    model_kinds = ("centroids",)

    def sense(self, ctx):
        rng = np.random.default_rng(ctx.seed)
        n, k, d = int(ctx.app.sense.n), int(ctx.app.sense.classes), 8
        centers = rng.normal(0, ctx.app.sense.spread, (k, d))
        y = rng.integers(0, k, n)
        x = centers[y] + rng.normal(0, 1, (n, d))
        np.save(ctx.out_dir / "x.npy", x.astype(np.float32))
        np.save(ctx.out_dir / "y.npy", y)
        if ctx.app.sense.get("fail"):
            raise RuntimeError("sensor unplugged")
        return {"n": n}

    def preprocess(self, ctx):
        d = ctx.input_dir("sense")
        x, y = np.load(d / "x.npy"), np.load(d / "y.npy")
        x = x * float(ctx.app.preprocess.scale)
        n = len(y)
        a, b = int(n * 0.6), int(n * 0.8)
        return edgeml.FeatureSet(x={"train": x[:a], "val": x[a:b], "test": x[b:]},
                                 y={"train": y[:a], "val": y[a:b], "test": y[b:]},
                                 classes=[f"c{i}" for i in range(int(ctx.app.sense.classes))],
                                 spec={"scale": float(ctx.app.preprocess.scale)})

    def train(self, ctx, features):
        k = len(features.classes)
        cent = np.stack([features.x["train"][features.y["train"] == i].mean(0) for i in range(k)])
        cent = cent * float(ctx.app.train.shrink)
        np.save(ctx.out_dir / "centroids.npy", cent.astype(np.float32))
        scores = -((features.x["test"][:, None, :] - cent[None]) ** 2).sum(-1)
        return edgeml.TrainedModel(kind="centroids", path="centroids.npy", test_outputs=scores,
                                   metrics={"train_examples": float(len(features.y["train"]))})


def _int8_scores(x: np.ndarray, cent_q: np.ndarray, scale: float) -> np.ndarray:
    xq = np.clip(np.round(x / scale), -128, 127).astype(np.int32)
    d = ((xq[:, None, :] - cent_q[None].astype(np.int32)) ** 2).sum(-1)
    return np.clip(127 - d // 64, -128, 127).astype(np.int8)


class CentroidInt8(edgeml.Compressor):
    name = "centroid-int8"
    version = "1.0"
    input_kinds = ("centroids",)
    output_format = "centroid-int8"

    def compress(self, ctx, model, features):
        cent = np.load(ctx.input_dir("train") / model.path)
        scale = float(max(np.abs(features.x["train"]).max(), 1e-6) / 127)  # all-zero inputs stay finite
        q = np.clip(np.round(cent / scale), -128, 127).astype(np.int8)
        np.save(ctx.out_dir / "centroids_q.npy", q)
        return edgeml.CompressedModel(format="centroid-int8", path="centroids_q.npy",
                                      test_outputs=_int8_scores(features.x["test"], q, scale),
                                      reference="numpy int8 reference",
                                      macs=int(q.size), input_quant=edgeml.QuantParams(scale, 0),
                                      output_quant=edgeml.QuantParams(1.0, 0))


class PyRefBackend(edgeml.Backend):
    name = "pyref"
    version = "1.0"
    accepts = ("centroid-int8",)

    def export(self, ctx, model, features):
        q = np.load(ctx.input_dir("compress") / model.path)
        body = ",".join(str(int(v)) for v in q.ravel())
        (ctx.out_dir / "model.h").write_text(f"static const signed char centroids[] = {{{body}}};\n")
        ram = int(ctx.config.backend.ram_bytes)
        return edgeml.Deliverable(files=["model.h"], flash_bytes=edgeml.Figure(q.size, "centroid table bytes"),
                                  ram_bytes=edgeml.Figure(ram, "configured"), entry_point="none")

    def run(self, ctx, deliverable, model, features):
        q = np.load(ctx.input_dir("compress") / model.path)
        out = _int8_scores(features.x["test"], q, model.input_quant.scale)
        if ctx.config.backend.get("corrupt"):
            out = out.copy()
            out[0, 0] ^= 1
        return edgeml.DeviceRun(test_outputs=out, method="numpy")


class BlobsPlugin:
    """An inline plugin object: apps, compressor, backend and its config groups."""

    def __init__(self, conf_dir: Path):
        self.conf_dir = conf_dir

    @edgeml.hookimpl
    def edgeml_register_apps(self):
        return [BlobsApp()]

    @edgeml.hookimpl
    def edgeml_register_compressors(self):
        return [CentroidInt8()]

    @edgeml.hookimpl
    def edgeml_register_backends(self):
        return [PyRefBackend()]

    @edgeml.hookimpl
    def edgeml_config_searchpath(self):
        return [f"file://{self.conf_dir}"]


