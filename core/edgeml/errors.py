"""One exception family. Every message names the cause and the fix.

The CLI prints ``str(error)`` on one line and exits with ``error.exit_code``;
tracebacks appear only with ``--verbose``.
"""

from __future__ import annotations


class EdgeMLError(Exception):
    """Base of every error edgeml raises on purpose."""

    exit_code = 1


class ConfigError(EdgeMLError):
    """The composed configuration is invalid (unknown choice, wrong type)."""

    exit_code = 2


class IncompatibleError(ConfigError):
    """App, backend and target cannot make a build together; found before any work."""


class PluginError(EdgeMLError):
    """A plugin is broken: duplicate names, missing hook specs, bad return values."""

    exit_code = 3


class DataError(EdgeMLError):
    """Input data is missing or corrupt; the message names the file."""


class StageOrderError(EdgeMLError):
    """A stage was asked to run before the stages it reads from."""


class BudgetError(EdgeMLError):
    """The build does not fit the target (RAM, flash) or failed a validate check."""
