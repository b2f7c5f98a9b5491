"""What a run and its stages look like to plugins: contexts, records, inputs to validate."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
from omegaconf import DictConfig

from edgeml.artifacts import CompressedModel, Deliverable, DeviceRun, FeatureSet, TrainedModel
from edgeml.errors import StageOrderError
from edgeml.programs import Program, ProgramRuns
from edgeml.progress import Progress
from edgeml.targets import TargetProfile


@dataclass
class RunInfo:
    """One invocation of ``edgeml run`` (mode "run") or ``edgeml stage`` (mode "stage")."""

    config: DictConfig
    build_dir: Path
    mode: str
    stages: list[str]
    tracking: dict[str, Any] = field(default_factory=dict)


@dataclass
class StageRecord:
    """The outcome of one stage: ran or cached, how long, its metrics."""

    stage: str
    stage_dir: Path
    cached: bool
    seconds: float
    metrics: dict[str, float] = field(default_factory=dict)


@dataclass
class StageContext:
    """Everything a stage method may read, and the one directory it may write.

    ``config`` is the whole composed config (read-only); ``app`` is its
    ``app`` node. ``out_dir`` is a fresh temporary directory that becomes the
    stage directory only when the stage succeeds.
    """

    stage: str
    config: DictConfig
    out_dir: Path
    build_dir: Path
    target: TargetProfile
    seed: int
    progress: Progress
    #: Set by the orchestrator: forwards to the ``edgeml_stage_metrics`` observers.
    metrics_sink: Callable[[dict[str, float], int], None] | None = None
    #: Set by the orchestrator: the build's plugin registry (runners, C libraries).
    registry: Any = None

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        """Send figures of a long computation (per-epoch loss, validation
        score) to the trackers as they happen, at ``step`` (e.g. the epoch).
        A stage's final metrics are its return value; this is for curves."""
        if self.metrics_sink is not None:
            self.metrics_sink({str(k): float(v) for k, v in metrics.items()}, int(step))

    def run_program(self, program: Program, inputs: np.ndarray, root: Path | None = None) -> ProgramRuns:
        """Build ``program`` (its files under ``root``, default ``out_dir``) with
        every runner in ``runners.use`` that supports the target, and put each
        row of ``inputs`` through its entry point.

        This is how an app measures its device code on the target: compare
        each run's outputs with the features it computed in Python, and put
        the measured run's flash, RAM and cycles (:meth:`ProgramRuns.measured`)
        in the :class:`edgeml.DeviceCode` it returns. What the runners build
        (firmware image, map file) is kept under ``out_dir/firmware/NAME/``."""
        from edgeml.plugins import load_registry
        from edgeml.runners import run_program

        from edgeml.metrics import flatten

        if self.registry is None:
            self.registry = load_registry()
        runs = run_program(program, inputs, root=Path(root or self.out_dir),
                           work_dir=self.out_dir / "firmware" / program.name, config=self.config,
                           registry=self.registry, target=self.target, progress=self.progress,
                           label=f"{self.stage}/firmware/{program.name}")
        # Wall-clock figures go to the trackers only: artifacts stay byte-identical.
        timing = {f"runner.{program.name}.{name}.{k}": v for name, run in runs.runs.items()
                  for k, v in flatten(run.timing).items() if isinstance(v, (int, float))}
        if timing:
            self.log_metrics(timing, step=0)
        return runs

    @property
    def app(self) -> DictConfig:
        return self.config.app

    def input_dir(self, stage: str) -> Path:
        """The finished directory of an upstream stage."""
        d = self.build_dir / stage
        if not (d / "manifest.json").is_file():
            raise StageOrderError(f"stage '{stage}' has not finished in {self.build_dir}: run `edgeml stage {stage}` first")
        return d


@dataclass
class Evaluation:
    """One level of a build to score with :meth:`edgeml.App.evaluate`.

    ``level`` is ``float``, an intermediate model the compressor reported
    (``onnx``, ``pruned``...), ``int8`` or ``device``. ``outputs`` are real
    values (INT8 outputs already dequantized), one row per example of
    ``split``. ``trained.info`` carries what the train stage decided (a
    threshold, a grid size).
    """

    level: str
    outputs: np.ndarray
    features: FeatureSet
    trained: TrainedModel
    config: DictConfig
    split: str = "test"


@dataclass
class ValidationInput:
    """What ``edgeml_validate`` implementations judge."""

    config: DictConfig
    target: TargetProfile
    task: str
    features: FeatureSet
    trained: TrainedModel
    compressed: CompressedModel
    deliverable: Deliverable
    device: DeviceRun
    latency_cycles: float | None
    #: The metrics block: level -> :meth:`App.evaluate` result, in build order.
    scores: dict[str, dict[str, Any]]
    #: The app's primary metric, a key of every ``scores`` level.
    primary: str = "accuracy"
