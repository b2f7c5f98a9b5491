"""Registers the ``host`` and ``emulator`` runners (entry point ``runners = "edgeml_runners.plugin"``)."""

from __future__ import annotations

import edgeml
from edgeml_runners.emulator_runner import EmulatorRunner
from edgeml_runners.host import HostRunner


@edgeml.hookimpl
def edgeml_register_runners():
    return [HostRunner(), EmulatorRunner()]
