"""Registration and import cost of the kws plugin."""

from __future__ import annotations

import subprocess
import sys

import edgeml
from edgeml.plugins import get_plugin_manager, load_registry


def test_plugin_registers_the_kws_app():
    import edgeml_kws.plugin

    registry = load_registry(get_plugin_manager(extra_plugins=[edgeml_kws.plugin], load_entry_points=False))
    app = registry.apps["kws"]
    assert isinstance(app, edgeml.App)
    assert (app.task, app.model_kinds) == ("classification", ("keras",))
    assert app.version and app.description


def test_plugin_import_loads_nothing_heavy():
    code = ("import sys, edgeml_kws.plugin; "
            "print(','.join(m for m in ('tensorflow', 'keras', 'scipy', 'cmsisdsp', 'soundfile', 'espeakng_loader') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
