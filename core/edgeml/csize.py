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


#: How :func:`host_sizes` obtains its figures; quote it beside them.
HOST_METHOD = ("host gcc -Os object size (x86-64 .text + .rodata + .data; RAM .data + .bss; "
               "no ARM cross compiler used)")
HOST_FLAGS = ("-Os", "-std=c99", "-ffp-contract=off", "-fno-asynchronous-unwind-tables", "-fno-stack-protector",
              "-fno-pic", "-ffunction-sections", "-fdata-sections")


def host_sizes(sources: dict[str, str], system_includes: tuple[str, ...] | list[str] = (),
               extra_flags: tuple[str, ...] = ()) -> dict[str, int] | None:
    """Flash and RAM of C sources compiled with the host's C compiler at ``-Os``.

    ``sources`` maps relative file names (headers may be among them, in
    subfolders too) to their text; every ``.c`` is compiled and its
    sections summed. Returns ``{"flash": ..., "ram": ...}``, or None when no
    compiler is installed. The figure is an x86-64 object's, not a Cortex-M
    image's: say so with :data:`HOST_METHOD`.
    """
    import os
    import shutil
    import tempfile

    cc = shutil.which(os.environ.get("CC", "gcc"))
    if cc is None:
        return None
    with tempfile.TemporaryDirectory(prefix="edgeml-size-") as tmp:
        d = Path(tmp)
        for name, text in sources.items():
            (d / name).parent.mkdir(parents=True, exist_ok=True)
            (d / name).write_text(text)
        dirs = sorted({str((d / n).parent) for n in sources})
        flash = ram = 0
        for name in sorted(n for n in sources if n.endswith(".c")):
            obj = d / (name + ".o")
            cmd = [cc, *HOST_FLAGS, *extra_flags, *[f"-I{x}" for x in dirs],
                   *[f for inc in system_includes for f in ("-isystem", str(inc))], "-c", str(d / name), "-o", str(obj)]
            res = subprocess.run(cmd, capture_output=True, text=True)
            if res.returncode != 0:
                raise DataError(f"compiling {name} to measure its size failed: {res.stderr.strip()[:1500]}: "
                                "fix the generated C")
            f, r = sections(obj)
            flash, ram = flash + f, ram + r
    return {"flash": flash, "ram": ram}
