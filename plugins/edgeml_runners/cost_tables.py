"""The cycle model's per-core cost tables: what one instruction of each class costs on each core,
and where each figure comes from (:mod:`edgeml_runners.cycle_model` prices executed blocks with them).

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

CORES = ("cortex-m0plus", "cortex-m3", "cortex-m4", "cortex-m7")
ALIASES = {"cortex-m0": "cortex-m0plus"}

#: FPU instruction classes (cores without an FPU cannot run them; the M7 pairs at most one).
_FPU_CLASSES = frozenset({"fpu_arith", "fpu_mac", "fpu_div", "fpu_sqrt", "fpu_div_f64", "fpu_sqrt_f64",
                          "fpu_load", "fpu_store", "fpu_load_multiple", "fpu_store_multiple", "fpu_move"})


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
