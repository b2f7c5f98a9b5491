"""Write constraints.txt: the exact installed version of every package in edgeml[dev]'s dependency tree.

Run after changing a dependency in pyproject.toml and installing it:
    python scripts/freeze_constraints.py > constraints.txt
Packages installed with --no-deps by scripts/setup.sh (NODEPS there) are not part of the tree.
"""

from __future__ import annotations

import importlib.metadata as md
import re
import sys

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

HEADER = """# Exact versions edgeml is tested with (the whole dependency tree of edgeml[dev]).
# scripts/setup.sh installs with `-c constraints.txt`, so a fresh machine gets the
# same libraries and the same bytes for the same config and seed.
# Regenerate with: python scripts/freeze_constraints.py > constraints.txt
"""


def closure(root: str, extras: set[str]) -> dict[str, str]:
    seen: dict[str, str] = {}
    todo = [(root, frozenset(extras))]
    done: set[tuple[str, frozenset]] = set()
    while todo:
        name, ex = todo.pop()
        key = (canonicalize_name(name), ex)
        if key in done:
            continue
        done.add(key)
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:
            sys.exit(f"freeze_constraints: {name} is required but not installed: run scripts/setup.sh --dev first")
        seen[canonicalize_name(dist.metadata["Name"])] = dist.version
        for line in dist.requires or []:
            req = Requirement(line)
            envs = [{"extra": e} for e in ex] or [{"extra": ""}]
            if req.marker is None or any(req.marker.evaluate(env) for env in envs):
                todo.append((req.name, frozenset(req.extras)))
    return seen


def main() -> None:
    pins = closure("edgeml", {"dev"})
    pins.pop("edgeml", None)
    print(HEADER, end="")
    for name in sorted(pins):
        version = re.sub(r"\+.*$", "", pins[name])  # torch 2.13.0+cpu: the local label is the index's business
        print(f"{name}=={version}")


if __name__ == "__main__":
    main()
