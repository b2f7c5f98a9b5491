"""The plugin manager and the registry of what plugins provide.

The manager is built by a function, never at import time: tests and
multirun workers each get their own, and nothing global leaks between runs.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import Any, Iterable

import pluggy

from edgeml import hookspecs
from edgeml.components import App, Backend, CLibrary, Compressor, Runner
from edgeml.errors import PluginError

hookimpl = pluggy.HookimplMarker("edgeml")

ENTRY_POINT_GROUP = "edgeml"


def get_plugin_manager(extra_plugins: Iterable[Any] = (), load_entry_points: bool = True) -> pluggy.PluginManager:
    """Build a plugin manager: core's own checks, every ``edgeml`` entry point, then ``extra_plugins``."""
    from edgeml import checks

    pm = pluggy.PluginManager("edgeml")
    pm.add_hookspecs(hookspecs)
    pm.register(checks, name="edgeml.checks")
    if load_entry_points:
        try:
            pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
        except Exception as exc:  # a broken third-party plugin must be named
            raise PluginError(f"loading an '{ENTRY_POINT_GROUP}' entry point failed ({exc}): "
                              "fix or uninstall that plugin") from exc
    for plugin in extra_plugins:
        pm.register(plugin)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(f"{exc}: hook implementations must be named after a hook in edgeml.hookspecs") from exc
    if os.environ.get("EDGEML_TRACE_PLUGINS") == "1":
        pm.trace.root.setwriter(sys.stderr.write)
        pm.enable_tracing()
    return pm


@dataclass
class PluginInfo:
    name: str
    distribution: str
    version: str
    hooks: list[str]
    provides: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class Registry:
    """What the installed plugins provide, by name. Built by :func:`load_registry`."""

    pm: pluggy.PluginManager
    apps: dict[str, App]
    compressors: dict[str, Compressor]
    backends: dict[str, Backend]
    searchpath: list[str]
    owners: dict[tuple[str, str], str]
    runners: dict[str, Runner] = field(default_factory=dict)
    c_libraries: dict[str, CLibrary] = field(default_factory=dict)

    def plugins(self) -> list[PluginInfo]:
        dists = {id(p): d for p, d in self.pm.list_plugin_distinfo()}
        infos = []
        for name, plugin in self.pm.list_name_plugin():
            if plugin is None:
                continue
            dist = dists.get(id(plugin))
            hooks = sorted(h.name for h in self.pm.get_hookcallers(plugin) or [])
            provides: dict[str, list[str]] = {}
            for (kind, item), owner in sorted(self.owners.items()):
                if owner == name:
                    if kind == "config":
                        for group, options in _config_groups(item).items():
                            provides.setdefault(group, []).extend(options)
                    else:
                        provides.setdefault(kind, []).append(item)
            provides = {k: sorted(set(v)) for k, v in provides.items()}
            if any(h.startswith(("edgeml_run_", "edgeml_stage_")) for h in hooks):
                provides["observer"] = [h[len("edgeml_"):] for h in hooks if h.startswith(("edgeml_run_", "edgeml_stage_"))]
            if "edgeml_validate" in hooks:
                provides["checks"] = ["edgeml_validate"]
            infos.append(PluginInfo(
                name=name,
                distribution=dist.project_name if dist else "edgeml (core)" if name.startswith("edgeml.") else "-",
                version=dist.version if dist else _core_version(), hooks=hooks, provides=provides))
        return sorted(infos, key=lambda i: i.name)


def _config_groups(entry: str) -> dict[str, list[str]]:
    """The config groups and options a search path entry ships, e.g. {"target": ["toy-mcu"]}."""
    from edgeml.config import searchpath_dir

    d = searchpath_dir(entry)
    if d is None or not d.is_dir():
        return {"config": [entry]}
    return {g.name: sorted(f.stem for f in g.glob("*.yaml")) for g in sorted(d.iterdir()) if g.is_dir()}


def _core_version() -> str:
    from edgeml import __version__
    return __version__


def _collect(pm: pluggy.PluginManager, hook_name: str, kind: str, base: type,
             owners: dict[tuple[str, str], str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    caller = getattr(pm.hook, hook_name)
    trace = os.environ.get("EDGEML_TRACE_PLUGINS") == "1"
    for impl in reversed(caller.get_hookimpls()):
        result = impl.function() or []
        if trace:  # called per plugin (to name owners), so pluggy's own tracing does not see it
            sys.stderr.write(f"  {hook_name} [{impl.plugin_name}] -> {[getattr(i, 'name', i) for i in result]}\n")
        for item in result:
            if not isinstance(item, base):
                raise PluginError(f"plugin '{impl.plugin_name}' returned {item!r} from {hook_name}: "
                                  f"return instances of edgeml.{base.__name__}")
            if not item.name:
                raise PluginError(f"plugin '{impl.plugin_name}' registered a {kind} with no name: set its `name`")
            if item.name in found:
                raise PluginError(f"{kind} '{item.name}' is registered by both '{owners[(kind, item.name)]}' "
                                  f"and '{impl.plugin_name}': uninstall one or rename it")
            found[item.name] = item
            owners[(kind, item.name)] = impl.plugin_name
    return found


def load_registry(pm: pluggy.PluginManager | None = None) -> Registry:
    """Collect apps, compressors, backends and config search paths from every plugin."""
    pm = pm or get_plugin_manager()
    owners: dict[tuple[str, str], str] = {}
    apps = _collect(pm, "edgeml_register_apps", "app", App, owners)
    compressors = _collect(pm, "edgeml_register_compressors", "compressor", Compressor, owners)
    backends = _collect(pm, "edgeml_register_backends", "backend", Backend, owners)
    runners = _collect(pm, "edgeml_register_runners", "runner", Runner, owners)
    c_libraries = _collect(pm, "edgeml_register_c_libraries", "c_library", CLibrary, owners)
    searchpath: list[str] = []
    for impl in reversed(pm.hook.edgeml_config_searchpath.get_hookimpls()):
        for entry in impl.function() or []:
            searchpath.append(str(entry))
            owners[("config", str(entry))] = impl.plugin_name
    return Registry(pm=pm, apps=apps, compressors=compressors, backends=backends,
                    searchpath=searchpath, owners=owners, runners=runners, c_libraries=c_libraries)


