"""The typed schema of edgeml's own config keys, checked by Hydra at composition.

``seed=abc`` or ``validate.max_int8_drop=lots`` fails when the config is
composed, naming the key, instead of hours later in the validate stage.
The ``app``, ``target`` and ``backend`` groups belong to plugins and are
checked by them (``App.check``, ``Backend.check``) and by
:class:`edgeml.TargetProfile`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

SCHEMA_NAME = "edgeml_schema"


@dataclass
class PruneConfig:
    fraction: float = 0.0
    fine_tune_epochs: int = 4
    learning_rate: float = 0.001
    batch_size: int = 64


@dataclass
class QatConfig:
    enabled: bool = False
    epochs: int = 4
    learning_rate: float = 0.0005
    batch_size: int = 64


@dataclass
class CompressConfig:
    compressor: Optional[str] = None
    representative_samples: int = 300
    prune: PruneConfig = field(default_factory=PruneConfig)
    qat: QatConfig = field(default_factory=QatConfig)


@dataclass
class FitConfig:
    trials: int = 16


@dataclass
class ValidateConfig:
    require_bit_exact: bool = True
    max_int8_drop: float = 0.02
    max_latency_ms: Optional[float] = None
    rate_hz: Optional[float] = None
    max_power_mw: Optional[float] = None


@dataclass
class TrackingConfig:
    enabled: bool = True
    uri: Optional[str] = None
    experiment: str = "edgeml"


@dataclass
class EdgemlConfig:
    app: Any = None
    target: Any = None
    backend: Any = None
    seed: int = 0
    build_dir: Optional[str] = None
    compress: CompressConfig = field(default_factory=CompressConfig)
    validate: ValidateConfig = field(default_factory=ValidateConfig)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    fit: FitConfig = field(default_factory=FitConfig)
    # ``use``: runner names in order; the other keys are each runner's own options (``runners.NAME``).
    runners: Any = field(default_factory=lambda: {"use": ["host"]})
    progress: bool = True


def register() -> None:
    """Put the schema in Hydra's ConfigStore (idempotent); params/config.yaml lists it first."""
    from hydra.core.config_store import ConfigStore

    ConfigStore.instance().store(name=SCHEMA_NAME, node=EdgemlConfig)
