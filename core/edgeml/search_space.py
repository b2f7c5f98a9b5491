"""What ``edgeml fit`` searches: the knobs an app declares in config, and the limits a candidate must meet.

Knobs are config paths (Hydra override keys) with a range or choices, read
from the composed config's ``knobs`` node; limits are the target's model
flash and RAM budgets and the deployment's latency requirement. The search
itself is :mod:`edgeml.fit`.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any

from omegaconf import DictConfig, OmegaConf

from edgeml.errors import ConfigError

_ABSENT = object()


@dataclass(frozen=True)
class Knob:
    """One searched config path: an integer or float range, or a list of choices."""

    path: str
    kind: str                         # "int", "float" or "choice"
    low: float | None = None
    high: float | None = None
    step: float | None = None
    log: bool = False
    choices: tuple[Any, ...] = ()

    @classmethod
    def parse(cls, path: str, spec: Any, where: str) -> "Knob":
        bad = f"knob {path} in {where}"
        if not isinstance(spec, dict):
            raise ConfigError(f"{bad} is {spec!r}: give {{type: int, low: A, high: B}} or {{choices: [...]}}")
        if "choices" in spec:
            choices = tuple(spec["choices"] or ())
            if not choices:
                raise ConfigError(f"{bad} has no choices: list at least one value")
            return cls(path, "choice", choices=choices)
        kind = str(spec.get("type", "int"))
        if kind not in ("int", "float") or spec.get("low") is None or spec.get("high") is None:
            raise ConfigError(f"{bad} needs type int or float with low and high (or choices): got {spec}")
        low, high = float(spec["low"]), float(spec["high"])
        if low > high:
            raise ConfigError(f"{bad} has low {low:g} > high {high:g}: swap them")
        return cls(path, kind, low=low, high=high, step=spec.get("step"), log=bool(spec.get("log", False)))

    def suggest(self, trial: Any) -> Any:
        if self.kind == "choice":
            labels = [_label(c) for c in self.choices]
            return self.choices[labels.index(trial.suggest_categorical(self.path, labels))]
        if self.kind == "int":
            return trial.suggest_int(self.path, int(self.low), int(self.high), step=int(self.step or 1), log=self.log)
        return trial.suggest_float(self.path, self.low, self.high, step=self.step, log=self.log)

    def param(self, value: Any) -> Any:
        """``value`` as Optuna stores it (to enqueue the configured default)."""
        return _label(value) if self.kind == "choice" else value

    def contains(self, value: Any) -> bool:
        if self.kind == "choice":
            return _label(value) in [_label(c) for c in self.choices]
        return isinstance(value, (int, float)) and not isinstance(value, bool) and self.low <= value <= self.high

    def to_json(self) -> dict[str, Any]:
        if self.kind == "choice":
            return {"choices": list(self.choices)}
        out: dict[str, Any] = {"type": self.kind, "low": self.low, "high": self.high}
        if self.step is not None:
            out["step"] = self.step
        if self.log:
            out["log"] = True
        return out


def _label(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def hydra_value(value: Any) -> str:
    """A value as Hydra override syntax: ``[16,16]``, ``true``, ``null``, ``0.5``, ``'a b'``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(hydra_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}:{hydra_value(v)}" for k, v in value.items()) + "}"
    text = str(value)
    return text if text.replace("_", "").replace("-", "").replace(".", "").isalnum() else "'" + text.replace("'", "\\'") + "'"


def override_key(override: str) -> str:
    return override.split("=", 1)[0].lstrip("+~")


def as_overrides(node: Any, where: str) -> list[str]:
    if node is None:
        return []
    data = OmegaConf.to_container(node, resolve=True) if OmegaConf.is_config(node) else node
    if not isinstance(data, dict):
        raise ConfigError(f"{where} must map config paths to values (e.g. {{app.train.epochs: 4}}), got {data!r}")
    return [f"{k}={hydra_value(v)}" for k, v in data.items()]


def declared_knobs(config: DictConfig) -> list[Knob]:
    """The app's ``knobs`` node, checked: every path must exist in the composed config."""
    node = config.app.get("knobs")
    where = f"app/{config.app.name}.yaml"
    if node is None:
        return []
    data = OmegaConf.to_container(node, resolve=True)
    if not isinstance(data, dict):
        raise ConfigError(f"knobs in {where} must map config paths to ranges, got {data!r}")
    knobs = []
    for path, spec in data.items():
        if OmegaConf.select(config, str(path), default=_ABSENT) is _ABSENT:
            raise ConfigError(f"knob {path} in {where} names no config key: use a full path such as "
                              "app.train.model.width (see `edgeml config`)")
        knobs.append(Knob.parse(str(path), spec, where))
    return knobs


@dataclass
class Limits:
    flash_bytes: int
    ram_bytes: int
    latency_ms: float | None

    def excess(self, measured: dict[str, Any]) -> dict[str, float]:
        """How far over each limit (0 when within): bytes for memory, ms for latency."""
        out = {"flash_bytes": max(0.0, measured["flash_bytes"] - self.flash_bytes),
               "ram_bytes": max(0.0, measured["ram_bytes"] - self.ram_bytes), "latency_ms": 0.0}
        if self.latency_ms is not None:
            lat = measured.get("latency_ms")
            out["latency_ms"] = float("inf") if lat is None else max(0.0, lat - self.latency_ms)
        return out

    def usage(self, measured: dict[str, Any]) -> dict[str, float]:
        """The share of each limit a candidate uses (1.0 = exactly at the limit)."""
        out = {"flash_bytes": measured["flash_bytes"] / self.flash_bytes,
               "ram_bytes": measured["ram_bytes"] / self.ram_bytes}
        if self.latency_ms is not None and measured.get("latency_ms") is not None:
            out["latency_ms"] = measured["latency_ms"] / self.latency_ms
        return out

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)
