"""Check the cycle model (plugins/edgeml_runners/cycle_model.py) against published cycle counts.

    python benchmarks/cycle_model_check.py                          # built-in kernels, every core
    python benchmarks/cycle_model_check.py --elf fw.elf --entry main --core cortex-m4 \\
        --published-cycles 294000 --label "my benchmark"           # any ELF with a published figure

What it does: links a program with arm-none-eabi-gcc for each core, runs a function in unicorn with
a block hook, builds the ``BlockProfile`` list (executions and taken counts per block) and prints,
per core, the instructions, our cycle estimate, the published figure and the ratio
estimate / published. Without ``--elf`` it runs small built-in kernels whose exact cycle count
follows from the TRM tables by hand: those check the model's arithmetic, not its accuracy.

Published figures we compared against (the CoreMark run itself is not scripted here: CoreMark's
source may not be committed to this repository; it was built from eembc/coremark with a minimal
bare-metal port and run through ``profile_function`` below -- the module docstring of
cycle_model.py holds the measured ratios). Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "plugins"))

FLASH, RAM, STOP = 0x0000_0000, 0x2000_0000, 0x0800_0000
FLASH_SIZE, RAM_SIZE = 0x0010_0000, 0x0010_0000

CORE_FLAGS = {
    "cortex-m0plus": ["-mcpu=cortex-m0plus", "-mthumb", "-mfloat-abi=soft"],
    "cortex-m3": ["-mcpu=cortex-m3", "-mthumb", "-mfloat-abi=soft"],
    "cortex-m4": ["-mcpu=cortex-m4", "-mthumb", "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard"],
    # unicorn 2.1.4's cortex-m7 model rejects double-precision VFP (vadd.f64: UC_ERR_INSN_INVALID):
    # the single-precision FPU variant it can run.
    "cortex-m7": ["-mcpu=cortex-m7", "-mthumb", "-mfpu=fpv5-sp-d16", "-mfloat-abi=hard"],
}
UC_CPU = {"cortex-m0plus": "UC_CPU_ARM_CORTEX_M0", "cortex-m3": "UC_CPU_ARM_CORTEX_M3",
          "cortex-m4": "UC_CPU_ARM_CORTEX_M4", "cortex-m7": "UC_CPU_ARM_CORTEX_M7"}

LINKER_SCRIPT = f"""
MEMORY {{ FLASH (rx) : ORIGIN = {FLASH:#x}, LENGTH = {FLASH_SIZE:#x}
         RAM (rwx) : ORIGIN = {RAM:#x}, LENGTH = {RAM_SIZE:#x} }}
SECTIONS {{
  .text : {{ *(.text*) *(.rodata*) }} > FLASH
  .ARM.exidx : {{ *(.ARM.exidx*) }} > FLASH
  .data : {{ *(.data*) }} > RAM
  .bss (NOLOAD) : {{ *(.bss*) *(COMMON) }} > RAM
  end = .; _end = .;
}}
"""


def build(sources: list[Path], core: str, out: Path, extra: list[str] = ()) -> Path:
    """Link ``sources`` for ``core`` at FLASH/RAM above; newlib-nano supplies memcpy and friends."""
    ld = out.with_suffix(".ld")
    ld.write_text(LINKER_SCRIPT)
    cmd = ["arm-none-eabi-gcc", *CORE_FLAGS[core], "-O2", "-ffunction-sections", "-T", str(ld),
           "--specs=nano.specs", "--specs=nosys.specs", "-nostartfiles",
           "-o", str(out), *map(str, sources), *extra]
    r = subprocess.run(cmd, check=False, capture_output=True, text=True)
    if r.returncode:
        raise SystemExit(f"arm-none-eabi-gcc failed for {core}:\n{r.stderr[-2000:]}")
    return out


def profile_function(elf: Path, core: str, entry: str, args: tuple[int, ...] = (),
                     max_instructions: int = 500_000_000):
    """Run ``entry(*args)`` of ``elf`` in unicorn; return (BlockProfiles, instructions, seconds).

    ``taken`` counts the executions after which the next block did not start at the block's end."""
    import unicorn
    from edgeml_runners.cycle_model import BlockProfile
    from elftools.elf.elffile import ELFFile
    from unicorn import arm_const

    uc = unicorn.Uc(unicorn.UC_ARCH_ARM, unicorn.UC_MODE_THUMB | unicorn.UC_MODE_MCLASS)
    uc.ctl_set_cpu_model(getattr(arm_const, UC_CPU[core]))
    uc.mem_map(FLASH, FLASH_SIZE)
    uc.mem_map(RAM, RAM_SIZE)
    uc.mem_map(STOP, 0x1000)
    with open(elf, "rb") as f:
        e = ELFFile(f)
        for seg in e.iter_segments():
            if seg["p_type"] == "PT_LOAD" and seg["p_filesz"]:
                uc.mem_write(seg["p_vaddr"], seg.data())
        sym = e.get_section_by_name(".symtab").get_symbol_by_name(entry)
        if not sym:
            raise SystemExit(f"{elf}: no symbol {entry!r}")
        start = sym[0]["st_value"] | 1
    # unicorn 2.1.4 starts M-profile cores with the FPU usable (no CPACR write needed).
    uc.reg_write(arm_const.UC_ARM_REG_SP, RAM + RAM_SIZE - 16)
    uc.reg_write(arm_const.UC_ARM_REG_LR, STOP | 1)
    for reg, value in zip((arm_const.UC_ARM_REG_R0, arm_const.UC_ARM_REG_R1,
                           arm_const.UC_ARM_REG_R2, arm_const.UC_ARM_REG_R3), args):
        uc.reg_write(reg, value)

    counts: dict[tuple[int, int], list[int]] = {}
    prev: list = [None]

    def on_block(_uc, address, size, _user):
        p = prev[0]
        if p is not None and address != p[0] + p[1]:
            counts[p][1] += 1
        key = (address, size)
        c = counts.get(key)
        if c is None:
            counts[key] = [1, 0]
        else:
            c[0] += 1
        prev[0] = key

    uc.hook_add(unicorn.UC_HOOK_BLOCK, on_block)
    t0 = time.perf_counter()
    uc.emu_start(start, STOP, count=max_instructions)
    seconds = time.perf_counter() - t0
    p = prev[0]
    if p is not None and STOP != p[0] + p[1]:
        counts[p][1] += 1  # the return to the caller
    blocks = [BlockProfile(a, bytes(uc.mem_read(a, s)), c[0], c[1]) for (a, s), c in sorted(counts.items())]
    return blocks, seconds


# Built-in kernels: exact hand sums from the TRM tables (checks the model's arithmetic).
KERNEL = r"""
    .syntax unified
    .thumb
    .text
    .global count_down
    .type count_down, %function
    .thumb_func
count_down:            @ r0 = n: n x (subs 1 + bne taken) - one not taken + bx lr
1:  subs r0, r0, #1
    bne 1b
    bx lr
    .global copy_words
    .type copy_words, %function
    .thumb_func
copy_words:            @ r0 = dst, r1 = src, r2 = n (multiple of 4): ldm/stm of 4 registers
    push {r4, r5, r6, r7}
2:  ldmia r1!, {r4, r5, r6, r7}
    stmia r0!, {r4, r5, r6, r7}
    subs r2, r2, #4
    bne 2b
    pop {r4, r5, r6, r7}
    bx lr
"""


def hand_sum(core: str, kernel: str, n: int) -> float | None:
    """Cycles of the built-in kernels from the TRM tables (see cycle_model's docstring)."""
    if core == "cortex-m0plus":     # DDI 0484C s3.3: SUBS 1, B<cc> 2/1, BX 2, LDM/STM/PUSH/POP 1+N
        if kernel == "count_down":
            return n * 1 + (n - 1) * 2 + 1 + 2
        k = n // 4
        return 5 + k * (5 + 5 + 1) + (k - 1) * 2 + 1 + 5 + 2
    if core in ("cortex-m3", "cortex-m4"):  # DDI 0439B Table 3-1, P = 2
        if kernel == "count_down":
            return n * 1 + (n - 1) * 3 + 1 + 3
        k = n // 4
        return 5 + k * (5 + 5 + 1) + (k - 1) * 3 + 1 + 5 + 3
    return None  # cortex-m7: no TRM table to sum by hand


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--elf", type=Path)
    ap.add_argument("--entry", default="main")
    ap.add_argument("--core", choices=sorted(CORE_FLAGS))
    ap.add_argument("--published-cycles", type=float)
    ap.add_argument("--label", default="")
    args = ap.parse_args()

    from edgeml_runners.cycle_model import estimate

    if args.elf:
        if not (args.core and args.published_cycles):
            ap.error("--elf needs --core and --published-cycles")
        blocks, secs = profile_function(args.elf, args.core, args.entry)
        est = estimate(args.core, blocks)
        print(f"{args.label or args.elf.name} on {args.core}: {est.instructions} instructions, "
              f"estimate {est.cycles} cycles, published {args.published_cycles:.0f}, "
              f"ratio {est.cycles / args.published_cycles:.3f}  ({secs:.2f} s in unicorn)")
        return 0

    work = Path(tempfile.mkdtemp(prefix="edgeml-cycles-"))
    src = work / "kernels.s"
    src.write_text(KERNEL)
    print(f"{'core':<14} {'kernel':<11} {'instr':>7} {'estimate':>9} {'TRM hand sum':>12} {'ratio':>6}")
    for core in CORE_FLAGS:
        elf = build([src], core, work / f"kernels-{core}.elf")
        for kernel, call in (("count_down", (1000,)), ("copy_words", (RAM + 0x1000, RAM + 0x8000, 256))):
            blocks, _ = profile_function(elf, core, kernel, call)
            est = estimate(core, blocks)
            ref = hand_sum(core, kernel, call[-1])
            refs = f"{ref:>12.0f} {est.cycles / ref:>6.3f}" if ref else f"{'(none)':>12} {'-':>6}"
            print(f"{core:<14} {kernel:<11} {est.instructions:>7} {est.cycles:>9} {refs}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
