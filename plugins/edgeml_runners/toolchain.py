"""Finding the cross compilers: arm-none-eabi-gcc (``$EDGEML_ARM_GCC`` or PATH; Debian's gcc-arm-none-eabi 12.2
with newlib) and riscv64-unknown-elf-gcc (``$EDGEML_RISCV_GCC`` or PATH; Debian's gcc-riscv64-unknown-elf 12.2
with picolibc), which is optional: without it the RISC-V target keeps its estimate."""

from __future__ import annotations

import os
import shutil
from functools import lru_cache

from edgeml import IncompatibleError

INSTALL_HINT = ("run `bash scripts/setup.sh` (installs Debian's gcc-arm-none-eabi and libnewlib-arm-none-eabi "
                "with apt-get)")


def arm_gcc() -> str:
    """The path of arm-none-eabi-gcc; missing is an IncompatibleError naming the command that installs it."""
    wanted = os.environ.get("EDGEML_ARM_GCC") or "arm-none-eabi-gcc"
    found = shutil.which(wanted)
    if found is None:
        where = f" (EDGEML_ARM_GCC={wanted})" if os.environ.get("EDGEML_ARM_GCC") else ""
        raise IncompatibleError(f"arm-none-eabi-gcc not found{where}: {INSTALL_HINT}")
    return found


RISCV_INSTALL_HINT = ("apt-get install gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf (Debian's RISC-V "
                      "bare-metal GCC 12.2 and C library)")


def riscv_gcc() -> str | None:
    """The path of riscv64-unknown-elf-gcc with picolibc, or None when either is missing."""
    found = shutil.which(os.environ.get("EDGEML_RISCV_GCC") or "riscv64-unknown-elf-gcc")
    if found is None or not picolibc_specs(found):
        return None
    return found


@lru_cache(maxsize=8)
def picolibc_specs(gcc: str) -> bool:
    """Whether ``gcc`` finds picolibc's specs file (Debian's picolibc-riscv64-unknown-elf)."""
    import subprocess

    res = subprocess.run([gcc, "-print-file-name=picolibc.specs"], capture_output=True, text=True)
    return os.path.isabs(res.stdout.strip())


@lru_cache(maxsize=8)
def version(gcc: str) -> str:
    """e.g. ``arm-none-eabi-gcc (15:12.2.rel1-1) 12.2.1 20221205``."""
    from edgeml_runners.c_build import tool_version

    return tool_version(gcc)


def family(target) -> str:
    """``riscv`` for RISC-V targets (core rv32..., arch riscv...), else ``arm``."""
    core, arch = str(getattr(target, "core", "")).lower(), str(getattr(target, "arch", "")).lower()
    return "riscv" if core.startswith("rv32") or arch.startswith("riscv") else "arm"


def compiler_for(target) -> str:
    """The cross compiler for ``target``'s family; missing is an IncompatibleError with the install command."""
    if family(target) == "riscv":
        gcc = riscv_gcc()
        if gcc is None:
            raise IncompatibleError(f"riscv64-unknown-elf-gcc with picolibc not found: {RISCV_INSTALL_HINT}")
        return gcc
    return arm_gcc()
