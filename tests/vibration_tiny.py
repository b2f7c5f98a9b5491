"""The vibration app made tiny for tests: real code paths, seconds not minutes.

VIBRATION_CONF is the app's shipped config (plugins/edgeml_vibration/conf/app/vibration.yaml);
TINY_VIBRATION_OVERRIDES are command-line overrides for a build through the orchestrator.
"""

from __future__ import annotations

from pathlib import Path

from omegaconf import OmegaConf

import edgeml_vibration

VIBRATION_CONF = Path(edgeml_vibration.__file__).parent / "conf" / "app" / "vibration.yaml"

TINY_VIBRATION_OVERRIDES = [
    "app.sense.per_class.train=40", "app.sense.per_class.val=8", "app.sense.per_class.test=20",
    "app.train.n_estimators=6", "app.train.max_depth=6", "app.train.min_estimators=2",
    # A tiny forest's accuracy moves by whole examples.
    "validate.max_int8_drop=0.2",
]


def app_config(**sense_overrides):
    """The shipped app config with ``sense.synth`` keys overridden (dotted keys allowed)."""
    cfg = OmegaConf.load(VIBRATION_CONF)
    for key, value in sense_overrides.items():
        OmegaConf.update(cfg, key.replace("__", "."), value)
    return cfg
