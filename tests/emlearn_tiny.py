"""Run a fitted scikit-learn model through the sklearn-c compressor and the emlearn backend, stage by stage.

For the emlearn plugin's tests and for apps that train sklearn models (ECG's
anomaly models): real compressor, real export, and the deliverable's program
built and run by the real runners (host gcc with sanitizers, and the
arm-none-eabi-gcc + unicorn emulator when asked).
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from omegaconf import OmegaConf

import edgeml
import edgeml_emlearn
from edgeml.testing import mark_finished, stage_context

ROOT = Path(__file__).resolve().parents[1]
BACKEND_CONF = Path(edgeml_emlearn.__file__).parent / "conf" / "backend" / "emlearn.yaml"


@dataclass
class EmlearnRun:
    compressed: edgeml.CompressedModel
    deliverable: edgeml.Deliverable
    runs: edgeml.ProgramRuns
    export_dir: Path

    @property
    def outputs(self) -> np.ndarray:
        """The last runner's outputs (the emulator's when it ran), shaped like the reference."""
        return self.runs.device.outputs.reshape(np.asarray(self.compressed.test_outputs).shape)


def random_features(n_features: int = 6, n_classes: int = 3, seed: int = 0, spec: dict | None = None):
    """Random inputs whose class depends on two features: learnable by any model here."""
    rng = np.random.default_rng(seed)
    x, y = {}, {}
    for split, n in (("train", 300), ("val", 40), ("test", 120)):
        xs = rng.normal(size=(n, n_features)).astype(np.float32)
        score = xs[:, 0] + 0.5 * xs[:, 1]
        x[split] = xs
        y[split] = np.digitize(score, np.quantile(score, np.linspace(0, 1, n_classes + 1)[1:-1])).astype(np.int64)
    return edgeml.FeatureSet(x=x, y=y, classes=[f"c{i}" for i in range(n_classes)], spec=spec or {})


def run_emlearn(root: Path, estimator, features: edgeml.FeatureSet, target: str = "cortex-m4",
                backend_overrides: dict | None = None, runners: tuple[str, ...] = ("host",)) -> EmlearnRun:
    """Pickle ``estimator`` as the train stage would, then compress, export and run it with ``runners``
    (the host build with AddressSanitizer and UBSan)."""
    from edgeml_emlearn.backend import EmlearnBackend
    from edgeml_emlearn.compressor import SklearnCCompressor
    from edgeml_emlearn.models import model_kind, sklearn_outputs

    backend = OmegaConf.load(BACKEND_CONF)
    for k, v in (backend_overrides or {}).items():
        backend[k] = v
    config = OmegaConf.create({"seed": 0, "compress": {"compressor": None}, "backend": backend,
                               "target": OmegaConf.load(ROOT / "params" / "target" / f"{target}.yaml"),
                               "runners": {"use": list(runners), "host": {"sanitize": True},
                                           "emulator": {"profile_examples": 4, "max_instructions": 10_000_000}}})
    root = Path(root)
    train = root / "train"
    train.mkdir(parents=True)
    (train / "model.pkl").write_bytes(pickle.dumps(estimator, protocol=4))
    mark_finished(train)
    kind = model_kind(estimator, "test")
    trained = edgeml.TrainedModel(kind="sklearn", path="model.pkl",
                                  test_outputs=sklearn_outputs(estimator, kind, features.x["test"]))
    ctx = stage_context("compress", config, root)
    compressed = SklearnCCompressor().compress(ctx, trained, features)
    compressed.save(ctx.out_dir)
    mark_finished(ctx.out_dir)
    compressed = edgeml.CompressedModel.load(ctx.out_dir)
    ctx = stage_context("export", config, root)
    deliverable = EmlearnBackend().export(ctx, compressed, features)
    deliverable.save(ctx.out_dir)
    mark_finished(ctx.out_dir)
    ctx = stage_context("validate", config, root)
    runs = ctx.run_program(deliverable.program, features.x["test"], root=ctx.input_dir("export"))
    return EmlearnRun(compressed=compressed, deliverable=deliverable, runs=runs, export_dir=root / "export")
