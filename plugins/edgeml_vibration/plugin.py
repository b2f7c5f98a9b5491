"""Registers the ``vibration`` app with edgeml (entry point ``vibration = "edgeml_vibration.plugin"``)."""

from __future__ import annotations

import edgeml
from edgeml_vibration.app import VibrationApp


@edgeml.hookimpl
def edgeml_register_apps():
    return [VibrationApp()]


@edgeml.hookimpl
def edgeml_config_searchpath():
    return ["pkg://edgeml_vibration.conf"]
