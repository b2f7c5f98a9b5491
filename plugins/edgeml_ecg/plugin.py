"""Registers the ``ecg`` app with edgeml (entry point ``ecg = "edgeml_ecg.plugin"``)."""

from __future__ import annotations

import edgeml
from edgeml_ecg.app import EcgApp


@edgeml.hookimpl
def edgeml_register_apps():
    return [EcgApp()]


@edgeml.hookimpl
def edgeml_config_searchpath():
    return ["pkg://edgeml_ecg.conf"]
