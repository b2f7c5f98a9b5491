"""A build matrix from sweep overrides: ``edgeml run -m target=cortex-m4,cortex-m7 seed=0,1``.

Overrides use Hydra's sweep syntax (``a,b``, ``range(0,3)``, ``choice(...)``);
their cartesian product is built job by job, each a normal, independently
cached build. A job without ``build_dir`` gets the derived build dir plus the
swept values, so jobs never share a directory. One job's failure does not
stop the others; the matrix table says which failed and why.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgeml import orchestrator
from edgeml.config import GROUPS, compose
from edgeml.errors import ConfigError, EdgeMLError
from edgeml.plugins import Registry
from edgeml.progress import Progress
from edgeml.targets import kib


@dataclass
class Job:
    overrides: list[str]
    swept: dict[str, str]
    report: dict[str, Any] | None = None
    error: str | None = None
    build_dir: Path | None = None


def expand(overrides: list[str]) -> list[Job]:
    """The cartesian product of the sweep overrides, in order."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except HydraException as exc:
        raise ConfigError(f"bad sweep override ({str(exc).splitlines()[0]}): use key=a,b or key=range(0,3)") from exc
    axes: list[list[tuple[str, str, bool]]] = []
    for o in parsed:
        if o.is_sweep_override():
            key = o.get_key_element()
            axes.append([(key, f"{key}={v}", True) for v in o.sweep_string_iterator()])
        else:
            axes.append([(o.get_key_element(), o.input_line, False)])
    jobs = []
    for combo in itertools.product(*axes):
        swept = {key: line.split("=", 1)[1] for key, line, is_sweep in combo if is_sweep}
        jobs.append(Job(overrides=[line for _, line, _ in combo], swept=swept))
    return jobs


def _suffix(swept: dict[str, str]) -> str:
    parts = [f"{k}={v}" for k, v in swept.items() if k not in GROUPS]
    return re.sub(r"[^\w.=,+-]", "_", ",".join(parts))


def run_sweep(overrides: list[str], registry: Registry, root: Path, progress: Progress) -> list[Job]:
    jobs = expand(overrides)
    # compose every job first: a bad override fails the matrix before any job runs
    builds = []
    for job in jobs:
        bc = compose(job.overrides, registry, root)
        if not any(o.split("=", 1)[0] == "build_dir" for o in job.overrides) and not bc.config.get("build_dir"):
            suffix = _suffix(job.swept)
            if suffix:
                bc.build_dir = bc.build_dir.with_name(f"{bc.build_dir.name}_{suffix}")
        job.build_dir = bc.build_dir
        builds.append(bc)
    for i, (job, bc) in enumerate(zip(jobs, builds), 1):
        progress.message(f"=== job {i}/{len(jobs)}: {' '.join(job.overrides) or '(defaults)'} -> {bc.build_dir}")
        try:
            _, job.report = orchestrator.run(bc, progress=progress)
        except EdgeMLError as exc:
            job.error = str(exc)
            report = bc.build_dir / "report.json"
            if report.is_file():
                from edgeml.artifacts import read_json
                job.report = read_json(report)
    return jobs


def matrix_table(jobs: list[Job]) -> str:
    rows = [("job", "verdict", "primary int8", "flash", "RAM", "latency ms")]
    for job in jobs:
        r = job.report
        name = " ".join(f"{k}={v}" for k, v in job.swept.items()) or "(defaults)"
        if r is None:
            rows.append((name, f"ERROR: {job.error}", "-", "-", "-", "-"))
            continue
        prim = r["metrics"]["int8"].get(r["primary_metric"])
        rows.append((name, "PASS" if r["passed"] and not job.error else f"FAIL: {job.error}",
                     "-" if prim is None else f"{prim:.4f}",
                     kib(r["memory"]["flash_bytes"]), kib(r["memory"]["ram_bytes"]),
                     "-" if r["latency"]["ms"] is None else f"{r['latency']['ms']:.2f}"))
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  " + "  ".join(str(c).ljust(w) for c, w in zip(row, widths)) for row in rows)
