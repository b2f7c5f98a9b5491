"""Flash and RAM of compiled C, read from an object's or image's sections.

Shared by every plugin that sizes C (backends, apps' device code), so one
rule decides what counts: flash is code + constants + initialised data
(``.text``, ``.rodata``, ``.data``: the data's initial values live in flash),
RAM is ``.data`` + ``.bss``. The stack is never in these figures.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from edgeml.errors import DataError


def sections(obj: Path, size_tool: str = "size") -> tuple[int, int]:
    """``(flash, ram)`` bytes of an object file or ELF image, from ``size -A``."""
    res = subprocess.run([size_tool, "-A", str(obj)], capture_output=True, text=True)
    if res.returncode != 0:
        raise DataError(f"{size_tool} -A {obj} failed: {(res.stderr or res.stdout).strip()[:500]}: "
                        "install binutils (apt-get install binutils) or the target's toolchain")
    flash = ram = 0
    for line in res.stdout.splitlines():
        parts = line.split()
        if len(parts) < 2 or not parts[1].isdigit():
            continue
        name, size = parts[0], int(parts[1])
        if name.startswith((".text", ".rodata")):
            flash += size
        elif name.startswith(".data"):
            flash += size
            ram += size
        elif name.startswith(".bss"):
            ram += size
    return flash, ram
