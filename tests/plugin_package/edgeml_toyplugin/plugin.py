"""Hook implementations of the toy plugin: only edgeml's public API is used."""

from __future__ import annotations

import json
import os

import numpy as np

import edgeml

WAVES = ("sine", "square", "sawtooth")


class ToyApp(edgeml.App):
    name = "toy"
    version = "0.4.0"
    description = "classify sine, square and sawtooth waves"
    task = "classification"
    model_kinds = ("keras",)
    primary_metric = "balanced_accuracy"

    def sense(self, ctx):
        cfg = ctx.app.sense
        rng = np.random.default_rng(ctx.seed)
        n, length = int(cfg.per_class), int(cfg.length)
        t = np.arange(length)
        xs, ys = [], []
        for label in range(len(WAVES)):
            for _ in range(n):
                phase = rng.uniform(0, 1) + t * rng.uniform(0.03, 0.12)
                frac = phase % 1.0
                wave = [np.sin(2 * np.pi * frac), np.sign(np.sin(2 * np.pi * frac)), 2 * frac - 1][label]
                xs.append(wave + rng.normal(0, float(cfg.noise), length))
                ys.append(label)
        order = rng.permutation(len(ys))
        np.save(ctx.out_dir / "x.npy", np.asarray(xs, np.float32)[order])
        np.save(ctx.out_dir / "y.npy", np.asarray(ys, np.int64)[order])
        return {"examples": float(len(ys))}

    def preprocess(self, ctx):
        d = ctx.input_dir("sense")
        x = np.load(d / "x.npy")[:, :, None, None] * float(ctx.app.preprocess.scale)
        y = np.load(d / "y.npy")
        a, b = int(len(y) * 0.6), int(len(y) * 0.8)
        return edgeml.FeatureSet(x={"train": x[:a], "val": x[a:b], "test": x[b:]},
                                 y={"train": y[:a], "val": y[a:b], "test": y[b:]},
                                 classes=list(WAVES), spec={"raw_samples": int(x.shape[1])})

    def train(self, ctx, features):
        import keras
        import tensorflow as tf

        keras.utils.set_random_seed(ctx.seed)
        tf.config.experimental.enable_op_determinism()
        inp = keras.Input(features.input_shape)
        h = keras.layers.Conv2D(8, (5, 1), strides=(2, 1), padding="same", activation="relu")(inp)
        h = keras.layers.Conv2D(8, (3, 1), padding="same", activation="relu")(h)
        h = keras.layers.GlobalAveragePooling2D(keepdims=True)(h)
        h = keras.layers.Conv2D(len(WAVES), 1)(h)
        out = keras.layers.Softmax()(keras.layers.Reshape((len(WAVES),))(h))
        model = keras.Model(inp, out)
        model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        for epoch in range(int(ctx.app.train.epochs)):
            hist = model.fit(features.x["train"], features.y["train"], epochs=epoch + 1, initial_epoch=epoch,
                             batch_size=int(ctx.app.train.batch_size), verbose=0, shuffle=False)
            ctx.log_metrics({"loss": hist.history["loss"][-1]}, step=epoch)
        model.save(ctx.out_dir / "model.keras")
        return edgeml.TrainedModel(kind="keras", path="model.keras",
                                   test_outputs=model.predict(features.x["test"], verbose=0))

    def evaluate(self, ev):
        m = edgeml.metrics.classification(ev.features.y[ev.split], ev.outputs, ev.features.classes)
        m["balanced_accuracy"] = float(np.mean([c["recall"] for c in m["per_class"].values()]))
        return m

    def device_code(self, ctx, model, features):
        (ctx.out_dir / "toy").mkdir()
        (ctx.out_dir / "toy" / "toy_features.h").write_text(
            f"#define TOY_SCALE {float(ctx.app.preprocess.scale)}f  /* multiply raw samples by this */\n")
        return ["toy/toy_features.h"]


@edgeml.hookimpl
def edgeml_register_apps():
    return [ToyApp()]


@edgeml.hookimpl
def edgeml_config_searchpath():
    return ["pkg://edgeml_toyplugin.conf"]


@edgeml.hookimpl
def edgeml_validate(validation):
    if validation.config.app.name != "toy":
        return []  # every plugin's checks see every build: judge only our own app
    outs = np.asarray(validation.device.test_outputs)
    varies = bool(len(np.unique(outs.argmax(axis=1))) > 1)
    return [edgeml.Check(name="toy.outputs_vary", passed=varies, blocking=False,
                         message=f"device predicts {len(np.unique(outs.argmax(axis=1)))} distinct classes")]


def _event(name, **fields):
    path = os.environ.get("EDGEML_TOY_EVENTS")
    if path:
        with open(path, "a") as f:
            f.write(json.dumps({"event": name, **fields}) + "\n")


@edgeml.hookimpl
def edgeml_run_started(run):
    _event("run_started", mode=run.mode, stages=run.stages)


@edgeml.hookimpl
def edgeml_stage_finished(run, record):
    _event("stage_finished", stage=record.stage, cached=record.cached)


@edgeml.hookimpl
def edgeml_stage_metrics(run, stage, metrics, step):
    _event("stage_metrics", stage=stage, step=step, keys=sorted(metrics))


@edgeml.hookimpl
def edgeml_run_finished(run, report):
    _event("run_finished", passed=None if report is None else report["passed"])
