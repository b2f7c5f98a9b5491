"""A Cortex-M firmware image in unicorn: calls of the harness, faults, the stack used, executed blocks.

unicorn 2.1 (QEMU's TCG inside) runs Thumb code in M-profile mode for a
chosen CPU model. Calls run from ``edgeml_runner_call`` with LR set to a stop
address outside the image; ``until`` ends the run when the call returns.
Counting uses a block hook (every translated block executed: its address and
byte size) and decodes the block's Thumb instruction lengths once per block:
exact, unlike the per-instruction hook, which skips IT-block instructions
whose condition fails. Without hooks the same code runs several times faster,
so only the profiled examples carry the hook.

Sections (``Program.marks``): a memory-write hook bounded to the one address
of the mark variable (cheap: other stores do not call into Python) records,
for each store, the value and the position in the call's block trace. A
block belongs to the section current when it started: the block hook fires
before a block runs and the write hook in the middle of it, so the block
holding the store is already in the trace and counts toward the previous
section; the new one starts with the next block. Every traced block lands in
exactly one section, so the sections add up to the call's instructions.
"""

from __future__ import annotations

import re
from array import array
from dataclasses import dataclass, field

import numpy as np

from edgeml import BudgetError, DataError, IncompatibleError
from edgeml_runners import harness
from edgeml_runners.elf_image import ElfImage
from edgeml_runners.linker_script import FLASH_ORIGIN, IO_ORIGIN, RAM_ORIGIN

#: unicorn CPU model per target core. unicorn has no Cortex-M0+ model: the M0 runs the same ARMv6-M
#: Thumb instruction set (ARMv6-M ARM, DDI 0419E), so it executes the same instructions.
CPU_MODELS = {"cortex-m0plus": "UC_CPU_ARM_CORTEX_M0", "cortex-m0": "UC_CPU_ARM_CORTEX_M0",
              "cortex-m3": "UC_CPU_ARM_CORTEX_M3", "cortex-m4": "UC_CPU_ARM_CORTEX_M4",
              "cortex-m7": "UC_CPU_ARM_CORTEX_M7"}
#: RISC-V cores: the SiFive E31 model is RV32IMAC, the nearest unicorn has to the ESP32-C3's RV32IMC (the
#: firmware is compiled for rv32imc, so the A extension is never used; F/D instructions trap, as on the part).
RISCV_CPU_MODELS = {"rv32imc": "UC_CPU_RISCV32_SIFIVE_E31"}

#: RISC-V exception causes (mcause, RISC-V privileged spec v1.12 Table 3.6), as unicorn's interrupt hook gives them.
RISCV_EXCEPTIONS = {0: "instruction address misaligned", 1: "instruction access fault", 2: "illegal instruction",
                    3: "breakpoint (EBREAK)", 4: "load address misaligned", 5: "load access fault",
                    6: "store address misaligned", 7: "store access fault", 8: "ECALL (no environment here)",
                    11: "ECALL (no environment here)"}

#: The call's return address (LR, odd for Thumb; RA on RISC-V): a page of ``b .`` outside flash and RAM.
STOP_PAGE = 0x1FFF0000
PAGE = 0x1000
#: Written over the whole stack before each call; the deepest word that differs after it is the high-water mark.
STACK_PATTERN = 0xA5C35A3C

#: QEMU's ARM exception numbers (target/arm/cpu.h, EXCP_*), as unicorn's interrupt hook reports them.
EXCEPTIONS = {1: "undefined instruction (UsageFault -> HardFault)", 2: "SVC instruction (no handler here)",
              3: "prefetch abort (bus fault on instruction fetch -> HardFault)",
              4: "data abort (bus fault -> HardFault)", 7: "BKPT instruction (no debugger here)",
              8: "exception return (EXC_RETURN) outside a handler", 16: "semihosting call",
              17: "coprocessor/FPU instruction with the FPU disabled (NOCP UsageFault -> HardFault)",
              18: "invalid state (Thumb bit clear: UsageFault -> HardFault)",
              19: "stack limit overflow (STKOF UsageFault -> HardFault)",
              22: "unaligned access (UsageFault -> HardFault)"}


#: unicorn errors (uc_err) in words, by constant name; the first names the fault a device would take.
UC_ERRORS = {"UC_ERR_INSN_INVALID": "undefined instruction (UsageFault -> HardFault on the device)",
             "UC_ERR_READ_UNMAPPED": "read of unmapped memory", "UC_ERR_WRITE_UNMAPPED": "write to unmapped memory",
             "UC_ERR_FETCH_UNMAPPED": "instruction fetch from unmapped memory",
             "UC_ERR_WRITE_PROT": "write to read-only memory", "UC_ERR_READ_PROT": "read of protected memory",
             "UC_ERR_FETCH_PROT": "instruction fetch from non-executable memory",
             "UC_ERR_READ_UNALIGNED": "unaligned read", "UC_ERR_WRITE_UNALIGNED": "unaligned write",
             "UC_ERR_FETCH_UNALIGNED": "unaligned instruction fetch",
             "UC_ERR_EXCEPTION": "CPU exception (-> HardFault)"}


def _round_up(n: int, step: int = PAGE) -> int:
    return max(step, (int(n) + step - 1) // step * step)


def thumb_instructions(code: bytes) -> int:
    """How many Thumb instructions ``code`` holds: a halfword whose top five bits are 0b11101, 0b11110 or
    0b11111 starts a 32-bit instruction (ARMv7-M ARM DDI 0403E, A5.1), every other one is 16-bit."""
    n = i = 0
    size = len(code)
    while i < size - 1:
        hw = code[i] | (code[i + 1] << 8)
        i += 4 if (hw >> 11) in (0x1D, 0x1E, 0x1F) else 2
        n += 1
    return n


def riscv_instructions(code: bytes) -> int:
    """How many RISC-V instructions ``code`` holds: a parcel whose two low bits are not 0b11 is a 16-bit
    compressed instruction, every other one is 32-bit (RISC-V unprivileged spec v20191213, 1.5)."""
    n = i = 0
    size = len(code)
    while i < size - 1:
        i += 4 if (code[i] & 3) == 3 else 2
        n += 1
    return n


@dataclass
class Call:
    """One call of the entry point."""

    output: bytes
    status: int
    stack_bytes: int
    #: Executed instructions (profiled calls only).
    instructions: int | None = None


#: The section of a call's blocks before its first store to the mark variable.
NO_MARK = -1


@dataclass
class BlockCounts:
    """Executed blocks summed over the profiled calls: key (address << 16 | size) -> [executions, taken].

    With a mark variable watched, ``sections`` splits the same counts by section (section -> key ->
    [executions, taken]) and ``writes`` counts the stores of each section number."""

    counts: dict[int, list[int]] = field(default_factory=dict)
    instructions: dict[int, int] = field(default_factory=dict)
    code: dict[int, bytes] = field(default_factory=dict)
    sections: dict[int, dict[int, list[int]]] = field(default_factory=dict)
    writes: dict[int, int] = field(default_factory=dict)


class Machine:
    """One firmware loaded into a fresh unicorn, ready for calls of ``edgeml_runner_call``."""

    def __init__(self, image: ElfImage, core: str, flash_bytes: int, ram_bytes: int):
        import unicorn
        from unicorn import arm_const

        self.image, self.core = image, core
        self._shares = (int(flash_bytes), int(ram_bytes))
        self._uc_mod = unicorn
        self.riscv = core in RISCV_CPU_MODELS
        if self.riscv:
            from unicorn import riscv_const

            uc = unicorn.Uc(unicorn.UC_ARCH_RISCV, unicorn.UC_MODE_RISCV32)
            uc.ctl_set_cpu_model(getattr(riscv_const, RISCV_CPU_MODELS[core]))
            self._sp, self._ret, self._pc = (riscv_const.UC_RISCV_REG_SP, riscv_const.UC_RISCV_REG_RA,
                                             riscv_const.UC_RISCV_REG_PC)
            self._stop, self._thumb = STOP_PAGE, 0
            self.instructions_in = riscv_instructions
            self._exceptions = RISCV_EXCEPTIONS
        elif core in CPU_MODELS:
            uc = unicorn.Uc(unicorn.UC_ARCH_ARM, unicorn.UC_MODE_THUMB | unicorn.UC_MODE_MCLASS)
            uc.ctl_set_cpu_model(getattr(arm_const, CPU_MODELS[core]))
            self._sp, self._ret, self._pc = arm_const.UC_ARM_REG_SP, arm_const.UC_ARM_REG_LR, arm_const.UC_ARM_REG_PC
            self._stop, self._thumb = STOP_PAGE, 1
            self.instructions_in = thumb_instructions
            self._exceptions = EXCEPTIONS
        else:
            raise DataError(f"no unicorn CPU model for core '{core}': the emulator runs "
                            f"{', '.join([*CPU_MODELS, *RISCV_CPU_MODELS])}")
        self.uc = uc
        self.flash_end = FLASH_ORIGIN + int(flash_bytes)
        self.ram_end = RAM_ORIGIN + int(ram_bytes)
        self.ram_map_end = RAM_ORIGIN + _round_up(ram_bytes)
        uc.mem_map(FLASH_ORIGIN, _round_up(flash_bytes), unicorn.UC_PROT_ALL)
        uc.mem_map(RAM_ORIGIN, _round_up(ram_bytes), unicorn.UC_PROT_READ | unicorn.UC_PROT_WRITE)
        uc.mem_map(STOP_PAGE, PAGE, unicorn.UC_PROT_READ | unicorn.UC_PROT_EXEC)
        io_end = max([IO_ORIGIN] + [a + n for a, n in image.symbols.values() if a >= IO_ORIGIN])
        self.io_map_bytes = _round_up(max(io_end - IO_ORIGIN, 1))
        uc.mem_map(IO_ORIGIN, self.io_map_bytes, unicorn.UC_PROT_READ | unicorn.UC_PROT_WRITE)
        # b . (Thumb) / c.j . (RISC-V): never reached, `until` stops first
        uc.mem_write(STOP_PAGE, (b"\x01\xa0" if self.riscv else b"\xfe\xe7") * (PAGE // 2))
        for seg in image.segments:
            uc.mem_write(seg.paddr, seg.data)
            if seg.vaddr != seg.paddr:  # .data: its initial values, copied to RAM as a startup routine would
                uc.mem_write(seg.vaddr, seg.data)
        # Flash is read-only and execute-only from here on: a store to it is a fault, as on the device.
        uc.mem_protect(FLASH_ORIGIN, _round_up(flash_bytes), unicorn.UC_PROT_READ | unicorn.UC_PROT_EXEC)
        self.input_addr = image.address(harness.INPUT_SYMBOL)
        self.input_size = image.symbols[harness.INPUT_SYMBOL][1]
        self.output_addr = image.address(harness.OUTPUT_SYMBOL)
        self.output_size = image.symbols[harness.OUTPUT_SYMBOL][1]
        self.status_addr = image.address(harness.STATUS_SYMBOL)
        self.call_addr = image.address(harness.CALL_SYMBOL) | self._thumb
        if self.riscv:  # what startup code does before any C runs: gp for the linker's gp-relative accesses
            uc.reg_write(riscv_const.UC_RISCV_REG_GP, image.address("__global_pointer$"))
        self.stack_limit = image.address("__edgeml_stack_limit")
        self.stack_top = image.address("__edgeml_stack_top")
        n_words = max(0, (self.stack_top - self.stack_limit) // 4)
        self._stack_fill = np.full(n_words, STACK_PATTERN, np.uint32).tobytes()
        # The mapped page past the RAM share's end (unicorn maps whole 4 KB pages): filled with the pattern
        # and checked after each call, so a write past the share is caught even there.
        self._slack = self._stack_fill[: self.ram_map_end - self.ram_end].ljust(self.ram_map_end - self.ram_end,
                                                                                 b"\xa5")
        self._fault: str | None = None
        uc.hook_add(unicorn.UC_HOOK_INTR, self._on_exception)
        uc.hook_add(unicorn.UC_HOOK_MEM_INVALID, self._on_bad_access)
        self._trace = array("Q")
        self._block_hook = None
        self.blocks = BlockCounts()
        self.mark_address: int | None = None
        self._mark_hook = None
        self._mark_at = array("Q")   # trace length when each store happened: the next block's index
        self._mark_value = array("q")

    # -- hooks ---------------------------------------------------------------------------------
    def _on_exception(self, uc, intno, _data) -> None:
        self._fault = self._exceptions.get(intno, f"CPU exception {intno}")
        uc.emu_stop()

    def _on_bad_access(self, uc, access, address, size, value, _data) -> bool:
        u = self._uc_mod
        kind = {u.UC_MEM_READ_UNMAPPED: "read of unmapped", u.UC_MEM_WRITE_UNMAPPED: "write to unmapped",
                u.UC_MEM_FETCH_UNMAPPED: "instruction fetch from unmapped",
                u.UC_MEM_WRITE_PROT: "write to read-only (flash)", u.UC_MEM_READ_PROT: "read of protected",
                u.UC_MEM_FETCH_PROT: "instruction fetch from non-executable (RAM)"}.get(access, "invalid access to")
        self._fault = f"{kind} address 0x{address:08x} ({size} B)"
        return False

    def _on_block(self, _uc, address, size, _data) -> None:
        self._trace.append((address << 16) | size)

    def _on_mark(self, _uc, _access, _address, _size, value, _data) -> None:
        self._mark_at.append(len(self._trace))
        self._mark_value.append(int(value) & 0xFFFFFFFF)

    # -- calls ---------------------------------------------------------------------------------
    def watch_marks(self, address: int) -> None:
        """Split profiled calls into sections by the 32-bit stores to ``address`` (the mark variable)."""
        self.mark_address = int(address)
        if self._block_hook is not None and self._mark_hook is None:
            self._add_mark_hook()

    def _add_mark_hook(self) -> None:
        a = self.mark_address
        self._mark_hook = self.uc.hook_add(self._uc_mod.UC_HOOK_MEM_WRITE, self._on_mark, begin=a, end=a)

    def unhooked_copy(self) -> Machine:
        """A fresh Machine on the same image holding this one's RAM and IO contents (the program's state
        between calls), with no counting hooks. unicorn 2.1.4 keeps every store on its slow path once a
        memory hook has been added, even after it is deleted (about 35 % slower unhooked calls, measured):
        the runner moves the calls it does not profile to a copy that never had the mark hook."""
        copy = Machine(self.image, self.core, *self._shares)
        for start, size in ((RAM_ORIGIN, self.ram_map_end - RAM_ORIGIN), (IO_ORIGIN, self.io_map_bytes)):
            copy.uc.mem_write(start, bytes(self.uc.mem_read(start, size)))
        return copy

    def profile(self, on: bool) -> None:
        """Count executed blocks (and mark stores, when watched) from now on (``on``) or run without hooks."""
        if on and self._block_hook is None:
            self._block_hook = self.uc.hook_add(self._uc_mod.UC_HOOK_BLOCK, self._on_block)
            if self.mark_address is not None:
                self._add_mark_hook()
        elif not on and self._block_hook is not None:
            self.uc.hook_del(self._block_hook)
            self._block_hook = None
            if self._mark_hook is not None:
                self.uc.hook_del(self._mark_hook)
                self._mark_hook = None

    def call(self, example: bytes, max_instructions: int, label: str) -> Call:
        """One call of ``edgeml_runner_call`` on ``example`` (the input buffer's bytes)."""
        uc = self.uc
        uc.mem_write(self.input_addr, example)
        if self._stack_fill:
            uc.mem_write(self.stack_limit, self._stack_fill)
        if self._slack:
            uc.mem_write(self.ram_end, self._slack)
        uc.mem_write(self.status_addr, b"\x00\x00\x00\x00")
        uc.reg_write(self._sp, self.stack_top)
        uc.reg_write(self._ret, self._stop | self._thumb)
        self._fault = None
        self._trace = array("Q")
        self._mark_at, self._mark_value = array("Q"), array("q")
        try:
            uc.emu_start(self.call_addr, self._stop, count=int(max_instructions))
        except self._uc_mod.UcError as exc:
            self._fault = self._fault or next((text for name, text in UC_ERRORS.items()
                                               if getattr(self._uc_mod, name, None) == exc.errno), str(exc))
        pc = uc.reg_read(self._pc)
        if self._fault is not None and uc.reg_read(self._sp) < self.stack_limit:
            raise BudgetError(self._stack_overflow(label))
        if self._fault is not None and self.core == "cortex-m7" and self._is_f64(pc):
            raise IncompatibleError(
                f"unicorn's Cortex-M7 model lacks the double-precision FPU (fpv5-d16) that {label} uses "
                f"(an f64 instruction at 0x{pc:08x} in {self.image.function_at(pc)}): the emulator cannot run it "
                "on this core; its figures stay estimates")
        if self._fault is not None:
            raise DataError(f"{label} faulted at PC 0x{pc:08x} in function {self.image.function_at(pc)}: "
                            f"{self._fault}: fix the C (run it on the host runner with sanitize: true)")
        if pc != self._stop:
            raise DataError(f"{label} never returned within {int(max_instructions)} instructions (in function "
                            f"{self.image.function_at(pc)} at 0x{pc:08x}): fix the loop, or raise "
                            "runners.emulator.max_instructions if the program is that slow")
        if self._slack and bytes(uc.mem_read(self.ram_end, len(self._slack))) != self._slack:
            raise DataError(f"{label} wrote past the end of its RAM (0x{self.ram_end:08x}): fix the C "
                            "(run it on the host runner with sanitize: true)")
        stack = self._stack_used(label)
        status = int.from_bytes(bytes(uc.mem_read(self.status_addr, 4)), "little", signed=True)
        output = bytes(uc.mem_read(self.output_addr, self.output_size))
        instructions = self._count() if self._block_hook is not None else None
        return Call(output=output, status=status, stack_bytes=stack, instructions=instructions)

    def _stack_used(self, label: str) -> int:
        if not self._stack_fill:
            return 0
        words = np.frombuffer(bytes(self.uc.mem_read(self.stack_limit, len(self._stack_fill))), np.uint32)
        changed = np.flatnonzero(words != STACK_PATTERN)
        if changed.size == 0:
            return 0
        deepest = int(changed[0])
        if deepest == 0:
            raise BudgetError(self._stack_overflow(label))
        return self.stack_top - (self.stack_limit + 4 * deepest)

    def _stack_overflow(self, label: str) -> str:
        return (f"{label} overflowed its stack: the {self.stack_top - self.stack_limit} B of the RAM share left "
                f"above .data + .bss ({self.stack_limit - RAM_ORIGIN} B) were not enough: shrink the program's "
                "local arrays or choose a target with more RAM")

    def _is_f64(self, pc: int) -> bool:
        """Whether the instruction at ``pc`` is a double-precision VFP one (unicorn's M7 rejects those)."""
        import capstone

        md = capstone.Cs(capstone.CS_ARCH_ARM, capstone.CS_MODE_THUMB | capstone.CS_MODE_MCLASS)
        try:
            code = bytes(self.uc.mem_read(pc, 4))
        except self._uc_mod.UcError:
            return False
        insn = next(md.disasm(code, pc), None)
        # vadd.f64 d0, d1, d2 / vmov r0, r1, d8 / vldr d8, [r0]: a .f64 suffix or a D register operand
        return insn is not None and (".f64" in insn.mnemonic or
                                     any(re.fullmatch(r"d\d+", op.strip()) for op in insn.op_str.split(",")))

    def _count(self) -> int:
        """Fold this call's block trace into :attr:`blocks`; return its executed instructions."""
        if not self._trace:
            return 0
        keys = np.frombuffer(self._trace, np.uint64)
        ends = (keys >> np.uint64(16)) + (keys & np.uint64(0xFFFF))
        taken = np.ones(len(keys), bool)  # the last block returns to the stop address: its branch is taken
        taken[:-1] = (keys[1:] >> np.uint64(16)) != ends[:-1]
        uniq, inverse = np.unique(keys, return_inverse=True)
        executions = np.bincount(inverse, minlength=len(uniq))
        taken_n = np.bincount(inverse, weights=taken, minlength=len(uniq))
        total = 0
        b = self.blocks
        for key, ex, tk in zip(uniq.tolist(), executions.tolist(), taken_n.tolist()):
            if key not in b.instructions:
                code = bytes(self.uc.mem_read(key >> 16, key & 0xFFFF))
                b.code[key] = code
                b.instructions[key] = self.instructions_in(code)
            c = b.counts.setdefault(key, [0, 0])
            c[0] += ex
            c[1] += int(tk)
            total += ex * b.instructions[key]
        if self.mark_address is not None:
            self._count_sections(uniq, inverse, taken)
        return total

    def _count_sections(self, uniq: np.ndarray, inverse: np.ndarray, taken: np.ndarray) -> None:
        """Fold this call's blocks into :attr:`BlockCounts.sections`: block i belongs to the value of the
        last store recorded at trace position <= i (the store's own block was traced before it ran)."""
        b = self.blocks
        at = np.frombuffer(self._mark_at, np.uint64).astype(np.int64) if self._mark_at else np.zeros(0, np.int64)
        values = np.frombuffer(self._mark_value, np.int64) if self._mark_value else np.zeros(0, np.int64)
        for v in values.tolist():
            b.writes[v] = b.writes.get(v, 0) + 1
        last = np.searchsorted(at, np.arange(len(inverse)), side="right") - 1
        section = np.where(last >= 0, values[np.maximum(last, 0)] if len(values) else NO_MARK, NO_MARK)
        names, code = np.unique(section, return_inverse=True)
        pair = inverse.astype(np.int64) * len(names) + code
        upair, pinv = np.unique(pair, return_inverse=True)
        executions = np.bincount(pinv, minlength=len(upair))
        taken_n = np.bincount(pinv, weights=taken, minlength=len(upair))
        keys, names = uniq.tolist(), names.tolist()
        for p, ex, tk in zip(upair.tolist(), executions.tolist(), taken_n.tolist()):
            block, sec = divmod(p, len(names))
            c = b.sections.setdefault(names[sec], {}).setdefault(keys[block], [0, 0])
            c[0] += ex
            c[1] += int(tk)
