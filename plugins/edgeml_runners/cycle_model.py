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

The cost tables per core, with their sources and how far off the model may be, are in
:mod:`edgeml_runners.cost_tables`.
"""

from __future__ import annotations

from dataclasses import dataclass

import edgeml

from edgeml_runners.cost_tables import _FPU_CLASSES, CORES, CoreModel, core_model  # noqa: F401 (CORES: the cores estimate() knows)
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



# Classes whose cost differs taken / not taken; only branch_cond can be not taken.
BRANCH_CLASSES = frozenset({"branch", "branch_cond", "branch_link", "branch_indirect",
                            "branch_table", "pop_pc", "load_pc"})


# -- pairing classes (Cortex-M7 dual issue) ------------------------------------------------------

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
