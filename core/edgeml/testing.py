"""Helpers for testing a plugin against the real orchestrator.

For plugin authors (and edgeml's own tests)::

    from edgeml.testing import build

    records, report = build(["app=myapp", "target=cortex-m4", f"build_dir={tmp_path}"], MyPlugin())
    assert report["passed"]

Plugins passed here are registered beside the installed ones (entry points),
exactly as if they were installed, so no mock stands in for core.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from edgeml.artifacts import tree_hashes, write_json
from edgeml.config import BuildConfig, compose
from edgeml.plugins import Registry, get_plugin_manager, load_registry
from edgeml.progress import Progress
from edgeml.run import StageContext, StageRecord
from edgeml.targets import TargetProfile


def registry_with(*plugins: Any, entry_points: bool = True) -> Registry:
    """A registry of the installed plugins plus ``plugins`` (modules or objects with hookimpls)."""
    return load_registry(get_plugin_manager(extra_plugins=plugins, load_entry_points=entry_points))


def compose_with(overrides: list[str], *plugins: Any, root: Path | None = None) -> BuildConfig:
    """Compose a build with extra plugins registered; tracking and progress off unless overridden."""
    quiet = ["tracking.enabled=false", "progress=false"]
    keys = {o.split("=", 1)[0] for o in overrides}
    return compose([q for q in quiet if q.split("=", 1)[0] not in keys] + list(overrides),
                   registry_with(*plugins), root)


def build(overrides: list[str], *plugins: Any, stages: list[str] | None = None,
          root: Path | None = None) -> tuple[list[StageRecord], dict | None]:
    """Compose and run a build (all stages by default) with extra plugins registered."""
    from edgeml import orchestrator

    return orchestrator.run(compose_with(overrides, *plugins, root=root), stages=stages,
                            progress=Progress(enabled=False))


def stage_context(stage: str, config: DictConfig | dict, build_dir: Path, *, seed: int = 0,
                  target: TargetProfile | None = None) -> StageContext:
    """A context for calling one stage method directly; its ``out_dir`` is ``build_dir/stage``.

    ``target`` defaults to ``config.target``. Write upstream stage dirs and
    call :func:`mark_finished` on them so ``ctx.input_dir`` accepts them.
    """
    cfg = config if isinstance(config, DictConfig) else OmegaConf.create(config)
    if target is None:
        target = TargetProfile.from_config(OmegaConf.to_container(cfg.target, resolve=True))
    out_dir = Path(build_dir) / stage
    out_dir.mkdir(parents=True, exist_ok=True)
    return StageContext(stage=stage, config=cfg, out_dir=out_dir, build_dir=Path(build_dir), target=target,
                        seed=seed, progress=Progress(enabled=False))


def mark_finished(stage_dir: Path) -> None:
    """Write a manifest for a stage dir made by hand, so downstream stages may read it."""
    stage_dir = Path(stage_dir)
    write_json(stage_dir / "manifest.json", {"schema": "edgeml.manifest/1", "stage": stage_dir.name,
                                             "key": "written-by-edgeml.testing",
                                             "outputs": tree_hashes(stage_dir, exclude=("manifest.json",))})
