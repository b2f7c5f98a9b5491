"""Rolling-element bearing kinematics: defect frequencies from geometry.

The characteristic orders (multiples of the shaft frequency) of a bearing
with ``n_balls`` balls of diameter ``d`` on pitch diameter ``D`` and contact
angle ``phi``, outer race fixed (the textbook formulas, e.g. Randall and
Antoni, "Rolling element bearing diagnostics -- a tutorial", MSSP 2011):

* FTF (cage)       = 1/2 (1 - d/D cos phi)
* BPFO (outer race) = n/2 (1 - d/D cos phi)
* BPFI (inner race) = n/2 (1 + d/D cos phi)
* BSF (ball spin)   = D/(2d) (1 - (d/D cos phi)^2)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

from edgeml import ConfigError

#: The drive-end bearing of the CWRU test rig, SKF 6205-2RS JEM: 9 balls of
#: 0.3126 in on a 1.537 in pitch diameter (CWRU's "bearing information" page;
#: it lists BPFI 5.4152, BPFO 3.5848, FTF 0.39828, 2 x BSF 4.7135).
CWRU_DRIVE_END = {"n_balls": 9, "ball_diameter": 0.3126, "pitch_diameter": 1.537, "contact_angle_deg": 0.0}


@dataclass(frozen=True)
class BearingGeometry:
    n_balls: int
    ball_diameter: float
    pitch_diameter: float
    contact_angle_deg: float = 0.0

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any], where: str = "app.sense.bearing") -> "BearingGeometry":
        try:
            g = cls(n_balls=int(cfg["n_balls"]), ball_diameter=float(cfg["ball_diameter"]),
                    pitch_diameter=float(cfg["pitch_diameter"]),
                    contact_angle_deg=float(cfg.get("contact_angle_deg", 0.0)))
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"{where} is incomplete or not numeric ({exc}): give n_balls, ball_diameter, "
                              "pitch_diameter and contact_angle_deg") from exc
        if g.n_balls < 3 or not 0 < g.ball_diameter < g.pitch_diameter or not 0 <= g.contact_angle_deg < 90:
            raise ConfigError(f"{where} is not a bearing (n_balls={g.n_balls}, ball_diameter={g.ball_diameter}, "
                              f"pitch_diameter={g.pitch_diameter}): need n_balls >= 3, "
                              "0 < ball_diameter < pitch_diameter and 0 <= contact_angle_deg < 90")
        return g

    def orders(self) -> dict[str, float]:
        """Defect frequencies as multiples of the shaft frequency."""
        r = self.ball_diameter / self.pitch_diameter * math.cos(math.radians(self.contact_angle_deg))
        return {"ftf": 0.5 * (1 - r), "bpfo": self.n_balls / 2 * (1 - r), "bpfi": self.n_balls / 2 * (1 + r),
                "bsf": self.pitch_diameter / (2 * self.ball_diameter) * (1 - r * r)}
