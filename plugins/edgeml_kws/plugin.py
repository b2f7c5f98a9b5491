"""Registers the ``kws`` app with edgeml (entry point ``kws = "edgeml_kws.plugin"``)."""

from __future__ import annotations

import os

import edgeml
from edgeml_kws.app import KwsApp


# TensorFlow's C++ logging (oneDNN, CUDA probes, converter chatter) drowns the
# progress display; set TF_CPP_MIN_LOG_LEVEL yourself to see it.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@edgeml.hookimpl
def edgeml_register_apps():
    return [KwsApp()]
