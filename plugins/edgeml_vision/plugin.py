"""Registers the ``vision`` app with edgeml (entry point ``vision = "edgeml_vision.plugin"``)."""

from __future__ import annotations

import os

import edgeml
from edgeml_vision.app import VisionApp

# TensorFlow's C++ logging drowns the progress display; set TF_CPP_MIN_LOG_LEVEL yourself to see it.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@edgeml.hookimpl
def edgeml_register_apps():
    return [VisionApp()]


@edgeml.hookimpl
def edgeml_config_searchpath():
    return ["pkg://edgeml_vision.conf"]
