"""Registers the ``obstacle`` app with edgeml (entry point ``obstacle = "edgeml_obstacle.plugin"``).

Its config group file is ``edgeml_obstacle/conf/app/obstacle.yaml``, on Hydra's
search path through ``edgeml_config_searchpath``.
"""

from __future__ import annotations

import os

import edgeml
from edgeml_obstacle.app import ObstacleApp

# TensorFlow's C++ logging drowns the progress display; set TF_CPP_MIN_LOG_LEVEL yourself to see it.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@edgeml.hookimpl
def edgeml_register_apps():
    return [ObstacleApp()]


@edgeml.hookimpl
def edgeml_config_searchpath():
    return ["pkg://edgeml_obstacle/conf"]
