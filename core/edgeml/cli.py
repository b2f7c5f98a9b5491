"""The ``edgeml`` command line: run, stage, plugins, targets, config, deps.

Heavy libraries are never imported here: ``edgeml --help``, ``plugins`` and
``targets`` answer in well under a second.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from typing import Sequence

from edgeml.errors import EdgeMLError

STAGE_NAMES = ("sense", "preprocess", "train", "compress", "export", "validate")

EPILOG = """examples:
  edgeml run app=APP target=cortex-m4          compose with Hydra overrides and build all six stages
  edgeml run --recipe RECIPE seed=1            a named recipe from pipelines/, plus overrides
  edgeml run -m target=cortex-m4,cortex-m7 seed=0,1   a build matrix, one cached build per job
  edgeml fit app=APP target=cortex-m0plus      search the app's knobs under the target's budget, build the best
  edgeml stage train --recipe RECIPE           one stage (what dvc.yaml calls)
  edgeml plugins                               installed plugins and what each provides
  edgeml targets                               target profiles and their budgets
  edgeml deps                                  the C libraries programs build against: located, or why not
  edgeml deps NAME [--from PATH]               install a C library's pinned source (from a local copy offline)
"""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="edgeml", description="Build a verified, budget-checked TinyML deliverable.",
                                epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="store_true", help="print the version and exit")
    p.add_argument("-v", "--verbose", action="store_true", help="show tracebacks on errors")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    def build_args(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--recipe", help="a named recipe from pipelines/ (its overrides come first)")
        sp.add_argument("--no-progress", action="store_true", help="no progress display")
        sp.add_argument("-v", "--verbose", action="store_true", help="show tracebacks on errors")
        sp.add_argument("overrides", nargs="*", help="Hydra overrides such as app=APP target=cortex-m7 seed=3")

    r = sub.add_parser("run", help="compose the config and run all stages (cached ones are skipped)")
    build_args(r)
    r.add_argument("--force", action="store_true", help="re-run every stage even if cached")
    r.add_argument("-m", "--multirun", action="store_true",
                   help="build the matrix of sweep overrides (target=cortex-m4,cortex-m7 seed=0,1)")
    f = sub.add_parser("fit", help="search the app's knobs under the target's budget, then build the best model")
    build_args(f)
    f.add_argument("--force", action="store_true", help="re-run every stage of the final build even if cached")
    s = sub.add_parser("stage", help="run one stage with the same config (for dvc.yaml)")
    s.add_argument("name", choices=STAGE_NAMES)
    build_args(s)
    c = sub.add_parser("config", help="print the composed config")
    build_args(c)
    sub.add_parser("plugins", help="list installed plugins and what each provides")
    rp = sub.add_parser("report", help="print the summary of a finished build")
    rp.add_argument("path", help="a build dir or its report.json")
    d = sub.add_parser("dvc-yaml", help="print (or --write) dvc.yaml built from the recipes in pipelines/")
    d.add_argument("--write", action="store_true", help="write dvc.yaml in the project root")
    d.add_argument("--check", action="store_true", help="exit 1 if dvc.yaml differs from the recipes")
    t = sub.add_parser("targets", help="list target profiles with their budgets")
    t.add_argument("--json", action="store_true", help="machine-readable output")
    dp = sub.add_parser("deps", help="list the C libraries programs build against, or install them by name")
    dp.add_argument("names", nargs="*", metavar="NAME", help="C libraries to install (none: list them all)")
    dp.add_argument("--from", dest="source", metavar="PATH",
                    help="install from this local checkout or archive instead of downloading (one NAME)")
    dp.add_argument("--force", action="store_true", help="install again even if a complete copy is in place")
    return p


def _compose(args: argparse.Namespace):
    from edgeml.config import compose, load_recipe, project_root
    from edgeml.plugins import load_registry

    registry = load_registry()
    root = project_root()
    overrides = list(args.overrides)
    if args.recipe:
        overrides = load_recipe(root, args.recipe).overrides + overrides
    return compose(overrides, registry, root)


def _cmd_multirun(args: argparse.Namespace) -> int:
    from edgeml.config import load_recipe, project_root
    from edgeml.plugins import load_registry
    from edgeml.progress import Progress
    from edgeml.sweep import matrix_table, run_sweep

    root = project_root()
    overrides = (load_recipe(root, args.recipe).overrides if args.recipe else []) + list(args.overrides)
    jobs = run_sweep(overrides, load_registry(), root, Progress(enabled=not args.no_progress))
    print(matrix_table(jobs))
    return 0 if all(j.error is None for j in jobs) else 1


def _cmd_build(args: argparse.Namespace) -> int:
    from edgeml import orchestrator
    from edgeml.progress import Progress
    from edgeml.report import summary_table

    if getattr(args, "multirun", False):
        return _cmd_multirun(args)
    bc = _compose(args)
    progress = Progress(enabled=not args.no_progress and bool(bc.config.get("progress", True)))
    stages = [args.name] if args.command == "stage" else None
    mode = "stage" if args.command == "stage" else "run"
    progress.message(f"edgeml: {bc.app.name} on {bc.target.name} via {bc.backend.name} -> {bc.build_dir}")
    try:
        _, report = orchestrator.run(bc, stages=stages, mode=mode, progress=progress,
                                     force=getattr(args, "force", False))
    except EdgeMLError:
        report_path = bc.build_dir / "report.json"
        if report_path.is_file() and (stages is None or "validate" in stages):
            from edgeml.artifacts import read_json
            print(summary_table(read_json(report_path)))
        raise
    if report is not None:
        print(summary_table(report))
        print(f"  report  {bc.build_dir / 'report.json'}")
    return 0


def _cmd_fit(args: argparse.Namespace) -> int:
    from edgeml.config import load_recipe, project_root
    from edgeml.fit import fit, print_result
    from edgeml.plugins import load_registry
    from edgeml.progress import Progress

    root = project_root()
    overrides = (load_recipe(root, args.recipe).overrides if args.recipe else []) + list(args.overrides)
    result = fit(overrides, load_registry(), root, Progress(enabled=not args.no_progress), force=args.force)
    print_result(result)
    return 0


def _cmd_config(args: argparse.Namespace) -> int:
    from omegaconf import OmegaConf

    bc = _compose(args)
    print(OmegaConf.to_yaml(bc.config), end="")
    print(f"# build_dir: {bc.build_dir}\n# compressor: {bc.compressor.name}")
    return 0


def _cmd_plugins(args: argparse.Namespace) -> int:
    from edgeml.plugins import load_registry

    for info in load_registry().plugins():
        provides = "; ".join(f"{kind}: {', '.join(items)}" for kind, items in info.provides.items()
                             if kind not in ("observer", "checks"))
        roles = [r for r in ("observer", "checks") if r in info.provides]
        provides = "; ".join(p for p in (provides, ", ".join(roles)) if p) or "-"
        print(f"{info.name:<16} {info.distribution} {info.version}")
        print(f"{'':<16} provides  {provides}")
        print(f"{'':<16} hooks     {', '.join(info.hooks)}")
    return 0


def _cmd_targets(args: argparse.Namespace) -> int:
    import json

    from edgeml.config import load_targets, project_root
    from edgeml.plugins import load_registry
    from edgeml.targets import kib

    targets = load_targets(project_root(), load_registry())
    if args.json:
        print(json.dumps([{"name": t.name, "core": t.core, "clock_hz": t.clock_hz, "ram_bytes": t.ram_bytes,
                           "flash_bytes": t.flash_bytes, "ram_budget_bytes": t.ram_budget_bytes,
                           "flash_budget_bytes": t.flash_budget_bytes, "active_mw": t.active_mw}
                          for t in targets], indent=2))
        return 0
    head = (f"{'target':<15} {'core':<14} {'clock':>8} {'RAM':>9} {'model RAM':>10} {'flash':>10} "
            f"{'model flash':>12} {'power':>9} {'cycles/MAC':>11}")
    print(head)
    for t in targets:
        cpm = "-" if t.latency_model is None else f"{t.latency_model.cycles_per_mac:g}" + (
            "*" if t.latency_model.cycles_per_mac_by_kind else "")
        print(f"{t.name:<15} {t.core:<14} {t.clock_hz / 1e6:>5.0f} MHz {kib(t.ram_bytes):>9} "
              f"{kib(t.ram_budget_bytes):>10} {kib(t.flash_bytes):>10} {kib(t.flash_budget_bytes):>12} "
              f"{t.active_mw:>6.1f} mW {cpm:>11}")
    if any(t.latency_model and t.latency_model.cycles_per_mac_by_kind for t in targets):
        print("* priced per layer kind (conv, pointwise, depthwise, dense); see the profile's latency_model")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from pathlib import Path

    from edgeml.artifacts import read_json
    from edgeml.report import summary_table

    from edgeml.errors import DataError

    path = Path(args.path)
    path = path / "report.json" if path.is_dir() else path
    if not path.is_file():
        raise DataError(f"no report at {path}: build first (edgeml run ...), then point at its build dir")
    print(summary_table(read_json(path)))
    return 0


def _cmd_dvc(args: argparse.Namespace) -> int:
    from edgeml import dvcfile
    from edgeml.config import project_root
    from edgeml.plugins import load_registry

    return dvcfile.main(project_root(), load_registry(), write=args.write, check=args.check)


def _cmd_deps(args: argparse.Namespace) -> int:
    from edgeml.plugins import load_registry

    return deps(load_registry(), args.names, source=args.source, force=args.force)


def deps(registry, names: Sequence[str] = (), *, source: str | None = None, force: bool = False,
         progress=None) -> int:
    """``edgeml deps``: list the registered C libraries with their status, or install ``names``.

    Listing calls each library's ``locate`` (nothing is installed): one line
    per library, its version and root, or the one-line reason it is not
    found. Installing calls ``install(source, progress, force)`` per name in
    order; a failure is reported on one line and the others still run.
    Returns the exit code (the first failure's).
    """
    from pathlib import Path

    from edgeml.errors import ConfigError, DataError
    from edgeml.progress import Progress

    libraries = registry.c_libraries
    names = list(dict.fromkeys(names))
    if not names:
        if source is not None or force:
            raise ConfigError("--from and --force need the name of the C library to install: edgeml deps NAME "
                              "[--from PATH] (edgeml deps lists them)")
        if not libraries:
            print("no installed plugin registers a C library")
            return 0
        width = max(len(n) for n in libraries)
        for name in sorted(libraries):
            try:
                files = libraries[name].locate()
            except EdgeMLError as exc:
                print(f"{name:<{width}}  missing  {exc}")
            else:
                print(f"{name:<{width}}  located  {files.version}  {files.root}")
        return 0
    unknown = [n for n in names if n not in libraries]
    if unknown:
        raise ConfigError(f"unknown C library {', '.join(repr(n) for n in unknown)}: choose from "
                          f"{', '.join(sorted(libraries)) or '(none installed)'}")
    path = None
    if source is not None:
        if len(names) > 1:
            raise ConfigError(f"--from takes one C library, got {len(names)} ({', '.join(names)}): install them "
                              "one at a time")
        path = Path(source).expanduser()
        if not path.exists():
            raise DataError(f"--from {source}: no such file or directory: give a checkout or an archive of "
                            f"{names[0]}'s source")
        path = path.resolve()
    progress = progress or Progress()
    code = 0
    for name in names:
        try:
            files = libraries[name].install(path, progress=progress.child(f"{name}: "), force=force)
        except EdgeMLError as exc:
            if len(names) == 1:
                raise
            print(f"edgeml: error: {name}: {exc}", file=sys.stderr)
            code = code or exc.exit_code
            continue
        print(f"{name}: {files.version} in {files.root}")
    return code


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    # Hydra overrides (key=value) may sit anywhere among the flags; `deps` takes paths, never overrides.
    first = next((a for a in argv if not a.startswith("-")), None)
    overrides = [] if first == "deps" else [
        a for a in argv if ("=" in a and not a.startswith("-")) or a.startswith("~")]
    args = parser.parse_args([a for a in argv if a not in overrides])
    if hasattr(args, "overrides"):
        args.overrides = overrides
    elif overrides:
        parser.error(f"'{args.command}' takes no overrides: {' '.join(overrides)}")
    if args.version:
        from edgeml import __version__
        print(f"edgeml {__version__}")
        return 0
    if not args.command:
        parser.print_help()
        return 2
    handlers = {"run": _cmd_build, "stage": _cmd_build, "fit": _cmd_fit, "config": _cmd_config,
                "plugins": _cmd_plugins, "targets": _cmd_targets, "dvc-yaml": _cmd_dvc, "report": _cmd_report,
                "deps": _cmd_deps}
    verbose = args.verbose or os.environ.get("EDGEML_VERBOSE") == "1"
    try:
        return handlers[args.command](args)
    except EdgeMLError as exc:
        if verbose:
            traceback.print_exc()
        print(f"edgeml: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("edgeml: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug in a plugin or in edgeml: one line, traceback on request
        if verbose:
            traceback.print_exc()
        where = f" in stage '{exc.__edgeml_stage__}'" if hasattr(exc, "__edgeml_stage__") else ""
        print(f"edgeml: error{where}: {type(exc).__name__}: {exc} (re-run with --verbose for the traceback)",
              file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
