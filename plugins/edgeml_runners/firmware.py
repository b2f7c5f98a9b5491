"""Cross-compiling a Program into a firmware image (arm-none-eabi-gcc, or riscv64-unknown-elf-gcc for RISC-V)
with the generated linker script.

Every compile runs in the directory its file is relative to (the program's
root, a library's root, the work dir) with ``-ffile-prefix-map`` for each,
and without debug info, so the same program gives the same ELF bytes in
any build directory.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from edgeml import BudgetError, DataError, RunRequest
from edgeml_runners import c_build, harness, toolchain
from edgeml_runners.linker_script import linker_script

#: Added to the target's core flags and the strict flags: one section per function/object for --gc-sections.
SECTION_FLAGS = ("-ffunction-sections", "-fdata-sections")
#: Bare-metal link: no crt0 (the harness is the entry), newlib-nano, stubbed syscalls, libm.
LINK_FLAGS = ("-nostartfiles", "--specs=nano.specs", "--specs=nosys.specs", "-Wl,--gc-sections")
#: The same for RISC-V with Debian's picolibc (its specs add libgcc and libc; no crt0 either).
RISCV_LINK_FLAGS = ("-nostartfiles", "-Wl,--gc-sections")
#: Compile and link flag for RISC-V: picolibc's headers and libraries (Debian's picolibc-riscv64-unknown-elf).
RISCV_LIBC_FLAGS = ("--specs=picolibc.specs",)


@dataclass
class Firmware:
    elf: Path
    map: Path
    toolchain: str
    #: Compile flags common to every unit (core, strict, sections, program).
    flags: list[str]


def core_flags(target) -> list[str]:
    flags = list(getattr(target, "compile_flags", ()) or ())
    if toolchain.family(target) == "riscv":
        if not any(f.startswith("-march=") for f in flags):
            raise DataError(f"target '{target.name}' has no -march in compile_flags: add e.g. [-march=rv32imc, "
                            f"-mabi=ilp32] to target/{target.name}.yaml")
    elif not any(f.startswith("-mcpu=") for f in flags):
        raise DataError(f"target '{target.name}' has no -mcpu in compile_flags: add e.g. [-mcpu={target.core}, "
                        f"-mthumb] to target/{target.name}.yaml")
    return flags


def build(request: RunRequest) -> Firmware:
    """Compile and link ``request.program`` for ``request.target``; keep the .elf and .map in the work dir."""
    program = request.program
    gcc = toolchain.compiler_for(request.target)
    riscv = toolchain.family(request.target) == "riscv"
    work = Path(request.work_dir).resolve()
    (work / "obj").mkdir(parents=True, exist_ok=True)
    log = work / "build.log"
    log.write_text("")
    common = [*core_flags(request.target), *c_build.STRICT_FLAGS, *SECTION_FLAGS]
    flags = [*SECTION_FLAGS, *c_build.prefix_maps(request), *c_build.program_flags(request)]
    cpu = [*core_flags(request.target), *(RISCV_LIBC_FLAGS if riscv else ())]
    (work / harness.FIRMWARE_FILE).write_text(harness.firmware_harness(program))
    (work / "firmware.ld").write_text(linker_script(request.flash_bytes, request.ram_bytes, harness.CALL_SYMBOL,
                                                       small_data=riscv, io_bytes=harness.io_bytes(program)))
    objects, jobs = [], []
    units = c_build.units(request)
    gxx = c_build.cxx_for(gcc) if any(u.cplusplus for u in units) else None
    for i, unit in enumerate(units):
        obj = f"obj/{i:03d}_{Path(unit.path).stem}.o"
        compiler = gxx if unit.cplusplus else gcc
        jobs.append(([compiler, *cpu, *unit.base_flags, *flags, "-c", unit.path, "-o", str(work / obj)], unit.cwd,
                     f"compiling {unit.path} of '{program.name}' with {Path(compiler).name}", unit.library))
        objects.append(obj)
    c_build.compile_all(jobs, log, request)
    c_build.run([gcc, *cpu, *c_build.STRICT_FLAGS, *flags, "-c", harness.FIRMWARE_FILE, "-o", "obj/harness.o"],
                work, f"compiling the firmware harness of '{program.name}'", log)
    elf, map_file = f"{program.name}.elf", f"{program.name}.map"
    link = [gxx or gcc, *cpu, *(RISCV_LINK_FLAGS if riscv else LINK_FLAGS), "-T", "firmware.ld",
            f"-Wl,-Map={map_file}", "obj/harness.o", *objects, "-lm", "-o", elf]
    try:
        c_build.run(link, work, f"linking '{program.name}' with {Path(link[0]).name}", log)
    except DataError as exc:
        overflow = _overflow(log.read_text(), request, gcc)
        if overflow:
            raise BudgetError(overflow) from exc
        raise
    # Kept: the image, its map, the linker script and the harness. Objects and the log are scratch.
    shutil.rmtree(work / "obj", ignore_errors=True)
    log.unlink(missing_ok=True)
    cxx = [*c_build.STRICT_CXX_FLAGS[1:], *c_build.CXX_FLAGS] if gxx else []   # "-O2" is in common
    return Firmware(elf=work / elf, map=work / map_file, toolchain=toolchain.version(gcc),
                    flags=[*common, *cxx, *program.flags])


def _overflow(log: str, request: RunRequest, gcc: str) -> str | None:
    """The linker's "region `FLASH' overflowed by N bytes" as the one-line fit message."""
    over: dict[str, int] = {}
    for region, n in re.findall(r"region `(\w+)' overflowed by (\d+) bytes", log):
        over[region] = max(over.get(region, 0), int(n))
    if not over:
        return None
    name = request.program.name
    parts = []
    fixes = []
    if "FLASH" in over:
        parts.append(f"{request.flash_bytes + over['FLASH']} B of flash, the target's model share is "
                     f"{request.flash_bytes} B")
        fixes.append("shrink the model or choose a target with more flash")
    if "RAM" in over:
        parts.append(f"{request.ram_bytes + over['RAM']} B of static RAM (.data + .bss), the target's model share "
                     f"is {request.ram_bytes} B")
        fixes.append("shrink the model's buffers or choose a target with more RAM")
    return (f"'{name}' needs {' and '.join(parts)} (linked image, {toolchain.version(gcc)}, "
            f"target {request.target.name}): {'; '.join(fixes)}")
