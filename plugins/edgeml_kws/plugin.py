"""Registers the ``kws`` app with edgeml (entry point ``kws = "edgeml_kws.plugin"``)."""

from __future__ import annotations

import edgeml
from edgeml_kws.app import KwsApp


@edgeml.hookimpl
def edgeml_register_apps():
    return [KwsApp()]
