"""What a run and its stages look like to plugins: contexts, records, inputs to validate."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from edgeml.artifacts import CompressedModel, Deliverable, DeviceRun, FeatureSet, TrainedModel
from edgeml.errors import StageOrderError
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
    scores: dict[str, dict[str, float]]
