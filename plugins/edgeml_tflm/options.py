"""The ``backend`` config node of ``backend=tflm``, typed and checked."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import edgeml


@dataclass(frozen=True)
class TflmOptions:
    search_max_bytes: int
    granularity_bytes: int
    margin_fraction: float
    margin_bytes: int
    golden_vectors: int
    alignment: int
    symbol_prefix: str
    bytes_per_line: int

    @classmethod
    def from_config(cls, backend: Any) -> "TflmOptions":
        """Read ``backend`` (params/backend/tflm.yaml); a missing or bad value is a ConfigError."""
        try:
            arena, c = backend["arena"], backend["c"]
            opts = cls(
                search_max_bytes=int(arena["search_max_bytes"]), granularity_bytes=int(arena["granularity_bytes"]),
                margin_fraction=float(arena["margin_fraction"]), margin_bytes=int(arena["margin_bytes"]),
                golden_vectors=int(backend["golden_vectors"]), alignment=int(c["alignment"]),
                symbol_prefix=str(c["symbol_prefix"]), bytes_per_line=int(c["bytes_per_line"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise edgeml.ConfigError(f"backend=tflm config lacks or mistypes {exc}: "
                                     "compare it with params/backend/tflm.yaml") from exc
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", opts.symbol_prefix):
            raise edgeml.ConfigError(f"backend.c.symbol_prefix={opts.symbol_prefix!r} is not a C identifier: "
                                     "use letters, digits and underscores")
        for key in ("alignment", "granularity_bytes"):
            value = getattr(opts, key)
            if value < 1 or value & (value - 1):
                raise edgeml.ConfigError(f"backend tflm: {key}={value} must be a power of two (16 is TFLM's)")
        if opts.margin_fraction < 0 or opts.margin_bytes < 0 or opts.golden_vectors < 0 or opts.bytes_per_line < 1:
            raise edgeml.ConfigError("backend tflm: margins and golden_vectors must be >= 0, bytes_per_line >= 1")
        if opts.search_max_bytes < opts.granularity_bytes:
            raise edgeml.ConfigError(f"backend.arena.search_max_bytes={opts.search_max_bytes} is below the "
                                     "granularity: raise it (4 MiB is plenty for a microcontroller)")
        return opts
