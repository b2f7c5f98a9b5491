"""A tiny trained Keras conv model and a random feature set, built in seconds.

Shared by the tflite and tflm plugin tests (a module, not a conftest, so it
imports under one unambiguous name)."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from omegaconf import OmegaConf

import edgeml
from edgeml.run import StageContext
from edgeml.testing import mark_finished

ROOT = Path(__file__).resolve().parents[1]
INPUT_SHAPE = (12, 8, 1)
CLASSES = ["low", "mid", "high"]


@dataclass
class TinyBuild:
    build_dir: Path
    features: edgeml.FeatureSet
    trained: edgeml.TrainedModel
    config: object
    target: edgeml.TargetProfile

    def finish(self, stage: str, out_dir: Path) -> Path:
        """Move a stage's output where ``ctx.input_dir`` looks for it, and mark it finished."""
        final = self.build_dir / stage
        if final.exists():
            shutil.rmtree(final)
        shutil.move(str(out_dir), final)
        mark_finished(final)
        return final

    def compress(self) -> edgeml.CompressedModel:
        """The real tflite-int8 compressor on this build, saved as the finished compress stage."""
        from edgeml_tflite.compressor import TfliteInt8Compressor

        ctx = self.ctx("compress")
        TfliteInt8Compressor().compress(ctx, self.trained, self.features).save(ctx.out_dir)
        return edgeml.CompressedModel.load(self.finish("compress", ctx.out_dir))

    def ctx(self, stage: str, seed: int = 0) -> StageContext:
        out = Path(tempfile.mkdtemp(prefix=f"{stage}-", dir=self.build_dir))
        return StageContext(stage=stage, config=self.config, out_dir=out, build_dir=self.build_dir,
                            target=self.target, seed=seed, progress=edgeml.Progress(enabled=False))


def tiny_features(seed: int = 0) -> edgeml.FeatureSet:
    """Random inputs whose class is the energy tercile of one region: learnable in a few epochs."""
    rng = np.random.default_rng(seed)
    x, y = {}, {}
    for split, n in (("train", 192), ("val", 32), ("test", 60)):
        xs = rng.normal(size=(n, *INPUT_SHAPE)).astype(np.float32) * rng.uniform(0.3, 2.0, size=(n, 1, 1, 1))
        energy = np.abs(xs[:, :6]).mean(axis=(1, 2, 3))
        x[split], y[split] = xs.astype(np.float32), np.digitize(energy, [0.5, 1.0]).astype(np.int64)
    return edgeml.FeatureSet(x=x, y=y, classes=list(CLASSES), spec={"kind": "random test features"})


def tiny_keras_model():
    """Conv -> BN -> ReLU -> depthwise -> BN -> ReLU -> 1x1 conv -> global average -> softmax."""
    import keras

    keras.utils.set_random_seed(0)
    return keras.Sequential([
        keras.Input(INPUT_SHAPE),
        keras.layers.Conv2D(4, 3, padding="same", use_bias=False),
        keras.layers.BatchNormalization(),
        keras.layers.ReLU(),
        keras.layers.DepthwiseConv2D(3, padding="same", use_bias=False),
        keras.layers.BatchNormalization(),
        keras.layers.ReLU(),
        keras.layers.Conv2D(len(CLASSES), 1),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Softmax(),
    ])


#: MACs of tiny_keras_model by hand: conv 3x3 (1 -> 4), depthwise 3x3 (4), conv 1x1 (4 -> 3).
TINY_MACS = 12 * 8 * 4 * (3 * 3 * 1) + 12 * 8 * 4 * (3 * 3) + 12 * 8 * 3 * (1 * 1 * 4)


def make_tiny_build(root: Path) -> TinyBuild:
    features = tiny_features()
    model = tiny_keras_model()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(features.x["train"], features.y["train"], epochs=3, batch_size=32, verbose=0)
    train_dir = root / "train"
    train_dir.mkdir(parents=True)
    model.save(train_dir / "model.keras")
    mark_finished(train_dir)
    trained = edgeml.TrainedModel(kind="keras", path="model.keras",
                                  test_outputs=model.predict(features.x["test"], verbose=0))
    config = OmegaConf.create({
        "seed": 0, "compress": {"compressor": None, "representative_samples": 64},
        "backend": OmegaConf.load(ROOT / "params" / "backend" / "tflm.yaml")})
    target = edgeml.TargetProfile.from_config(OmegaConf.load(ROOT / "params" / "target" / "cortex-m4.yaml"))
    return TinyBuild(build_dir=root, features=features, trained=trained, config=config, target=target)
