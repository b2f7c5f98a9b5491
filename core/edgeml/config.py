"""Config composition: Hydra over params/ plus the plugins' search paths.

``compose(overrides)`` returns a :class:`BuildConfig`: the composed config,
the resolved build dir, the target profile and the chosen app, compressor
and backend. Everything that can be refused is refused here, before any data
is generated or any model trained.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from edgeml.components import App, Backend, Compressor
from edgeml import runners
from edgeml.errors import ConfigError, IncompatibleError
from edgeml.plugins import Registry
from edgeml.targets import TargetProfile

GROUPS = ("app", "target", "backend")


def project_root() -> Path:
    """The directory holding ``params/`` and ``pipelines/``.

    ``EDGEML_PROJECT`` wins; then the current directory if it has
    ``params/config.yaml``; then the source checkout edgeml runs from.
    """
    env = os.environ.get("EDGEML_PROJECT")
    if env:
        root = Path(env).resolve()
        if not (root / "params" / "config.yaml").is_file():
            raise ConfigError(f"EDGEML_PROJECT={env} has no params/config.yaml: point it at an edgeml project")
        return root
    cwd = Path.cwd()
    if (cwd / "params" / "config.yaml").is_file():
        return cwd
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "params" / "config.yaml").is_file():
        return checkout
    packaged = Path(__file__).resolve().parent / "_params"
    if (packaged / "config.yaml").is_file():
        return packaged.parent
    raise ConfigError("no params/config.yaml found: run edgeml from a project directory or set EDGEML_PROJECT")


def params_dir(root: Path) -> Path:
    return root / "params" if (root / "params").is_dir() else root / "_params"


def searchpath_dir(entry: str) -> Path | None:
    if entry.startswith("pkg://"):
        top, *rest = entry[len("pkg://"):].strip("/").replace("/", ".").split(".")
        try:
            return Path(str(resources.files(top))).joinpath(*rest)
        except ModuleNotFoundError:
            return None
    if entry.startswith("file://"):
        return Path(entry[len("file://"):])
    return Path(entry)


def config_dirs(root: Path, registry: Registry) -> list[Path]:
    dirs = [params_dir(root)]
    for entry in registry.searchpath:
        d = searchpath_dir(entry)
        if d is not None and d.is_dir():
            dirs.append(d)
    return dirs


def group_options(root: Path, registry: Registry, group: str) -> dict[str, Path]:
    """Every choice of a config group (``app``, ``target``, ``backend``) and its file."""
    found: dict[str, Path] = {}
    for d in config_dirs(root, registry):
        for f in sorted((d / group).glob("*.yaml")):
            found.setdefault(f.stem, f)
    return dict(sorted(found.items()))


def load_targets(root: Path, registry: Registry) -> list[TargetProfile]:
    return [TargetProfile.from_config(OmegaConf.to_container(OmegaConf.load(p), resolve=True))
            for p in group_options(root, registry, "target").values()]


@dataclass
class Recipe:
    name: str
    description: str
    overrides: list[str]


def load_recipe(root: Path, name: str) -> Recipe:
    path = root / "pipelines" / f"{name}.yaml"
    if not path.is_file():
        names = sorted(p.stem for p in (root / "pipelines").glob("*.yaml"))
        raise ConfigError(f"unknown recipe '{name}': choose one of {', '.join(names) or '(none)'} in {root / 'pipelines'}")
    data = OmegaConf.to_container(OmegaConf.load(path), resolve=True)
    return Recipe(name=name, description=str(data.get("description", "")),
                  overrides=[str(o) for o in data.get("overrides", [])])


@dataclass
class BuildConfig:
    """A composed, checked build: config plus the plugin objects it selected."""

    config: DictConfig
    build_dir: Path
    target: TargetProfile
    app: App
    compressor: Compressor
    backend: Backend
    root: Path
    registry: Registry


def _choices(overrides: list[str]) -> dict[str, str]:
    out = {}
    for o in overrides:
        key, sep, value = o.partition("=")
        if sep and key.lstrip("+~") in GROUPS:
            out[key.lstrip("+~")] = value
    return out


def select_compressor(app: App, backend: Backend, registry: Registry, wanted: str | None = None) -> Compressor:
    """The compressor that takes one of the app's model kinds to a format the backend accepts."""
    if wanted:
        if wanted not in registry.compressors:
            raise ConfigError(f"unknown compressor '{wanted}': choose one of {', '.join(registry.compressors)}")
        candidates = [registry.compressors[wanted]]
    else:
        candidates = list(registry.compressors.values())
    for kind in app.model_kinds:
        for comp in candidates:
            if kind in comp.input_kinds and comp.output_format in backend.accepts:
                return comp
    paths = ", ".join(f"{c.name}: {'/'.join(c.input_kinds)}->{c.output_format}" for c in registry.compressors.values())
    good = sorted(b.name for b in registry.backends.values()
                  if any(k in c.input_kinds and c.output_format in b.accepts
                         for k in app.model_kinds for c in registry.compressors.values()))
    hint = f"choose backend={' or backend='.join(good)}" if good else "install a plugin that provides such a compressor"
    raise IncompatibleError(
        f"backend '{backend.name}' accepts {'/'.join(backend.accepts)} models but app '{app.name}' trains "
        f"{'/'.join(app.model_kinds) or 'no'} models and no compressor connects them ({paths or 'none installed'}): {hint}")


def compose(overrides: list[str], registry: Registry, root: Path | None = None) -> BuildConfig:
    """Compose params/config.yaml with ``overrides`` and check the build can exist."""
    from hydra import compose as hydra_compose, initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    root = root or project_root()
    for group, value in _choices(overrides).items():
        options = group_options(root, registry, group)
        if value not in options:
            raise ConfigError(f"unknown {group} '{value}': choose one of {', '.join(options) or '(none installed)'}")
    extra = [str(d) for d in config_dirs(root, registry)[1:]]
    hydra_overrides = list(overrides)
    if extra:
        hydra_overrides.append("hydra.searchpath=[" + ",".join(f"file://{d}" for d in extra) + "]")
    from edgeml.schema import register

    register()
    try:
        with initialize_config_dir(config_dir=str(params_dir(root)), version_base="1.3", job_name="edgeml"):
            cfg = hydra_compose(config_name="config", overrides=hydra_overrides)
    except (HydraException, OmegaConfBaseException) as exc:
        raise ConfigError(f"config does not compose: {_reason(exc)}: check the override's key and value") from exc
    app = registry.apps.get(str(cfg.get("app", {}).get("name")))
    preferred = getattr(app, "default_backend", None)
    if "backend" not in _choices(overrides) and preferred and preferred != cfg.get("backend", {}).get("name"):
        # The app's own default backend, when the command line names none.
        return compose([*overrides, f"backend={preferred}"], registry, root)
    return check(cfg, registry, root)


def _reason(exc: BaseException) -> str:
    """Hydra's message and the cause under it, first lines only: ``Error merging override seed=abc (Value 'abc'...)``."""
    parts = []
    while exc is not None and len(parts) < 3:
        line = next((ln.strip() for ln in str(exc).splitlines() if ln.strip()), type(exc).__name__)
        if line not in parts:
            parts.append(line)
        exc = exc.__cause__
    return parts[0] + (f" ({'; '.join(parts[1:])})" if len(parts) > 1 else "")


def check(cfg: DictConfig, registry: Registry, root: Path) -> BuildConfig:
    """Validate a composed config and pick the plugin objects for it."""
    for group in GROUPS:
        if group not in cfg or cfg[group] is None or "name" not in cfg[group]:
            raise ConfigError(f"config has no {group}: add `- {group}: NAME` to the defaults of params/config.yaml")
    app_name, backend_name = cfg.app.name, cfg.backend.name
    if app_name not in registry.apps:
        raise ConfigError(f"app '{app_name}' has a config but no installed plugin provides it: "
                          f"install its plugin (installed apps: {', '.join(registry.apps) or 'none'})")
    if backend_name not in registry.backends:
        raise ConfigError(f"backend '{backend_name}' has a config but no installed plugin provides it: "
                          f"install its plugin (installed backends: {', '.join(registry.backends) or 'none'})")
    target = TargetProfile.from_config(OmegaConf.to_container(cfg.target, resolve=True))
    app, backend = registry.apps[app_name], registry.backends[backend_name]
    compressor = select_compressor(app, backend, registry, cfg.get("compress", {}).get("compressor"))
    for component in (app, compressor, backend):
        component.check(cfg, target)
    runners.check(cfg, registry, target)
    build_dir = cfg.get("build_dir") or f"builds/{app_name}-{target.name}-{backend_name}"
    path = Path(str(build_dir))
    if not path.is_absolute():
        path = Path.cwd() / path
    return BuildConfig(config=cfg, build_dir=path, target=target, app=app,
                       compressor=compressor, backend=backend, root=root, registry=registry)


def flatten(cfg: Any, prefix: str = "") -> dict[str, Any]:
    """``{"app.train.epochs": 20, ...}``: for trackers and for diffing configs."""
    data = OmegaConf.to_container(cfg, resolve=True) if isinstance(cfg, DictConfig) else cfg
    out: dict[str, Any] = {}
    if isinstance(data, dict):
        for k, v in data.items():
            out.update(flatten(v, f"{prefix}{k}."))
    else:
        out[prefix[:-1]] = data
    return out
