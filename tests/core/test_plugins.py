"""The plugin manager and the contract: discovery, duplicates, bad plugins, docs."""

from __future__ import annotations

import inspect
import re

import pytest

import edgeml
from blobs_plugin import ROOT, BlobsApp
from edgeml import hookspecs
from edgeml.errors import PluginError
from edgeml.plugins import get_plugin_manager, load_registry


def test_builtins_and_third_party_are_found_through_entry_points():
    registry = load_registry()
    names = {info.name for info in registry.plugins()}
    assert {"kws", "tflite", "tflm", "mlflow", "edgeml.checks", "toy"} <= names
    toy = next(i for i in registry.plugins() if i.name == "toy")
    assert (toy.distribution, toy.version) == ("edgeml-toyplugin", "0.4.0")
    assert toy.provides["app"] == ["toy"] and toy.provides["target"] == ["toy-mcu"]
    assert "observer" in toy.provides and "checks" in toy.provides
    assert "edgeml_validate" in toy.hooks


def test_duplicate_names_are_an_error_naming_both_plugins():
    class Second:
        @edgeml.hookimpl
        def edgeml_register_apps(self):
            return [BlobsApp()]

    class First:
        @edgeml.hookimpl
        def edgeml_register_apps(self):
            return [BlobsApp()]

    pm = get_plugin_manager(extra_plugins=[First(), Second()], load_entry_points=False)
    with pytest.raises(PluginError, match=r"app 'blobs' is registered by both '\S+' and '\S+'"):
        load_registry(pm)


def test_an_implementation_without_a_spec_is_refused():
    class Typo:
        @edgeml.hookimpl
        def edgeml_register_app(self):  # missing "s"
            return []

    with pytest.raises(PluginError, match="edgeml_register_app"):
        get_plugin_manager(extra_plugins=[Typo()], load_entry_points=False)


def test_a_wrong_return_type_is_named():
    class Loose:
        @edgeml.hookimpl
        def edgeml_register_backends(self):
            return [{"name": "dict-backend"}]

    with pytest.raises(PluginError, match="return instances of edgeml.Backend"):
        load_registry(get_plugin_manager(extra_plugins=[Loose()], load_entry_points=False))


def _hooks():
    return {name: fn for name, fn in inspect.getmembers(hookspecs, inspect.isfunction) if name.startswith("edgeml_")}


def test_every_hook_is_documented_where_declared():
    assert len(_hooks()) >= 10
    for name, fn in _hooks().items():
        assert fn.__doc__ and len(fn.__doc__.strip()) > 40, name


def test_the_plugin_guide_documents_every_hook_with_its_signature():
    """Like datasette's test_docs: the README's hook reference cannot drift from hookspecs."""
    readme = (ROOT / "README.md").read_text()
    for name, fn in _hooks().items():
        params = ", ".join(inspect.signature(fn).parameters)
        assert re.search(rf"`{name}\({re.escape(params)}\)`", readme), f"README lacks `{name}({params})`"


def test_core_names_no_app_and_no_backend():
    pattern = re.compile(r"\b(kws|ecg|vibration|vision|tflm|emlearn|cmsis_nn)\b", re.I)
    for path in (ROOT / "core" / "edgeml").rglob("*.py"):
        for line in path.read_text().splitlines():
            if not line.strip().startswith("#"):
                assert not pattern.search(line), f"{path.name}: {line.strip()}"


def test_trace_env_prints_hook_calls(monkeypatch, capsys):
    monkeypatch.setenv("EDGEML_TRACE_PLUGINS", "1")
    load_registry(get_plugin_manager())
    assert "edgeml_register_apps [kws] -> ['kws']" in capsys.readouterr().err
    pm = get_plugin_manager()
    pm.hook.edgeml_config_searchpath()
    assert "edgeml_config_searchpath" in capsys.readouterr().err
