"""The ``emulator`` runner: firmware cross-compiled with arm-none-eabi-gcc, linked for the target's memory
share, and run in unicorn's Cortex-M mode on every example.

Flash and static RAM come from the linked ELF, the stack from a high-water
mark, instructions from an exact block-hook count over the first
``profile_examples`` examples, cycles from :mod:`edgeml_runners.cycle_model`.
The other examples run without hooks, for their outputs only.

A program with ``marks`` (the name of its section variable) gets the same
counts split by section in ``info["marks"]``: the emulator hooks stores to
that one address during the profiled calls, and each section's blocks are
priced by the same cycle-model call as the whole run's (:func:`_cycles`),
with the whole run as context: a block unicorn split at a page boundary is
priced as one in the sections too, even when the cut is where a section
starts.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

import edgeml
from edgeml import (
    ConfigError,
    DataError,
    Figure,
    IncompatibleError,
    ProgramRun,
    RunRequest,
)
from edgeml_runners import c_build, toolchain
from edgeml_runners.emulator import CPU_MODELS, NO_MARK, RISCV_CPU_MODELS

DEFAULTS = {"profile_examples": 16, "profile_instructions": 30_000_000, "max_instructions": 200_000_000,
            "max_total_instructions": 3_000_000_000}

#: Why a target cannot be emulated here, by architecture.
UNSUPPORTED = {
    "xtensa": "no instruction-set emulator here for Xtensa ({target}): unicorn has no Xtensa mode; the report "
              "keeps the estimate",
    "riscv32": "no RISC-V firmware build here for {target}: riscv64-unknown-elf-gcc with picolibc is not "
               "installed (" + toolchain.RISCV_INSTALL_HINT + "); the report keeps the estimate",
}


def options(raw: dict | None) -> dict:
    """``runners.emulator`` with defaults; an unknown key or a bad value is a ConfigError."""
    raw = dict(raw or {})
    unknown = sorted(set(raw) - set(DEFAULTS))
    if unknown:
        raise ConfigError(f"runners.emulator has unknown option(s) {', '.join(unknown)}: it takes "
                          f"{', '.join(DEFAULTS)}")
    out = dict(DEFAULTS)
    for key, value in raw.items():
        try:
            out[key] = int(value)
        except (TypeError, ValueError):
            raise ConfigError(f"runners.emulator.{key}={value!r} is not an integer: set e.g. "
                              f"runners.emulator.{key}={DEFAULTS[key]}") from None
    if min(out.values()) < 1:
        raise ConfigError("runners.emulator: " + ", ".join(f"{k}={v}" for k, v in out.items())
                          + ": each must be >= 1")
    return out


def _core_title(core: str) -> str:
    if core.startswith("rv"):
        return core.upper()
    return core.replace("cortex-m0plus", "Cortex-M0+").replace("cortex-m", "Cortex-M")


class EmulatorRunner(edgeml.Runner):
    """arm-none-eabi-gcc + generated linker script + unicorn: flash, RAM, instructions and cycles of the firmware."""

    name = "emulator"
    version = "1"
    description = ("arm-none-eabi-gcc firmware linked for the target's memory share, run in unicorn's Cortex-M "
                   "mode: ELF flash/RAM, stack high-water mark, exact instruction counts, modelled cycles")

    def supports(self, target) -> str | None:
        core = str(getattr(target, "core", ""))
        if core in CPU_MODELS:
            return None
        if core in RISCV_CPU_MODELS and toolchain.riscv_gcc() is not None:
            return None
        arch = str(getattr(target, "arch", "")).lower()
        label = f"{core} ({target.name})"
        for key, reason in UNSUPPORTED.items():
            if arch.startswith(key) or (key == "riscv32" and core.startswith("rv32")):
                return reason.format(target=label)
        return (f"no instruction-set emulator here for core {label}: the emulator runs "
                f"{', '.join([*CPU_MODELS, *RISCV_CPU_MODELS])}; the report keeps the estimate")

    def check(self, config, target) -> None:
        options(c_build.runner_options(config, self.name))
        toolchain.compiler_for(target)
        for module, pin in (("unicorn", "unicorn==2.1.4"), ("elftools", "pyelftools==0.33")):
            try:
                __import__(module)
            except ImportError:
                raise IncompatibleError(f"the emulator runner needs the Python package {pin.split('==')[0]}: "
                                        f"pip install '{pin}'") from None

    def run(self, request: RunRequest) -> ProgramRun:
        import unicorn

        from edgeml_runners import elf_image, firmware
        from edgeml_runners.emulator import Machine

        t0 = time.monotonic()
        opts = options(request.options)
        program, target = request.program, request.target
        reason = self.supports(target)
        if reason is not None:
            raise IncompatibleError(reason)
        fw = firmware.build(request)
        image = elf_image.read(fw.elf)
        machine = Machine(image, target.core, request.flash_bytes, request.ram_bytes)
        if program.marks:
            machine.watch_marks(_mark_address(program, image, machine))
        profiler = machine   # holds the block counts; the unprofiled calls may move to a copy
        x = program.cast_inputs(request.inputs)
        n = len(x)
        k = min(opts["profile_examples"], n)
        outputs = np.empty((n, program.output_size), program.output_dtype)
        counts: list[int] = []
        stack = 0
        task = f"emulating {program.name} on {target.name}"
        step = max(1, n // 50)
        timing = {"hooked": 0.0, "plain": 0.0}
        budget = opts["profile_instructions"]
        total_budget = opts["max_total_instructions"]
        ran = n
        for i in range(n):
            if counts and i >= len(counts) and i % program.group == 0 and \
                    sum(counts) / len(counts) * i >= total_budget:
                ran = i   # the rest would take minutes: stop at a group boundary, say so
                break
            # Count the first profile_examples examples, fewer once profile_instructions are counted
            # (always at least one): a soft-float frame on an M0+ is tens of millions of instructions.
            profiled = i < k and (not counts or sum(counts) < budget)
            if i < k and not profiled:
                k = i
            if not profiled and machine is profiler and machine.mark_address is not None:
                machine.profile(False)
                machine = machine.unhooked_copy()   # unicorn stays slower once a memory hook was added
            machine.profile(profiled)
            t = time.perf_counter()
            call = machine.call(x[i].tobytes(), opts["max_instructions"],
                                f"'{program.name}' ({program.entry_point}) on example {i}")
            timing["hooked" if profiled else "plain"] += time.perf_counter() - t
            if call.status != 0:
                raise DataError(f"program '{program.name}': {program.entry_point} returned {call.status} for "
                                f"example {i} in the emulator (0 means success): the C reports a failure for "
                                "that input; check the input or the model")
            outputs[i] = np.frombuffer(call.output, program.output_dtype)
            stack = max(stack, call.stack_bytes)
            if profiled:
                counts.append(int(call.instructions))
            if request.progress is not None and ((i + 1) % step == 0 or i + 1 == n):
                request.progress.update(i + 1, n, task)
        machine.profile(False)
        outputs = outputs[:ran]

        estimate = _cycles(target.core, profiler.blocks.counts, profiler.blocks.code)
        result = self._result(request, fw, image, profiler, estimate, outputs, counts, stack, ran, k, timing, t0,
                              unicorn)
        if program.marks:
            result.info["marks"] = _marks(program.marks, profiler, target.core, len(counts))
        if ran < n:
            result.examples = ran
            result.method += (f" (the first {ran} of {n} examples: runners.emulator.max_total_instructions="
                              f"{total_budget} reached)")
        return result

    def _result(self, request, fw, image, machine, estimate, outputs, counts, stack, n, k, timing, t0,
                unicorn) -> ProgramRun:
        target = request.target
        uc_version = getattr(unicorn, "__version__", "?")
        core = _core_title(target.core)
        model = ({**CPU_MODELS, **RISCV_CPU_MODELS}[target.core].replace("UC_CPU_ARM_", "")
                 .replace("UC_CPU_RISCV32_", "").replace("CORTEX_", "Cortex-").replace("SIFIVE_", "SiFive "))
        k_calls = max(1, len(counts))
        total = int(sum(counts))
        mean_instr = total / k_calls
        flash_parts = image.section_sizes(flash=True)
        ram_parts = image.section_sizes(flash=False)
        static = image.ram_static_bytes
        buffers = machine.input_size + machine.output_size + 4
        harness_instr = _harness_instructions(machine, image)
        hooked_ips = total / timing["hooked"] if timing["hooked"] > 0 else None
        plain_ips = mean_instr * (n - k) / timing["plain"] if timing["plain"] > 0 and n > k else None
        flags = " ".join(fw.flags)
        elf_rel, map_rel = _relative(fw.elf, request), _relative(fw.map, request)
        if estimate is not None:
            cycles = Figure(round(estimate.cycles / k_calls, 2),
                            f"cycle model {estimate.source} for {estimate.core} over the executed blocks of "
                            f"{len(counts)} emulated examples (mean per call)")
            by_class = {c: {kk: (vv / k_calls) for kk, vv in d.items()} for c, d in estimate.by_class.items()}
            model_info = {"source": estimate.source, "core": estimate.core, "instructions": estimate.instructions}
        else:
            cycles, by_class = None, {}
            model_info = {"source": None, "core": target.core,
                          "why_none": f"edgeml_runners.cycle_model has no cost table for {target.core}: "
                                      "instructions are measured, cycles keep the estimate"}
        return ProgramRun(
            runner=self.name, outputs=outputs,
            method=(f"emulated: {fw.toolchain} ({flags}), linked for {request.flash_bytes} B flash / "
                    f"{request.ram_bytes} B RAM, run in unicorn {uc_version} ({model} model) on {n} examples"),
            flash_bytes=Figure(image.flash_bytes, f"linked image {elf_rel} ({fw.toolchain}): "
                               + " + ".join(f"{s} {b}" for s, b in flash_parts.items())),
            ram_bytes=Figure(static + stack,
                             f"linked image {elf_rel}: static {static} B ("
                             + " + ".join(f"{s} {b}" for s, b in ram_parts.items())
                             + f"; the harness's input/output buffers, {buffers} B, sit outside it) + stack high-water "
                             f"mark {stack} B (deepest word of a fill pattern overwritten, max over {n} emulated "
                             "calls)"),
            instructions=Figure(round(mean_instr, 2), f"emulated: unicorn {uc_version} {core} block-hook count, "
                                f"{len(counts)} examples (mean per call, including {harness_instr} harness "
                                "instructions)"),
            cycles=cycles,
            info={"elf": elf_rel, "map": map_rel, "toolchain": fw.toolchain, "flags": list(fw.flags),
                  "unicorn": uc_version, "cpu_model": model,
                  "flash_sections": flash_parts, "ram_sections": ram_parts, "static_ram_bytes": static,
                  "stack_bytes": stack, "io_buffer_bytes": buffers, "examples": {"profiled": len(counts), "total": n},
                  "instructions": {"min": min(counts) if counts else 0, "max": max(counts) if counts else 0,
                                   "mean": round(mean_instr, 2), "harness_per_call": harness_instr},
                  "cycles_by_class": by_class, "cycle_model": model_info},
            timing={"instructions_per_second": {"hooked": None if hooked_ips is None else round(hooked_ips),
                                                "unhooked": None if plain_ips is None else round(plain_ips),
                                                "note": "hooked: counted instructions / time of the profiled "
                                                        "calls; unhooked: the profiled mean x unprofiled calls / "
                                                        "their time"},
                    "emulation_seconds": {"hooked": round(timing["hooked"], 4), "unhooked": round(timing["plain"], 4)},
                    "wall_seconds": round(time.monotonic() - t0, 4)})


def _cycles(core: str, counts: dict[int, list[int]], code: dict[int, bytes], context: list | None = None):
    """The cycle model's estimate for executed blocks (key -> [executions, taken]), ``None`` on a core
    without a cost table (RISC-V): the one path for the whole run and for each section. A section passes
    the whole run's :func:`_profile` as ``context``: a block that the emulator split (at a page boundary)
    is priced as one with the block it fell through from, which may have run in the section before."""
    from edgeml_runners import cycle_model

    if core in RISCV_CPU_MODELS:  # the cycle model prices Cortex-M instruction classes only
        return None
    return cycle_model.estimate(core, _profile(counts, code), context=context)


def _profile(counts: dict[int, list[int]], code: dict[int, bytes]) -> list:
    """Executed blocks (key -> [executions, taken]) as the cycle model's ``BlockProfile`` list."""
    from edgeml_runners.cycle_model import BlockProfile

    return [BlockProfile(address=key >> 16, code=code[key], executions=c[0], taken=c[1])
            for key, c in sorted(counts.items())]


def _mark_address(program, image, machine) -> int:
    """Where the program's mark variable is: a 4-byte object in its RAM, else a PluginError."""
    from edgeml_runners.linker_script import RAM_ORIGIN

    name = program.marks
    if name not in image.symbols:
        raise edgeml.PluginError(
            f"program '{program.name}' declares marks='{name}' but its linked image has no symbol {name}: define "
            f"a global 'volatile uint32_t {name};' in its C and write each section number to it (the linker "
            "drops a variable nothing writes), or set marks to ''")
    address, size = image.symbols[name]
    if size != 4 or not RAM_ORIGIN <= address < machine.ram_end:
        raise edgeml.PluginError(
            f"program '{program.name}' declares marks='{name}', but {name} is a {size}-byte object at "
            f"0x{address:08x}, not a 4-byte variable in RAM: declare it 'volatile uint32_t {name};' (not const)")
    return address


def _marks(symbol: str, machine, core: str, profiled: int) -> dict:
    """``info["marks"]``: instructions, cycles and stores per section, means per profiled example.

    A block holding a store to the mark counts toward the section current when the block started
    (:mod:`edgeml_runners.emulator`), so the sections add up to the run's instructions; what runs after
    the last store (the rest of the entry point, the harness's return) counts toward the last section.
    Their cycles add up to the run's up to the model's rounding of each class to whole cycles (exact on
    M0+/M3/M4, whose costs are whole cycles, unless a block that the emulator split at a page boundary ran
    in several sections and was also entered by jumps: its entries from the block before the cut are then
    shared out by its executions, see :func:`_cycles`). Section -1 (before the first store of an example:
    the harness's call) is listed only when it ran instructions; a section number that was stored but ran no
    block of its own (two stores in one block) is listed with 0 instructions."""
    b = machine.blocks
    per = max(1, profiled)
    whole = None if core in RISCV_CPU_MODELS else _profile(b.counts, b.code)
    sections = []
    for mark in sorted(set(b.sections) | set(b.writes)):
        counts = b.sections.get(mark, {})
        instructions = sum(c[0] * b.instructions[key] for key, c in counts.items())
        if mark == NO_MARK and instructions == 0:
            continue
        estimate = _cycles(core, counts, b.code, whole) if counts else None
        cycles = None if core in RISCV_CPU_MODELS else round((estimate.cycles if estimate else 0) / per, 1)
        sections.append({"mark": int(mark), "instructions": round(instructions / per, 1), "cycles": cycles,
                         "calls": round(b.writes.get(mark, 0) / per, 1)})
    return {"symbol": symbol, "examples": profiled, "sections": sections}


def _harness_instructions(machine, image) -> int:
    """Instructions per call spent in ``edgeml_runner_call`` itself (the call, the status store, the return)."""
    from edgeml_runners import harness

    start, size = image.symbols[harness.CALL_SYMBOL]
    start &= ~1
    calls = max(1, sum(c[0] for key, c in machine.blocks.counts.items() if (key >> 16) == start))
    total = sum(c[0] * machine.blocks.instructions[key] for key, c in machine.blocks.counts.items()
                if start <= (key >> 16) < start + size)
    return round(total / calls)


def _relative(path: Path, request: RunRequest) -> str:
    """``path`` as the build will hold it (``request.label``), else relative to the program root's parent
    or the work dir."""
    p = Path(path).resolve()
    if request.label:
        try:
            return f"{request.label}/{p.relative_to(Path(request.work_dir).resolve())}"
        except ValueError:
            pass
    for base in (Path(request.root).resolve().parent, Path(request.work_dir).resolve()):
        try:
            return str(p.relative_to(base))
        except ValueError:
            continue
    return str(p)
