"""Target profiles: a microcontroller's budgets as typed data.

Profiles are config (the ``target`` group, one YAML file each); a plugin adds
one by shipping ``target/NAME.yaml`` on its config search path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from edgeml.errors import ConfigError

_REQUIRED = ("name", "core", "clock_hz", "ram_bytes", "flash_bytes",
             "model_ram_share", "model_flash_share", "active_mw")


@dataclass(frozen=True)
class LatencyModel:
    """How cycles are estimated from multiply-accumulates for this core.

    ``cycles_per_mac_by_kind`` (optional) prices each layer kind apart
    (``conv``, ``pointwise``, ``depthwise``, ``dense``); kinds it lacks cost
    ``cycles_per_mac``.
    """

    cycles_per_mac: float
    source: str
    cycles_per_mac_by_kind: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class TargetProfile:
    name: str
    core: str
    clock_hz: int
    ram_bytes: int
    flash_bytes: int
    model_ram_share: float
    model_flash_share: float
    active_mw: float
    description: str = ""
    arch: str = ""
    #: Power between inferences (deep sleep with RAM retained), for duty-cycled averages.
    sleep_mw: float | None = None
    features: Mapping[str, Any] = field(default_factory=dict)
    latency_model: LatencyModel | None = None
    compile_flags: tuple[str, ...] = ()
    power_source: str = ""
    sleep_power_source: str = ""

    @property
    def ram_budget_bytes(self) -> int:
        """RAM the model may use: the profile's share of the device's RAM."""
        return int(self.ram_bytes * self.model_ram_share)

    @property
    def flash_budget_bytes(self) -> int:
        """Flash the model may use: the profile's share of the device's flash."""
        return int(self.flash_bytes * self.model_flash_share)

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> "TargetProfile":
        """Build from a ``target`` config node; a missing or bad field is a ConfigError."""
        data = dict(cfg)
        name = data.get("name", "?")
        missing = [k for k in _REQUIRED if data.get(k) is None]
        if missing:
            raise ConfigError(
                f"target profile '{name}' lacks {', '.join(missing)}: add them to target/{name}.yaml")
        for key in ("model_ram_share", "model_flash_share"):
            if not 0 < float(data[key]) <= 1:
                raise ConfigError(f"target '{name}': {key}={data[key]} must be in (0, 1]")
        lat = data.get("latency_model")
        try:
            return cls(
                name=str(data["name"]), core=str(data["core"]),
                clock_hz=int(data["clock_hz"]), ram_bytes=int(data["ram_bytes"]),
                flash_bytes=int(data["flash_bytes"]),
                model_ram_share=float(data["model_ram_share"]),
                model_flash_share=float(data["model_flash_share"]),
                active_mw=float(data["active_mw"]),
                description=str(data.get("description", "")),
                arch=str(data.get("arch", "")),
                sleep_mw=None if data.get("sleep_mw") is None else float(data["sleep_mw"]),
                features=dict(data.get("features") or {}),
                latency_model=None if not lat else LatencyModel(
                    cycles_per_mac=float(lat["cycles_per_mac"]), source=str(lat.get("source", "")),
                    cycles_per_mac_by_kind={str(k): float(v)
                                            for k, v in (lat.get("cycles_per_mac_by_kind") or {}).items()}),
                compile_flags=tuple(data.get("compile_flags") or ()),
                power_source=str(data.get("power_source", "")),
                sleep_power_source=str(data.get("sleep_power_source", "")),
            )
        except (TypeError, ValueError, KeyError) as exc:
            raise ConfigError(f"target profile '{name}' has a bad value ({exc}): fix target/{name}.yaml") from exc


def kib(n: float) -> str:
    """Format a byte count the way budgets are quoted: ``23.1 KB`` (1 KB = 1024 B)."""
    return f"{n / 1024:.1f} KB"
