"""Cycles from executed Thumb-2 basic blocks: a per-core cost model built from the cores' manuals.

The emulator runner counts how often each basic block ran in unicorn; ``estimate(core, blocks)``
has every block decoded once into instruction classes (:mod:`edgeml_runners.thumb_classes`,
capstone) and prices each class with the core's documented cycle count. It is a static, in-order
model: no caches, no bus contention, no data-dependent timing (early-terminating divides and
multiplies take a documented middle), **zero-wait-state memory**. A part running from flash with
wait states (for example a 48 MHz M0+ or an M4 above about 30 MHz without an accelerator) is slower
than this figure by roughly its wait states times its fetch rate.

Blocks split by the emulator at page boundaries are priced as one. unicorn (QEMU's translator) ends a
block at every 1 KB page boundary and at its block size limit, not only at branches, so a loop body
across 0x...400 runs as two blocks: A, ending at the boundary with no branch, and B, starting there.
Priced apart, what crosses the cut is lost (an M4 load at the start of B after a load at the end of
A costs 2 instead of 1; on the M7 A's last and B's first instruction cannot pair), and the same code
costs up to several per cent more at another address. So when A's last instruction does not change
control flow (no branch, return, POP/LDR to PC, TBB/TBH) and an executed block B starts at A's end
address, A's executions -- all of them, less any the profile counts as taken (a call that stopped
there) -- continued into B: min(that, B's executions) of B's executions are priced as the one block
A+B (A's last instructions in front of B's: load pipelining and pairing run across the cut, and an
IT block the cut falls in keeps B's first instructions conditional); B's other executions came from
a jump and keep B's own price. A 32-bit instruction across the boundary runs as a block of its own,
so a cut can make a chain A -> S -> B: B is then priced behind A and S (the M7 pairs S once, not
with both). Several blocks ending or starting at one address share the entries in address order.
The M0+ costs carry nothing from one instruction to the next: nothing changes
there. A section of a run (the emulator runner's marks) takes the entries from the whole run, each
block its share by its executions in the section, so the sections still add up to the run.

Instruction classes (``thumb_classes.classify`` returns ``(class, n)``, ``n`` the register count for
LDM/STM/PUSH/POP/VLDM/VSTM/VPUSH/VPOP and LDRD/STRD, else 0):

    alu            data processing, moves, shifts, compares, extends, bitfield, saturate, SIMD 8/16-bit
    mul_32         MUL, SMULxy, SMULWx, SMMUL, SMUAD/SMUSD           (32-bit result)
    mul_mac        MLA, MLS, SMLAxy, SMLAWx, SMLAD/SMLSD, SMMLA/SMMLS, USADA8
    mul_long       UMULL, SMULL                                       (64-bit result)
    mac_long       UMLAL, SMLAL, SMLALxy, SMLALD/SMLSLD, UMAAL
    div            SDIV, UDIV
    load / store   single LDR*/STR* (and LDREX/STREX)
    load_multiple / store_multiple   LDM/LDRD, STM/STRD (n registers)
    push / pop     PUSH, POP without PC (n registers)
    branch         B (unconditional)
    branch_cond    B<cc>, CBZ/CBNZ, any branch inside an IT block: priced taken or not taken
    branch_link    BL
    branch_indirect  BX, BLX, MOV PC / ADD PC
    branch_table   TBB, TBH
    pop_pc         POP/LDM with PC in the list (n registers, PC included)
    load_pc        LDR PC, ...
    it             IT
    fpu_arith      VADD/VSUB/VMUL/VNMUL/VABS/VNEG/VCVT/VCMP/VMOV imm/reg/VSEL/VMAXNM/VRINT...
    fpu_mac        VMLA/VMLS/VNMLA/VNMLS/VFMA/VFMS/VFNMA/VFNMS
    fpu_div / fpu_sqrt           VDIV.F32 / VSQRT.F32
    fpu_div_f64 / fpu_sqrt_f64   VDIV.F64 / VSQRT.F64 (Cortex-M7 double-precision FPU only)
    fpu_load / fpu_store         VLDR / VSTR
    fpu_load_multiple / fpu_store_multiple   VLDM/VPOP, VSTM/VPUSH (n = 32-bit words moved)
    fpu_move       VMOV core<->FPU, VMRS, VMSR
    nop, barrier (DMB/DSB/ISB), other (SVC, BKPT, CPS, MRS, MSR, WFI, ...)

Cost tables (cycles, zero wait states; P = pipeline refill):

* cortex-m0plus -- ARM DDI 0484C (Cortex-M0+ TRM) section 3.3, "Instruction set summary"
  (the ARMv6-M instruction timing table): ALU 1; MULS 1 with the single-cycle multiplier (the
  default, ``fast_multiplier=True``) or 32 with the iterative one; LDR/STR 2; LDM/STM 1+N;
  PUSH 1+N; POP 1+N; POP {..,pc} 3+N; B<cc> 1 not taken / 2 taken; B 2; BL 3; BX/BLX 2;
  DMB/DSB/ISB 3; MRS/MSR 3. ``cortex-m0`` is accepted as an alias of these costs: the Cortex-M0
  (DDI 0432C, section 3.3) has a 3-stage pipeline and pays one cycle more per taken branch
  (B 3, BL 4, BX 3, POP {pc} 4+N), so an M0 figure from this model is low by about one cycle per
  taken branch.
* cortex-m3 -- ARM DDI 0337I (Cortex-M3 TRM) section 3.3.1, Table 3-1: as M4 below except MLA/MLS 2,
  UMULL/SMULL 3-5 (we take 4), UMLAL/SMLAL 4-7 (we take 6), no DSP and no FPU instructions.
* cortex-m4 -- ARM DDI 0439B (Cortex-M4 TRM) section 3.3.1, Table 3-1 "Cortex-M4 instruction set
  summary", and 3.3.2 "Load/store timings": ALU 1; MUL, MLA, SMULL/UMLAL and the DSP MACs 1
  (Table 3-1 lists every multiply and multiply-accumulate at 1 on the M4); SDIV/UDIV 2-12
  (early termination on the operands' magnitude: we take the middle, 7); LDR 2, but 1 when it
  follows another load or store single (3.3.2: "LDR [any] are pipelined when possible" -- we apply
  it to a load whose predecessor -- in the same block, or the last instruction of a block the
  emulator split from it, see above -- is a single load or store); STR 1 (3.3.2:
  "STR Rx,[Ry,#imm] is always one cycle", the write buffer); LDM/STM/PUSH/POP 1+N; LDRD/STRD 1+N
  with N=2; B<cc> 1 not taken / 1+P taken; B, BL, BX, BLX, MOV PC 1+P; TBB/TBH 2+P; LDR PC 2+P;
  POP {..,pc} 1+N+P; IT 1 (it can fold into a preceding 16-bit instruction: not modelled);
  DMB/DSB 1, ISB 1+P. P "ranges from 1 to 3 depending on the alignment and width of the target
  instruction, and whether the processor manages to speculate the address early": we take P = 2,
  the middle (a 32-bit or unaligned target costs 3 total, an aligned 16-bit target 2).
  FPU: DDI 0439B section 7.2.3, Table 7-1 "FPU instruction set": VADD/VSUB/VMUL/VNMUL/VABS/VNEG/
  VCVT/VCMP/VMOV 1; VMLA/VMLS/VNMLA/VNMLS/VFMA/VFMS/VFNMA/VFNMS 3; VDIV 14; VSQRT 14; VLDR/VSTR 2;
  VLDM/VSTM/VPUSH/VPOP 1+N; VMOV core<->S 1, two core registers <->D 2 (we price 1); VMRS/VMSR 1.
* cortex-m7 -- ARM DDI 0489F (Cortex-M7 TRM) publishes **no cycle table**. Section 1.2 ("Features")
  describes an in-order, 6-stage, dual-issue superscalar pipeline with a branch target address
  cache and 64-bit instruction and data interfaces. The model is a documented approximation with a
  larger error: single-issue costs ALU/MUL/MAC/long MAC 1, LDR/STR 1, LDM/STM/PUSH/POP
  1+ceil(N/2) (64-bit data path), SDIV/UDIV 7 (middle, as M4), branches 1 not taken / 2 taken
  (predicted branches cost about 1, a mispredicted one about 8; 2 is an assumed average), TBB/TBH
  and LDR PC 4, FPU VADD/VMUL/VFMA 1, VMLA 2, VDIV.F32/VSQRT.F32 14, VDIV.F64/VSQRT.F64 29 (Arm's
  published FPU latencies for the M7), VLDR/VSTR 1, VLDM 1+ceil(N/2). Dual issue: two neighbouring
  instructions of a block (blocks the emulator split count as one, see above) issue together (the
  pair costs the larger of the two) when neither is a divide, a multiple transfer, a barrier or an
  FPU divide/square root, at most one is a memory access, at most one a multiply and at most one an
  FPU operation; a branch can only be the second of a pair. An all-ALU stream therefore costs 0.5
  cycles per instruction.

How far off it may be
---------------------
Checked against Arm's published CoreMark/MHz (M0+ 2.46, M3 3.34, M4 3.40, M7 5.01). CoreMark
(eembc/coremark, commit d5fad6b; its source may not be committed here, so it is fetched and named
by an environment variable) is built with Debian arm-none-eabi-gcc 12.2 and newlib-nano for each
core with our own bare-metal port (constant clock, ee_printf into a RAM buffer that the host reads
to check CoreMark's own list/matrix/state CRCs), run in unicorn 2.1.4 with 1 and 3 iterations of
the same image, and the difference divided by 2 gives cycles per iteration (setup and reporting
cancel); CoreMark/MHz = 1e6 / that. Reproduce the table with

    git clone https://github.com/eembc/coremark /tmp/coremark-src
    git -C /tmp/coremark-src checkout d5fad6b
    EDGEML_COREMARK_ROOT=/tmp/coremark-src python benchmarks/cycle_model_check.py --coremark --o3

Ratio = our cycles per iteration / the published figure's (> 1: we predict slower):

    core            -O2: instr/iter  CPI   CM/MHz  ratio     -O3: instr/iter  CPI   CM/MHz  ratio
    cortex-m0plus        379,300    1.36   1.94    1.27          370,375    1.38   1.96    1.25
    cortex-m3            294,627    1.44   2.36    1.41          290,358    1.39   2.47    1.35
    cortex-m4            294,630    1.41   2.41    1.41          290,325    1.37   2.51    1.35
    cortex-m7 (approx.)  291,303    0.73   4.68    1.07          280,983    0.72   4.95    1.01

Read these with care: Arm's figures come from Arm's own compiler with CoreMark-tuned options; GCC's
code for the M4 already needs 290 K instructions per iteration, and the published 3.40 leaves
294 K cycles for it, a CPI of 1.01 that no M4 reaches with 2-cycle loads and 2-4-cycle taken
branches. Part of the 1.35-1.41 gap is therefore the compiler, not the cost table. Published M0+
boards span 1.77-2.46 CoreMark/MHz by compiler (Atmel SAM D20 2.14, element14 1.77, Arm 2.46, as
cited on electronics.stackexchange.com question 330650); our 1.94-1.96 sits inside that span. The
largest single assumption on M3/M4 is P = 2: with P = 1 the M4 -O3 estimate drops 8.5 % (2.75
CoreMark/MHz). The M7 ratio of 1.01-1.07 is partly luck: the dual-issue rule and the branch
average are assumptions, not TRM figures; treat M7 figures as +-30 %. So: expect this model to
predict 25-45 % more cycles than Arm's figures and up to about 40 % more than a zero-wait-state
board running GCC-built code on M0+/M3/M4 (CPI 1.3-1.45 on integer control code), and more error
on M7; flash wait states on a real part push the board's figure up, towards or past ours.
tests/plugins/edgeml_runners/test_cycle_model_coremark.py (run when EDGEML_COREMARK_ROOT is set)
fails if the M4 -O2 ratio leaves 1.1-1.6.

Speed: a 10,000-block profile (CoreMark's blocks at 10,000 distinct addresses) takes about 0.2 s on
the first call (120 ms of capstone decoding) and 12 ms once the blocks are cached (7 ms of it the
per-block sums, the rest finding the blocks that fell through into another).

unicorn 2.1.4 note: its cortex-m7 model rejects double-precision VFP instructions (vadd.f64 raises
UC_ERR_INSN_INVALID), so an M7 build for the emulator uses -mfpu=fpv5-sp-d16; the f64 classes here
are priced for completeness.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from math import ceil

import edgeml
from edgeml_runners.thumb_classes import classify, it_left_after


@dataclass
class BlockProfile:
    """One executed basic block: its start address, its bytes, how often it ran and how often
    it ended with a taken branch (the next block did not start at address + len(code))."""

    address: int
    code: bytes
    executions: int
    taken: int


@dataclass
class CycleEstimate:
    """Cycles for a whole profile, split by instruction class, with the model that produced them."""

    cycles: int
    instructions: int
    by_class: dict[str, dict[str, int]]
    source: str
    core: str


CORES = ("cortex-m0plus", "cortex-m3", "cortex-m4", "cortex-m7")
ALIASES = {"cortex-m0": "cortex-m0plus"}

# Classes whose cost differs taken / not taken; only branch_cond can be not taken.
BRANCH_CLASSES = frozenset({"branch", "branch_cond", "branch_link", "branch_indirect",
                            "branch_table", "pop_pc", "load_pc"})


@dataclass(frozen=True)
class Cost:
    """Cycles of one instruction: ``base + per_reg * n``; a conditional branch costs ``base``
    when not taken and ``taken + per_reg * n`` when taken; ``per_reg_div`` > 1 moves that many
    registers per cycle (the M7's 64-bit path)."""

    base: float
    per_reg: float = 0.0
    taken: float | None = None
    per_reg_div: int = 1

    def cycles(self, n: int, taken: bool = False) -> float:
        extra = self.per_reg * (ceil(n / self.per_reg_div) if self.per_reg_div > 1 else n)
        if taken and self.taken is not None:
            return self.taken + extra
        return self.base + extra


@dataclass(frozen=True)
class CoreModel:
    core: str
    costs: dict[str, Cost]
    source: str
    pipelined_loads: bool = False      # M3/M4: a load after a load/store single costs 1
    dual_issue: bool = False           # M7
    unsupported: frozenset[str] = field(default_factory=frozenset)


# -- cost tables -------------------------------------------------------------------------------

_M0PLUS_SOURCE = ("Cortex-M0+ costs from ARM DDI 0484C (Cortex-M0+ TRM) s3.3 instruction set summary: "
                  "ALU 1, LDR/STR 2, LDM/STM/PUSH/POP 1+N, POP{{pc}} 3+N, B taken 2, BL 3, MULS {mul}")


def _m0plus(fast_multiplier: bool) -> dict[str, Cost]:
    mul = 1.0 if fast_multiplier else 32.0
    return {
        "alu": Cost(1), "mul_32": Cost(mul), "load": Cost(2), "store": Cost(2),
        "load_multiple": Cost(1, 1), "store_multiple": Cost(1, 1), "push": Cost(1, 1), "pop": Cost(1, 1),
        "branch": Cost(2, taken=2), "branch_cond": Cost(1, taken=2), "branch_link": Cost(3, taken=3),
        "branch_indirect": Cost(2, taken=2), "pop_pc": Cost(3, 1, taken=3),
        "load_pc": Cost(4, taken=4),  # not encodable in ARMv6-M Thumb; LDR 2 + refill 2 if seen
        "nop": Cost(1), "barrier": Cost(3), "other": Cost(3),  # MRS/MSR 3, CPS 1, SVC/BKPT exceptions
    }


_P = 2.0  # Cortex-M3/M4 pipeline refill, 1-3 in DDI 0439B Table 3-1: the middle


def _v7m(long_mul: float, long_mac: float, mac: float) -> dict[str, Cost]:
    return {
        "alu": Cost(1), "mul_32": Cost(1), "mul_mac": Cost(mac), "mul_long": Cost(long_mul),
        "mac_long": Cost(long_mac), "div": Cost(7),
        "load": Cost(2), "store": Cost(1),
        "load_multiple": Cost(1, 1), "store_multiple": Cost(1, 1), "push": Cost(1, 1), "pop": Cost(1, 1),
        "branch": Cost(1 + _P, taken=1 + _P), "branch_cond": Cost(1, taken=1 + _P),
        "branch_link": Cost(1 + _P, taken=1 + _P), "branch_indirect": Cost(1 + _P, taken=1 + _P),
        "branch_table": Cost(2 + _P, taken=2 + _P), "pop_pc": Cost(1 + _P, 1, taken=1 + _P),
        "load_pc": Cost(2 + _P, taken=2 + _P),
        "it": Cost(1), "nop": Cost(1), "barrier": Cost(1), "other": Cost(1),
    }


def _m4_fpu() -> dict[str, Cost]:
    return {
        "fpu_arith": Cost(1), "fpu_mac": Cost(3), "fpu_div": Cost(14), "fpu_sqrt": Cost(14),
        "fpu_load": Cost(2), "fpu_store": Cost(2),
        "fpu_load_multiple": Cost(1, 1), "fpu_store_multiple": Cost(1, 1), "fpu_move": Cost(1),
    }


def _m7() -> dict[str, Cost]:
    half = {"per_reg_div": 2}
    return {
        "alu": Cost(1), "mul_32": Cost(1), "mul_mac": Cost(1), "mul_long": Cost(1), "mac_long": Cost(1),
        "div": Cost(7), "load": Cost(1), "store": Cost(1),
        "load_multiple": Cost(1, 1, **half), "store_multiple": Cost(1, 1, **half),
        "push": Cost(1, 1, **half), "pop": Cost(1, 1, **half),
        "branch": Cost(2, taken=2), "branch_cond": Cost(1, taken=2), "branch_link": Cost(2, taken=2),
        "branch_indirect": Cost(2, taken=2), "branch_table": Cost(4, taken=4),
        "pop_pc": Cost(2, 1, taken=2, **half), "load_pc": Cost(4, taken=4),
        "it": Cost(1), "nop": Cost(1), "barrier": Cost(1), "other": Cost(1),
        "fpu_arith": Cost(1), "fpu_mac": Cost(1), "fpu_div": Cost(14), "fpu_sqrt": Cost(14),
        "fpu_div_f64": Cost(29), "fpu_sqrt_f64": Cost(29),
        "fpu_load": Cost(1), "fpu_store": Cost(1),
        "fpu_load_multiple": Cost(1, 1, **half), "fpu_store_multiple": Cost(1, 1, **half),
        "fpu_move": Cost(1),
    }


_ZERO_WAIT = ("; zero-wait-state memory assumed (flash wait states, e.g. on a 48 MHz part, make a "
              "real board slower)")


def _checked(ratio: str) -> str:
    return (f"; CoreMark check (GCC 12 -O2/-O3, unicorn) vs Arm's published CoreMark/MHz: "
            f"estimate/published cycles {ratio}")


def core_model(core: str, *, fast_multiplier: bool = True) -> CoreModel:
    """The cost table of ``core``; unknown cores raise ``edgeml.ConfigError`` naming the known ones."""
    name = ALIASES.get(core, core)
    if name == "cortex-m0plus":
        src = _M0PLUS_SOURCE.format(mul="1 (single-cycle multiplier)" if fast_multiplier
                                    else "32 (iterative multiplier)")
        if core == "cortex-m0":
            src += ("; cortex-m0 aliased to the M0+ costs (DDI 0432C s3.3: the M0 pays 1 more cycle "
                    "per taken branch, so this is low for an M0)")
        v7m_only = {"mul_mac", "mul_long", "mac_long", "div", "branch_table", "load_pc", "it"}
        return CoreModel(core, _m0plus(fast_multiplier), src + _ZERO_WAIT + _checked("1.25-1.27"),
                         unsupported=frozenset(v7m_only | _FPU_CLASSES))
    if name == "cortex-m3":
        return CoreModel(core, _v7m(long_mul=4, long_mac=6, mac=2),
                         "Cortex-M3 costs from ARM DDI 0337I (Cortex-M3 TRM) s3.3.1 Table 3-1: ALU 1, "
                         "LDR 2 (1 pipelined after a load/store), STR 1, MUL 1, MLA 2, UMULL 4 (3-5), "
                         "UMLAL 6 (4-7), SDIV 7 (2-12), taken branch 1+P with P=2, LDM 1+N" + _ZERO_WAIT + _checked("1.35-1.41"),
                         pipelined_loads=True, unsupported=frozenset(_FPU_CLASSES))
    if name == "cortex-m4":
        costs = {**_v7m(long_mul=1, long_mac=1, mac=1), **_m4_fpu()}
        return CoreModel(core, costs,
                         "Cortex-M4 costs from ARM DDI 0439B (Cortex-M4 TRM) s3.3.1 Table 3-1 and s3.3.2: "
                         "ALU 1, LDR 2 (1 pipelined after a load/store), STR 1, MUL/MLA/long MAC 1, "
                         "SDIV 7 (2-12), taken branch 1+P with P=2, TBB 2+P, LDM 1+N; FPU s7.2.3 Table 7-1: "
                         "VADD/VMUL 1, VMLA/VFMA 3, VDIV/VSQRT 14, VLDR 2, VLDM 1+N" + _ZERO_WAIT + _checked("1.35-1.41"),
                         pipelined_loads=True, unsupported=frozenset({"fpu_div_f64", "fpu_sqrt_f64"}))
    if name == "cortex-m7":
        return CoreModel(core, _m7(),
                         "Cortex-M7 APPROXIMATION (ARM DDI 0489F, Cortex-M7 TRM, has no cycle table; "
                         "larger error than M0+/M4): dual issue of neighbouring ALU/load/MAC pairs, "
                         "single-issue ALU/LDR/STR/MUL 1, LDM 1+N/2, branch 1 not taken / 2 taken "
                         "(predicted), SDIV 7, VDIV.F32 14, VDIV.F64 29" + _ZERO_WAIT + _checked("1.01-1.07"),
                         dual_issue=True)
    raise edgeml.ConfigError(
        f"unknown core {core!r} for the cycle model: use one of {', '.join(CORES)} "
        f"(or the alias cortex-m0)")


# -- pairing classes (Cortex-M7 dual issue) ------------------------------------------------------

_FPU_CLASSES = frozenset({"fpu_arith", "fpu_mac", "fpu_div", "fpu_sqrt", "fpu_div_f64", "fpu_sqrt_f64",
                          "fpu_load", "fpu_store", "fpu_load_multiple", "fpu_store_multiple", "fpu_move"})
_MEMORY = frozenset({"load", "store", "fpu_load", "fpu_store"})
_MULTIPLY = frozenset({"mul_32", "mul_mac", "mul_long", "mac_long"})
_NO_PAIR = frozenset({"div", "load_multiple", "store_multiple", "push", "pop", "barrier", "other",
                      "fpu_div", "fpu_sqrt", "fpu_div_f64", "fpu_sqrt_f64", "fpu_load_multiple",
                      "fpu_store_multiple", "branch_table", "load_pc", "pop_pc"})

#: Priced blocks by (core, fast multiplier, address, bytes): a profile repeats blocks across calls.
_block_cache: dict[tuple[str, bool, int, bytes], tuple] = {}


def _price_block(model: CoreModel, classes: list[tuple[str, int]], address: int):
    """Per-class (instructions, cycles if the final branch is not taken, cycles if taken)."""
    costs = model.costs
    per: list[float] = []
    for i, (cls, n) in enumerate(classes):
        cost = costs.get(cls)
        if cost is None:
            if cls in model.unsupported:
                raise edgeml.ConfigError(
                    f"cycle model: the block at {address:#x} has a {cls} instruction that {model.core} "
                    f"does not have: build the firmware with -mcpu={model.core} (and its -mfpu)")
            cost = costs["other"]
        c = cost.cycles(n)
        if model.pipelined_loads and cls == "load" and i > 0 and classes[i - 1][0] in ("load", "store"):
            c = 1.0
        per.append(c)
    last = len(classes) - 1
    last_cls = classes[last][0] if classes else ""
    taken_cost = per[last] if classes else 0.0
    if last_cls in BRANCH_CLASSES:
        taken_cost = costs[last_cls].cycles(classes[last][1], taken=True)
        if last_cls != "branch_cond":
            per[last] = taken_cost  # unconditional: always taken
    per_t = list(per)
    if classes:
        per_t[last] = taken_cost
    if model.dual_issue:
        per, per_t = _pair(classes, per), _pair(classes, per_t)
    stats: dict[str, list[float]] = {}
    for (cls, _), c, ct in zip(classes, per, per_t):
        s = stats.setdefault(cls, [0, 0.0, 0.0])
        s[0] += 1
        s[1] += c
        s[2] += ct
    return tuple((cls, int(s[0]), s[1], s[2]) for cls, s in stats.items())


def _pairable(a: str, b: str) -> bool:
    if a in _NO_PAIR or b in _NO_PAIR or a in BRANCH_CLASSES:
        return False
    if a in _MEMORY and b in _MEMORY:
        return False
    if a in _MULTIPLY and b in _MULTIPLY:
        return False
    return not (a in _FPU_CLASSES and b in _FPU_CLASSES)


def _pair(classes: list[tuple[str, int]], per: list[float]) -> list[float]:
    """M7 dual issue: greedy pairing of neighbours; a pair costs the larger of its two costs,
    shared between them in proportion to their single-issue costs."""
    out = list(per)
    i = 0
    while i + 1 < len(classes):
        if _pairable(classes[i][0], classes[i + 1][0]):
            a, b = per[i], per[i + 1]
            m = max(a, b)
            out[i], out[i + 1] = m * a / (a + b), m * b / (a + b)
            i += 2
        else:
            i += 1
    return out


# -- blocks split by the emulator ------------------------------------------------------------------

_Key = tuple[int, bytes]

#: Boundary corrections by (core, fast multiplier, the chain ending in A, B): see :func:`_boundary`.
_boundary_cache: dict[tuple[str, bool, tuple[_Key, ...], _Key], tuple] = {}


def _priced(model: CoreModel, fast_multiplier: bool, key: _Key) -> tuple:
    cached = (model.core, fast_multiplier, *key)
    priced = _block_cache.get(cached)
    if priced is None:
        priced = _price_block(model, classify(key[1], key[0]), key[0])
        _block_cache[cached] = priced
    return priced


def _boundary(model: CoreModel, fast_multiplier: bool, chain: tuple[_Key, ...], b: _Key) -> tuple:
    """Per class ``(instructions, cycles not taken, cycles taken)`` that pricing B behind the blocks of
    ``chain`` (A last, each falling through into the next) as one block adds, for one execution of B
    entered from A: price(chain + B) - price(chain) - price(B alone). Along a chain A -> B -> C (a
    32-bit instruction across the boundary runs as a block of its own) the sums telescope to
    price(A + B + C) - the three prices apart, so the M7's pairing of B is not counted twice. Each
    block is decoded with the IT state the one before it ends in, as one block would be."""
    cache_key = (model.core, fast_multiplier, chain, b)
    hit = _boundary_cache.get(cache_key)
    if hit is not None:
        return hit
    classes: list[tuple[str, int]] = []
    it = 0
    for key in chain:
        classes += classify(key[1], key[0], it)
        it = it_left_after(key[1], key[0], it)
    head = _price_block(model, classes, chain[0][0])
    joined = _price_block(model, classes + classify(b[1], b[0], it), chain[0][0])
    delta: dict[str, list[float]] = {}
    for sign, priced in ((1, joined), (-1, head), (-1, _priced(model, fast_multiplier, b))):
        for cls, n, c_nt, c_t in priced:
            d = delta.setdefault(cls, [0, 0.0, 0.0])
            d[0] += sign * n
            d[1] += sign * c_nt
            d[2] += sign * c_t
    out = tuple((cls, int(d[0]), d[1], d[2]) for cls, d in sorted(delta.items()) if d != [0, 0.0, 0.0])
    _boundary_cache[cache_key] = out
    return out


#: How far back a chain of split blocks is followed (a chain longer than 2 or 3 is rare).
_CHAIN = 8


def _chains(flows: list[tuple[_Key, _Key, int]]) -> dict[_Key, tuple[_Key, ...]]:
    """Each block that falls through, with the blocks that fell into it in front: for A, its main
    fall-through predecessor (most entries, then lowest address), that one's, ... up to _CHAIN blocks."""
    main: dict[_Key, tuple[int, _Key]] = {}
    for a, b, n in flows:
        best = main.get(b)
        if best is None or n > best[0]:
            main[b] = (n, a)
    out = {}
    for a, _, _ in flows:
        chain = [a]
        while len(chain) < _CHAIN and chain[0] in main:
            chain.insert(0, main[chain[0]][1])
        out[a] = tuple(chain)
    return out


def _fall_throughs(totals: dict[_Key, list[int]]) -> list[tuple[_Key, _Key, int]]:
    """``(A, B, n)``: n executions of block B continued from block A without a branch.

    A falls through when its last instruction does not change control flow (unicorn ended it at a
    page boundary or its block size limit, not at a branch); its executions that the profile does not
    count as taken all went on at its end address, into the blocks starting there. B's executions
    beyond those came from jumps. Several blocks can end or start at one address (a jump into the
    middle of a block makes another, shorter one): A's are served in address order, each taking what
    is left of B's executions."""
    starts: dict[int, list[_Key]] = {}
    for key in totals:
        starts.setdefault(key[0], []).append(key)
    left: dict[_Key, int] = {}
    out = []
    for a in sorted(a for a in totals if a[0] + len(a[1]) in starts and _falls_through(a)):
        flow = totals[a][0] - totals[a][1]
        for b in sorted(starts[a[0] + len(a[1])]):
            n = min(flow, left.get(b, totals[b][0]))
            if n > 0:
                out.append((a, b, n))
                left[b] = left.get(b, totals[b][0]) - n
                flow -= n
    return out


#: Whether a block's last instruction leaves control flow alone, by (address, bytes).
_falls_cache: dict[_Key, bool] = {}


def _falls_through(key: _Key) -> bool:
    hit = _falls_cache.get(key)
    if hit is None:
        classes = classify(key[1], key[0])
        hit = _falls_cache[key] = bool(classes) and classes[-1][0] not in BRANCH_CLASSES
    return hit


def _totals(blocks: list[BlockProfile], what: str) -> dict[_Key, list[int]]:
    totals: dict[_Key, list[int]] = {}
    for b in blocks:
        if b.executions < 0 or b.taken < 0 or b.taken > b.executions:
            raise edgeml.DataError(
                f"cycle model: {what}block at {b.address:#x} has executions={b.executions}, taken={b.taken}: "
                f"taken must be between 0 and executions")
        if b.executions:
            t = totals.setdefault((b.address, bytes(b.code)), [0, 0])
            t[0] += b.executions
            t[1] += b.taken
    return totals


def estimate(core: str, blocks: list[BlockProfile], *, fast_multiplier: bool = True,
             context: list[BlockProfile] | None = None) -> CycleEstimate:
    """Cycles of a block profile on ``core`` (one of ``CORES``, or the alias cortex-m0).

    ``fast_multiplier`` only matters for cortex-m0plus (MULS 1 cycle, else 32). A block's
    ``taken`` count prices its final instruction when that is a conditional branch; unconditional
    branches are always priced taken.

    Blocks that the emulator split without a branch are priced as one (see the module docstring):
    B's executions entered from A by falling through are priced with A's last instructions in front.
    ``context`` is the whole profile that ``blocks`` is a part of (a section of a run): which block
    fell through into which is read from it, and each block here gets the share of those entries
    that its executions here are of its executions there, so the parts add up to the whole. It must
    hold every block of ``blocks`` at least as often."""
    model = core_model(core, fast_multiplier=fast_multiplier)
    counts: dict[str, float] = {}   # instructions per class: whole but for an IT block's split (see _boundary)
    cycles: dict[str, float] = {}
    totals = _totals(blocks, "")
    for key, (executions, taken) in totals.items():
        nt = executions - taken
        for cls, n, c_nt, c_t in _priced(model, fast_multiplier, key):
            counts[cls] = counts.get(cls, 0) + n * executions
            cycles[cls] = cycles.get(cls, 0.0) + c_nt * nt + c_t * taken
    whole = totals
    if context is not None:
        whole = _totals(context, "context ")
        for key, (executions, _) in totals.items():
            if whole.get(key, (0,))[0] < executions:
                raise edgeml.DataError(
                    f"cycle model: the block at {key[0]:#x} ran {executions} times but "
                    f"{whole.get(key, (0,))[0]} times in the context profile: pass the whole run's blocks "
                    f"as context")
    if model.pipelined_loads or model.dual_issue:   # the M0+ carries nothing from one instruction to the next
        flows = _fall_throughs(whole)
        chains = _chains(flows)
        for a, b, n in flows:
            mine = totals.get(b)
            if mine is None:
                continue
            entered = n * mine[0] / whole[b][0]
            entered_t = entered * mine[1] / mine[0]   # B's final branch: taken as often as in B's profile
            for cls, dn, d_nt, d_t in _boundary(model, fast_multiplier, chains[a], b):
                if dn:
                    counts[cls] = counts.get(cls, 0) + dn * entered
                cycles[cls] = cycles.get(cls, 0.0) + d_nt * (entered - entered_t) + d_t * entered_t
    by_class = {cls: {"instructions": round(counts.get(cls, 0)), "cycles": round(cycles[cls])}
                for cls in sorted(cycles) if round(counts.get(cls, 0)) or round(cycles[cls])}
    return CycleEstimate(
        cycles=sum(v["cycles"] for v in by_class.values()),
        instructions=round(sum(counts.values())),
        by_class=by_class,
        source=model.source,
        core=core,
    )
