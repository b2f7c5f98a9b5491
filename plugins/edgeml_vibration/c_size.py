"""Flash and RAM of C code, measured by compiling it with the host's gcc at -Os.

The figure is the x86-64 object's sections (code + constants, then data +
bss), not a Cortex-M image: no ARM cross compiler is assumed. The method
string says so wherever the number is used.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from edgeml import csize

METHOD = "host gcc -Os object size (x86-64 .text + .rodata + .data; no ARM cross compiler used)"
FLAGS = ("-Os", "-std=c99", "-ffp-contract=off", "-fno-asynchronous-unwind-tables", "-fno-stack-protector",
         "-fno-pic", "-ffunction-sections", "-fdata-sections")


def compiler() -> str | None:
    return shutil.which(os.environ.get("CC", "gcc"))


def object_sizes(sources: dict[str, str], include_dirs: list[str] = (), extra_flags: tuple[str, ...] = ()
                 ) -> dict[str, int] | None:
    """Compile each ``*.c`` of ``sources`` (name -> text; headers may be among them) and sum its sections.

    Returns ``{"flash": code + constants, "ram": data + bss}``, or None without a compiler.
    """
    cc = compiler()
    if cc is None:
        return None
    with tempfile.TemporaryDirectory(prefix="edgeml-size-") as tmp:
        d = Path(tmp)
        for name, text in sources.items():
            (d / name).write_text(text)
        flash = ram = 0
        for name in sorted(n for n in sources if n.endswith(".c")):
            obj = d / (name + ".o")
            cmd = [cc, *FLAGS, *extra_flags, "-I", str(d), *[f for inc in include_dirs for f in ("-isystem", inc)],
                   "-c", str(d / name), "-o", str(obj)]
            res = subprocess.run(cmd, capture_output=True, text=True)
            if res.returncode != 0:
                raise RuntimeError(f"{' '.join(cmd)} failed: {res.stderr.strip()[:2000]}")
            f, r = csize.sections(obj)
            flash += f
            ram += r
        return {"flash": flash, "ram": ram}
