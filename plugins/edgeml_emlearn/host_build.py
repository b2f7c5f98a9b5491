"""The host's gcc for export-time size figures: the entry point and model compiled at -Os."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from edgeml import DataError, IncompatibleError, csize

#: Size flags: code + constants of the object, no unwind tables, one section per function.
SIZE_FLAGS = ("-Os", "-ffp-contract=off", "-fno-asynchronous-unwind-tables", "-fno-stack-protector", "-fno-pic",
              "-ffunction-sections", "-fdata-sections")


def compiler() -> str:
    cc = shutil.which(os.environ.get("CC", "gcc"))
    if cc is None:
        raise IncompatibleError("the emlearn backend verifies the exported C with a host C compiler and found none: "
                                "install gcc (apt-get install gcc) or set CC")
    return cc


def version(cc: str) -> str:
    out = subprocess.run([cc, "--version"], capture_output=True, text=True).stdout.splitlines()
    return out[0] if out else cc


def run_cmd(cmd: list[str], what: str) -> str:
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        raise DataError(f"{what} failed (exit {res.returncode}): {(res.stderr or res.stdout).strip()[:1500]} "
                        f"[{' '.join(cmd)}]")
    return res.stdout


def object_size(cc: str, source: Path, includes: list[str], system_includes: list[str], out_dir: Path) -> tuple[int, int]:
    obj = out_dir / (source.stem + ".size.o")
    run_cmd([cc, *SIZE_FLAGS, *[f"-I{i}" for i in includes],
             *[f for i in system_includes for f in ("-isystem", i)], "-c", str(source), "-o", str(obj)],
            f"sizing {source.name}")
    return csize.sections(obj)
