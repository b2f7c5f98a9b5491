"""Wall time of each stage of a build, of a no-op rebuild, and of the quick commands.

    python benchmarks/stage_times.py                       # the go-cortex-m4 recipe, fresh build dir
    python benchmarks/stage_times.py app.sense.per_class.train=100 --recipe go-cortex-m4

Prints figures; asserts nothing. The build goes to a temporary directory
unless --build-dir is given, and tracking is off so MLflow's start-up is not
counted in the stage times (the no-op rebuild line includes it when on).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _wall(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--recipe", default="go-cortex-m4")
    ap.add_argument("--build-dir")
    ap.add_argument("overrides", nargs="*")
    args = ap.parse_args()

    from edgeml import orchestrator
    from edgeml.config import compose, load_recipe, project_root
    from edgeml.plugins import load_registry
    from edgeml.progress import Progress

    build = Path(args.build_dir or tempfile.mkdtemp(prefix="edgeml-bench-"))
    root = project_root()
    overrides = load_recipe(root, args.recipe).overrides + [f"build_dir={build}", "tracking.enabled=false"] \
        + args.overrides
    bc = compose(overrides, load_registry(), root)
    t0 = time.perf_counter()
    records, report = orchestrator.run(bc, progress=Progress(enabled=False))
    total = time.perf_counter() - t0

    print(f"recipe {args.recipe}  build {build}")
    print(f"{'stage':<12} {'seconds':>8}  cached")
    for r in records:
        print(f"{r.stage:<12} {r.seconds:>8.2f}  {r.cached}")
    print(f"{'all stages':<12} {total:>8.2f}")
    cli = [sys.executable, "-m", "edgeml.cli"]
    noop = _wall(cli + ["run", "--recipe", args.recipe, "--no-progress", f"build_dir={build}",
                        "tracking.enabled=false"] + args.overrides)
    print(f"{'no-op rebuild (edgeml run, new process)':<44} {noop:>6.2f} s")
    for name, extra in (("edgeml --help", ["--help"]), ("edgeml plugins", ["plugins"]),
                        ("edgeml targets", ["targets"])):
        print(f"{name:<44} {min(_wall(cli + extra) for _ in range(3)):>6.2f} s (best of 3)")
    if report:
        print(f"accuracy float/int8/device: {report['accuracy']['float']:.4f} / {report['accuracy']['int8']:.4f}"
              f" / {report['accuracy']['device']:.4f}; flash {report['memory']['flash_bytes']} B;"
              f" RAM {report['memory']['ram_bytes']} B; latency {report['latency']['ms']:.2f} ms (estimate)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
