"""Executed Thumb-2 code as instruction classes, the unit the cycle model prices.

:func:`classify` decodes a basic block's bytes with capstone (Thumb, M-profile)
and names each instruction's class (``alu``, ``load``, ``mul_mac``,
``branch_cond``, ``fpu_div``...) with the register count of multiple
transfers; :mod:`edgeml_runners.cycle_model` prices the classes per core.
Decoded blocks are cached by address and bytes. An IT block's state is tracked inside a block;
:func:`it_left_after` carries it into the block that follows, for a block unicorn ended inside one.
"""

from __future__ import annotations

import edgeml

_NAMES = {
    "mul_32": {"mul", "smulbb", "smulbt", "smultb", "smultt", "smulwb", "smulwt", "smmul", "smmulr",
               "smuad", "smuadx", "smusd", "smusdx"},
    "mul_mac": {"mla", "mls", "smlabb", "smlabt", "smlatb", "smlatt", "smlawb", "smlawt", "smlad",
                "smladx", "smlsd", "smlsdx", "smmla", "smmlar", "smmls", "smmlsr", "usada8"},
    "mul_long": {"umull", "smull"},
    "mac_long": {"umlal", "smlal", "smlalbb", "smlalbt", "smlaltb", "smlaltt", "smlald", "smlaldx",
                 "smlsld", "smlsldx", "umaal"},
    "div": {"sdiv", "udiv"},
    "load": {"ldr", "ldrb", "ldrh", "ldrsb", "ldrsh", "ldrt", "ldrbt", "ldrht", "ldrsbt", "ldrsht",
             "ldrex", "ldrexb", "ldrexh", "lda", "ldab", "ldah", "ldaex", "ldaexb", "ldaexh", "pld", "pli"},
    "store": {"str", "strb", "strh", "strt", "strbt", "strht", "strex", "strexb", "strexh", "stl",
              "stlb", "stlh", "stlex", "stlexb", "stlexh"},
    "barrier": {"dmb", "dsb", "isb"},
    "nop": {"nop", "hint", "yield"},
    "other": {"svc", "bkpt", "cpsid", "cpsie", "cps", "mrs", "msr", "wfi", "wfe", "sev", "udf", "clrex"},
    "fpu_mac": {"vmla", "vmls", "vnmla", "vnmls", "vfma", "vfms", "vfnma", "vfnms"},
    "fpu_move": {"vmrs", "vmsr", "fmstat"},
    "fpu_load": {"vldr"},
    "fpu_store": {"vstr"},
    "fpu_load_multiple": {"vldmia", "vldmdb", "vldm", "vpop"},
    "fpu_store_multiple": {"vstmia", "vstmdb", "vstm", "vpush"},
}
_BY_NAME = {name: cls for cls, names in _NAMES.items() for name in names}
_LDM = {"ldm", "ldmia", "ldmdb", "ldmfd", "ldmea", "ldrd"}
_STM = {"stm", "stmia", "stmdb", "stmfd", "stmea", "strd"}

_cache: dict[tuple[int, bytes, int], tuple[list[tuple[str, int]], int]] = {}
_md = None


def _disassembler():
    global _md
    if _md is None:
        import capstone
        _md = capstone.Cs(capstone.CS_ARCH_ARM, capstone.CS_MODE_THUMB | capstone.CS_MODE_MCLASS)
        _md.detail = False
    return _md


def _reglist(op_str: str) -> list[str]:
    lo, hi = op_str.find("{"), op_str.find("}")
    if lo < 0 or hi < lo:
        return []
    return [r.strip() for r in op_str[lo + 1:hi].split(",") if r.strip()]


def _words(regs: list[str]) -> int:
    """32-bit words moved by a VLDM/VSTM register list (a D register is two)."""
    return sum(2 if r.startswith("d") else 1 for r in regs)


_CONDS = ("eq", "ne", "cs", "hs", "cc", "lo", "mi", "pl", "vs", "vc", "hi", "ls", "ge", "lt", "gt", "le")


def _is_conditional(mnemonic: str, base: str) -> bool:
    m = mnemonic.split(".")[0]
    return m != base and m[len(base):] in _CONDS if m.startswith(base) else False


def _classify_one(name: str, mnemonic: str, op_str: str, in_it: bool) -> tuple[str, int]:
    ops = op_str.replace(" ", "")
    if name == "it":
        return "it", 0
    if name in ("b", "cbz", "cbnz"):
        cond = name != "b" or _is_conditional(mnemonic, "b") or in_it
        return ("branch_cond" if cond else "branch"), 0
    if name in ("bl", "blx", "bx"):
        if in_it:
            return "branch_cond", 0
        return ("branch_link" if name == "bl" else "branch_indirect"), 0
    if name in ("tbb", "tbh"):
        return "branch_table", 0
    if name in ("pop", "push") or name in _LDM or name in _STM:
        regs = _reglist(op_str)
        n = len(regs) if regs else 2  # LDRD/STRD: two registers
        if "pc" in regs:
            return "pop_pc", n
        if name == "pop":
            return "pop", n
        if name == "push":
            return "push", n
        return ("load_multiple" if name in _LDM else "store_multiple"), n
    if name.startswith("ldr") and ops.startswith("pc,"):
        return "load_pc", 0
    if ops.startswith("pc,") and name in ("mov", "add"):
        return ("branch_cond" if in_it else "branch_indirect"), 0
    cls = _BY_NAME.get(name)
    if cls is not None:
        if cls in ("fpu_load_multiple", "fpu_store_multiple"):
            return cls, _words(_reglist(op_str))
        return cls, 0
    if name in ("vdiv", "vsqrt"):
        f64 = ".f64" in mnemonic
        return f"fpu_{name[1:]}{'_f64' if f64 else ''}", 0
    if name == "vmov":
        # core <-> FPU transfer when a core register (r0-r12, sp, lr) is an operand
        core = any(o in {f"r{i}" for i in range(13)} | {"sp", "lr", "ip", "fp", "sb", "sl"}
                   for o in ops.split(","))
        return ("fpu_move" if core else "fpu_arith"), 0
    if name.startswith("v"):
        return "fpu_arith", 0
    return "alu", 0


def classify(code: bytes, address: int, it_left: int = 0) -> list[tuple[str, int]]:
    """``(class, n)`` for each instruction of a Thumb-2 block (``n``: registers moved by a
    multiple transfer, else 0). ``it_left``: instructions of an IT block opened before ``code``
    that are still to run (unicorn can end a block inside an IT block, at a page boundary: the
    next block's first instructions are then conditional; :func:`it_left_after` gives the count).
    Cached by ``(address, code, it_left)``. Bytes that do not decode raise ``edgeml.DataError``
    with the address."""
    return _decode(code, address, it_left)[0]


def it_left_after(code: bytes, address: int, it_left: int = 0) -> int:
    """How many instructions of an IT block are still to run after ``code``'s last instruction (0
    unless the block ends inside one); ``it_left`` as for :func:`classify`."""
    return _decode(code, address, it_left)[1]


def _decode(code: bytes, address: int, it_left: int) -> tuple[list[tuple[str, int]], int]:
    key = (address, bytes(code), int(it_left))
    hit = _cache.get(key)
    if hit is not None:
        return hit
    md = _disassembler()
    out: list[tuple[str, int]] = []
    size = 0
    it_left = key[2]
    for _addr, length, mnemonic, op_str in md.disasm_lite(key[1], address):
        base = mnemonic.split(".")[0]
        name = _canonical(base)
        out.append(_classify_one(name, mnemonic, op_str, in_it=it_left > 0))
        it_left = len(base) - 1 if name == "it" else max(0, it_left - 1)
        size += length
    if size != len(key[1]):
        raise edgeml.DataError(
            f"cycle model: bytes at {address + size:#x} do not decode as Thumb-2 (block at {address:#x}, "
            f"{len(key[1])} bytes): profile the code with unicorn's Thumb mode and pass the executed bytes")
    _cache[key] = (out, it_left)
    return out, it_left


_suffix_cache: dict[str, str] = {}
_KNOWN = (set(_BY_NAME) | _LDM | _STM | {"it", "b", "cbz", "cbnz", "bl", "blx", "bx", "tbb", "tbh", "pop",
                                          "push", "vdiv", "vsqrt", "vmov", "mov", "add"})


def _canonical(base: str) -> str:
    """Mnemonic without condition code and flag-setting suffix: 'addeq' -> 'add', 'bne' -> 'b',
    'ldrbeq' -> 'ldrb', 'muls' -> 'mul', 'ite' -> 'it'."""
    hit = _suffix_cache.get(base)
    if hit is not None:
        return hit
    name = base
    if base.startswith("it") and len(base) <= 5 and set(base[2:]) <= {"t", "e"}:
        name = "it"
    elif base not in _KNOWN:
        cand = base
        if cand[-2:] in _CONDS and cand[:-2]:
            cand = cand[:-2]
        if cand not in _KNOWN and cand.endswith("s") and cand[:-1] in _KNOWN:
            cand = cand[:-1]
        if cand in _KNOWN:
            name = cand
        elif base.endswith("s") and base[:-1] in _KNOWN:
            name = base[:-1]
        elif base[:-2] in _KNOWN and base[-2:] in _CONDS:
            name = base[:-2]
    _suffix_cache[base] = name
    return name


# -- pricing -----------------------------------------------------------------------------------
