"""Check the cycle model (plugins/edgeml_runners/cycle_model.py) against published cycle counts.

    python benchmarks/cycle_model_check.py                          # built-in kernels, every core
    python benchmarks/cycle_model_check.py --coremark [--o3]        # CoreMark vs Arm's CoreMark/MHz
    python benchmarks/cycle_model_check.py --elf fw.elf --entry main --core cortex-m4 \\
        --published-cycles 294000 --label "my benchmark"           # any ELF with a published figure

What it does: links a program with arm-none-eabi-gcc for each core, runs a function in unicorn with
a block hook, builds the ``BlockProfile`` list (executions and taken counts per block) and prints,
per core, the instructions, our cycle estimate, the published figure and the ratio
estimate / published. Without ``--elf`` it runs small built-in kernels whose exact cycle count
follows from the TRM tables by hand: those check the model's arithmetic, not its accuracy.

``--coremark`` builds EEMBC CoreMark from ``$EDGEML_COREMARK_ROOT`` (a checkout of eembc/coremark;
its source may not be committed here, so it is fetched by whoever runs this) with a bare-metal
port written by this script (``core_portme.c``/``core_portme.h`` below, into a temporary
directory), runs 1 and 3 iterations of the same ELF in unicorn and prices the difference, so
start-up and reporting cancel. CoreMark checks its own list, matrix and state CRCs against the
known 2K-performance-run values; a run that reports a CRC error stops the script. Prints figures;
asserts nothing (tests/plugins/edgeml_runners/test_cycle_model_coremark.py asserts the band).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
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


@dataclass
class FunctionRun:
    """One emulated call: the executed blocks, unicorn's wall time, and the bytes of the symbols
    asked for in ``reads`` as they were when the function returned."""

    blocks: list
    seconds: float
    memory: dict[str, bytes]


def run_function(elf: Path, core: str, entry: str, args: tuple[int, ...] = (),
                 max_instructions: int = 500_000_000, writes: dict[str, int] | None = None,
                 reads: tuple[str, ...] = ()) -> FunctionRun:
    """Run ``entry(*args)`` of ``elf`` in unicorn with a block hook.

    ``writes`` sets 32-bit data symbols (by name) after loading, before the call; ``reads`` names
    symbols whose bytes (``st_size`` of them) are returned. ``taken`` in each BlockProfile counts
    the executions after which the next block did not start at the block's end. A call that has
    not returned after ``max_instructions`` stops the script with the address it reached."""
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
        symtab = e.get_section_by_name(".symtab")

        def symbol(name: str):
            sym = symtab.get_symbol_by_name(name)
            if not sym:
                raise SystemExit(f"{elf}: no symbol {name!r}")
            return sym[0]

        start = symbol(entry)["st_value"] | 1
        for name, value in (writes or {}).items():
            sym = symbol(name)
            if sym["st_size"] != 4:
                raise SystemExit(f"{elf}: {name!r} is {sym['st_size']} bytes, not a 32-bit variable")
            uc.mem_write(sym["st_value"], (value & 0xFFFF_FFFF).to_bytes(4, "little"))
        read_at = {name: (symbol(name)["st_value"], symbol(name)["st_size"]) for name in reads}
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
    pc = uc.reg_read(arm_const.UC_ARM_REG_PC)
    if pc & ~1 != STOP:
        raise SystemExit(f"{elf}: {entry}() had not returned after {max_instructions} instructions "
                         f"(pc {pc:#x}); raise max_instructions or fix the program")
    p = prev[0]
    if p is not None and STOP != p[0] + p[1]:
        counts[p][1] += 1  # the return to the caller
    blocks = [BlockProfile(a, bytes(uc.mem_read(a, s)), c[0], c[1]) for (a, s), c in sorted(counts.items())]
    memory = {name: bytes(uc.mem_read(addr, size)) for name, (addr, size) in read_at.items()}
    return FunctionRun(blocks, seconds, memory)


def profile_function(elf: Path, core: str, entry: str, args: tuple[int, ...] = (),
                     max_instructions: int = 500_000_000):
    """Run ``entry(*args)`` of ``elf`` in unicorn; return (BlockProfiles, seconds in unicorn)."""
    run = run_function(elf, core, entry, args, max_instructions)
    return run.blocks, run.seconds


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


# -- CoreMark ----------------------------------------------------------------------------------

COREMARK_ENV = "EDGEML_COREMARK_ROOT"
COREMARK_FETCH = (f"fetch EEMBC CoreMark, e.g. `git clone https://github.com/eembc/coremark /tmp/coremark-src` "
                  f"and `export {COREMARK_ENV}=/tmp/coremark-src`")
COREMARK_SOURCES = ("core_list_join.c", "core_main.c", "core_matrix.c", "core_state.c", "core_util.c")
# Arm's published CoreMark/MHz, from Arm's Cortex-M0+, M3, M4 and M7 processor pages on
# developer.arm.com ("Performance"); Arm's compiler and options, zero-wait-state memory.
COREMARK_PUBLISHED = {"cortex-m0plus": 2.46, "cortex-m3": 3.34, "cortex-m4": 3.40, "cortex-m7": 5.01}

# Our bare-metal port (written for edgeml; CoreMark's porting interface is in its README): no timer
# and no UART in the emulator. Cycles come from the block profile, so the clock is a constant;
# ee_printf formats into a RAM buffer that the host reads back to see CoreMark's CRC verdicts.
# The iteration count is the volatile seed4_volatile, which the host overwrites before each run,
# so the 1- and 3-iteration runs execute the very same image.
COREMARK_PORTME_H = r"""/* edgeml bare-metal CoreMark port for unicorn, written by benchmarks/cycle_model_check.py */
#ifndef CORE_PORTME_H
#define CORE_PORTME_H
#include <stddef.h>

#define HAS_FLOAT 0          /* only the report uses floats; keep soft-float code out of M0+/M3 */
#define HAS_TIME_H 0
#define USE_CLOCK 0
#define HAS_STDIO 0
#define HAS_PRINTF 0
#define COMPILER_VERSION "GCC" __VERSION__
#define COMPILER_FLAGS FLAGS_STR
#define MEM_LOCATION "STACK"

typedef signed short ee_s16;
typedef unsigned short ee_u16;
typedef signed int ee_s32;
typedef unsigned char ee_u8;
typedef unsigned int ee_u32;
typedef ee_u32 ee_ptr_int;
typedef size_t ee_size_t;
#define align_mem(x) (void *)(4 + (((ee_ptr_int)(x)-1) & ~3))

#define CORETIMETYPE ee_u32
typedef ee_u32 CORE_TICKS;

#define SEED_METHOD SEED_VOLATILE
#define MEM_METHOD MEM_STACK
#define MULTITHREAD 1
#define MAIN_HAS_NOARGC 1
#define MAIN_HAS_NORETURN 0
#define PERFORMANCE_RUN 1    /* seeds 0, 0, 0x66: the 2K performance run with known CRCs */

extern ee_u32 default_num_contexts;
typedef struct CORE_PORTABLE_S { ee_u8 portable_id; } core_portable;
void portable_init(core_portable *p, int *argc, char *argv[]);
void portable_fini(core_portable *p);
int ee_printf(const char *fmt, ...);
#endif
"""

COREMARK_PORTME_C = r"""/* edgeml bare-metal CoreMark port for unicorn, written by benchmarks/cycle_model_check.py */
#include <stdarg.h>
#include <stdio.h>
#include "coremark.h"

volatile ee_s32 seed1_volatile = 0x0;
volatile ee_s32 seed2_volatile = 0x0;
volatile ee_s32 seed3_volatile = 0x66;
volatile ee_s32 seed4_volatile = 1;   /* iterations: the host writes it before each run */
volatile ee_s32 seed5_volatile = 0;
ee_u32 default_num_contexts = 1;

char edgeml_coremark_out[2048];      /* ee_printf's output, read back by the host */
static ee_u32 out_len;
static volatile CORE_TICKS clock_now; /* no timer here: the host counts cycles */
static CORE_TICKS t_start, t_stop;

void start_time(void) { t_start = clock_now; }
void stop_time(void) { t_stop = clock_now; }
CORE_TICKS get_time(void) { return t_stop - t_start; }
secs_ret time_in_secs(CORE_TICKS ticks) { return ticks / 1000u; }

void portable_init(core_portable *p, int *argc, char *argv[]) {
    (void)argc;
    (void)argv;
    p->portable_id = 1;
}

void portable_fini(core_portable *p) { p->portable_id = 0; }

int ee_printf(const char *fmt, ...) {
    va_list ap;
    ee_u32 room = sizeof edgeml_coremark_out - out_len;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(edgeml_coremark_out + out_len, room, fmt, ap);
    va_end(ap);
    if (n > 0)
        out_len += (ee_u32)n < room ? (ee_u32)n : room - 1;
    return n;
}
"""


@dataclass
class CoreMarkResult:
    """CoreMark on one core: per-iteration instructions and estimated cycles from the difference of
    two runs of the same image, and the ratio to Arm's published figure (> 1: we predict slower)."""

    core: str
    opt: str
    iterations: tuple[int, int]
    instructions_per_iteration: float
    cycles_per_iteration: float
    cpi: float
    coremark_per_mhz: float
    published: float
    ratio: float          # our cycles per iteration / the published figure's
    unicorn_seconds: float


def coremark_root() -> Path | None:
    """``$EDGEML_COREMARK_ROOT`` as a Path, None when unset; a set path without CoreMark stops."""
    value = os.environ.get(COREMARK_ENV)
    if not value:
        return None
    root = Path(value).expanduser()
    missing = [f for f in COREMARK_SOURCES + ("coremark.h",) if not (root / f).is_file()]
    if missing:
        raise SystemExit(f"{COREMARK_ENV}={value} has no {missing[0]}: point it at a checkout of eembc/coremark")
    return root


def build_coremark(root: Path, core: str, opt: str, work: Path) -> Path:
    """Write our port into ``work`` and link CoreMark for ``core`` at ``opt`` (-O2, -O3...)."""
    work.mkdir(parents=True, exist_ok=True)
    (work / "core_portme.h").write_text(COREMARK_PORTME_H)
    (work / "core_portme.c").write_text(COREMARK_PORTME_C)
    sources = [root / f for f in COREMARK_SOURCES] + [work / "core_portme.c"]
    extra = [opt, f"-I{work}", f"-I{root}", f'-DFLAGS_STR="{opt}"']
    return build(sources, core, work / f"coremark-{core}{opt}.elf", extra)


_CRC_ERROR = re.compile(r"ERROR! (list|matrix|state) crc")


def coremark_check(root: Path, core: str, opt: str = "-O2", iterations: tuple[int, int] = (1, 3),
                   work: Path | None = None) -> CoreMarkResult:
    """Build CoreMark for ``core``, run it with ``iterations[0]`` and ``iterations[1]`` iterations
    in unicorn and price both with the cycle model; the difference divided by the difference in
    iterations is one iteration, and CoreMark/MHz = 1e6 / cycles per iteration."""
    from edgeml_runners.cycle_model import estimate

    lo, hi = iterations
    if not 0 < lo < hi:
        raise SystemExit(f"iterations {iterations}: need 0 < first < second")
    with tempfile.TemporaryDirectory(prefix="edgeml-coremark-") as tmp:
        elf = build_coremark(root, core, opt, Path(work or tmp))
        runs = {}
        for n in (lo, hi):
            run = run_function(elf, core, "main", writes={"seed4_volatile": n}, reads=("edgeml_coremark_out",),
                               max_instructions=2_000_000 * n + 5_000_000)
            out = run.memory["edgeml_coremark_out"].split(b"\0", 1)[0].decode("ascii", "replace")
            if "2K performance run parameters for coremark." not in out or _CRC_ERROR.search(out):
                raise SystemExit(f"CoreMark on {core} {opt}, {n} iterations, did not validate:\n{out}")
            if f"Iterations       : {n}\n" not in out:
                raise SystemExit(f"CoreMark on {core} {opt} ran a different iteration count than {n}:\n{out}")
            runs[n] = (estimate(core, run.blocks), run.seconds)
    d_cycles = (runs[hi][0].cycles - runs[lo][0].cycles) / (hi - lo)
    d_instr = (runs[hi][0].instructions - runs[lo][0].instructions) / (hi - lo)
    per_mhz = 1e6 / d_cycles
    published = COREMARK_PUBLISHED[core]
    return CoreMarkResult(core, opt, (lo, hi), d_instr, d_cycles, d_cycles / d_instr, per_mhz, published,
                          published / per_mhz, runs[lo][1] + runs[hi][1])


def print_coremark(opts: list[str]) -> int:
    root = coremark_root()
    if root is None:
        print(f"{COREMARK_ENV} is not set: {COREMARK_FETCH}", file=sys.stderr)
        return 2
    print(f"CoreMark from {root}, our bare-metal port, arm-none-eabi-gcc + newlib-nano, unicorn, "
          f"cycle model of plugins/edgeml_runners/cycle_model.py; (3 - 1 iterations) / 2")
    print(f"{'core':<14} {'opt':<4} {'instr/iter':>10} {'cycles/iter':>11} {'CPI':>5} {'CM/MHz':>6} "
          f"{'Arm':>5} {'ratio':>6} {'unicorn s':>9}")
    for opt in opts:
        for core in CORE_FLAGS:
            r = coremark_check(root, core, opt)
            print(f"{core:<14} {opt:<4} {r.instructions_per_iteration:>10,.0f} {r.cycles_per_iteration:>11,.0f} "
                  f"{r.cpi:>5.2f} {r.coremark_per_mhz:>6.2f} {r.published:>5.2f} {r.ratio:>6.3f} "
                  f"{r.unicorn_seconds:>9.2f}", flush=True)
    print("ratio = our cycles per iteration / the published figure's (> 1: the model predicts slower)")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--elf", type=Path)
    ap.add_argument("--entry", default="main")
    ap.add_argument("--core", choices=sorted(CORE_FLAGS))
    ap.add_argument("--published-cycles", type=float)
    ap.add_argument("--label", default="")
    ap.add_argument("--coremark", action="store_true",
                    help=f"CoreMark from ${COREMARK_ENV} on every core vs Arm's CoreMark/MHz (-O2)")
    ap.add_argument("--o3", action="store_true", help="with --coremark: -O3 as well")
    args = ap.parse_args()

    if args.coremark:
        return print_coremark(["-O2", "-O3"] if args.o3 else ["-O2"])

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
