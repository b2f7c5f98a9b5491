"""What the linked ELF says: flash and static RAM by section, symbol addresses and function names."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from pathlib import Path

from edgeml import DataError
from edgeml_runners.linker_script import FLASH_ORIGIN, IO_ORIGIN, RAM_ORIGIN


@dataclass
class Segment:
    """A PT_LOAD segment: ``data`` goes to ``paddr`` (its load address in flash) and to ``vaddr`` when they differ."""

    vaddr: int
    paddr: int
    data: bytes
    memsz: int


@dataclass
class ElfImage:
    path: Path
    #: Allocated sections: name -> (address, size, stored in flash, occupies RAM).
    sections: dict[str, tuple[int, int, bool, bool]]
    segments: list[Segment]
    symbols: dict[str, tuple[int, int]]
    _funcs: list[tuple[int, int, str]] = field(default_factory=list, repr=False)

    @property
    def flash_bytes(self) -> int:
        """Bytes stored in flash: .text, .rodata, .ARM.exidx, ... and the load image of .data."""
        return sum(size for _, size, in_flash, _ in self.sections.values() if in_flash)

    @property
    def ram_static_bytes(self) -> int:
        """.data + .bss (with the harness buffers)."""
        return sum(size for _, size, _, in_ram in self.sections.values() if in_ram)

    def section_sizes(self, flash: bool) -> dict[str, int]:
        return {k: s for k, (_, s, f, r) in sorted(self.sections.items()) if (f if flash else r) and s}

    def address(self, symbol: str) -> int:
        if symbol not in self.symbols:
            raise DataError(f"{self.path} has no symbol {symbol}: the firmware was not built by this runner; "
                            "delete the work dir and rebuild")
        return self.symbols[symbol][0]

    def function_at(self, address: int) -> str:
        """The function containing ``address`` (Thumb bit ignored), or ``?``."""
        a = address & ~1
        i = bisect.bisect_right(self._funcs, (a, float("inf"), "")) - 1
        if i >= 0:
            start, size, name = self._funcs[i]
            if start <= a < start + max(size, 2):
                return name
        return "?"


def read(path: Path) -> ElfImage:
    """Sections, PT_LOAD segments and symbols of a linked firmware ELF."""
    from elftools.elf.constants import SH_FLAGS
    from elftools.elf.elffile import ELFFile

    with open(path, "rb") as fh:
        elf = ELFFile(fh)
        segments = [Segment(int(s["p_vaddr"]), int(s["p_paddr"]), s.data(), int(s["p_memsz"]))
                    for s in elf.iter_segments() if s["p_type"] == "PT_LOAD"]
        sections = {}
        for sec in elf.iter_sections():
            if not sec["sh_flags"] & SH_FLAGS.SHF_ALLOC or sec["sh_size"] == 0:
                continue
            addr, size = int(sec["sh_addr"]), int(sec["sh_size"])
            if addr >= IO_ORIGIN:   # the harness's buffers: not the program's memory
                continue
            in_ram = addr >= RAM_ORIGIN
            # Stored in flash: anything placed there, and initialised RAM data (its load image).
            in_flash = (FLASH_ORIGIN <= addr < RAM_ORIGIN) or (in_ram and sec["sh_type"] != "SHT_NOBITS")
            sections[sec.name] = (addr, size, in_flash, in_ram)
        symbols, funcs = {}, []
        symtab = elf.get_section_by_name(".symtab")
        for sym in symtab.iter_symbols() if symtab is not None else ():
            if not sym.name:
                continue
            value, size = int(sym["st_value"]), int(sym["st_size"])
            symbols[sym.name] = (value, size)
            if sym["st_info"]["type"] == "STT_FUNC":
                funcs.append((value & ~1, size, sym.name))
    funcs.sort()
    return ElfImage(path=Path(path), sections=sections, segments=segments, symbols=symbols, _funcs=funcs)
