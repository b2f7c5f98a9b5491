"""Blocks that the emulator split without a branch are priced as one.

unicorn ends a translated block at every 1 KB page boundary, so a loop straddling one runs as two
blocks A (ending at the boundary, no branch) and B (starting there). Priced apart, an M4 load at the
start of B loses its pipelining after a load/store at the end of A and an M7 pair across the boundary
cannot dual-issue: the same code cost more at another address. These tests pin the rule on synthetic
profiles (exact TRM sums) and end to end in the emulator (the same loop at five alignments)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import edgeml
import numpy as np
import pytest
from edgeml_runners import elf_image
from edgeml_runners.cycle_model import BlockProfile, estimate
from edgeml_runners.emulator_runner import EmulatorRunner
from edgeml_runners.thumb_classes import classify, it_left_after
from runners_programs import request

X = 0x2400   # the boundary: A ends here, B starts here


def _assemble(tmp_path: Path, body: str, cpu: str = "cortex-m4") -> bytes:
    src, obj, binary = tmp_path / "s.s", tmp_path / "s.o", tmp_path / "s.bin"
    src.write_text(f".syntax unified\n.thumb\n.text\n{body}\n")
    r = subprocess.run(["arm-none-eabi-as", f"-mcpu={cpu}", "-mthumb", str(src), "-o", str(obj)],
                       check=False, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    subprocess.run(["arm-none-eabi-objcopy", "-O", "binary", "-j", ".text", str(obj), str(binary)], check=True)
    return binary.read_bytes()


def _split(tmp_path: Path, a: str, b: str, cpu: str = "cortex-m4") -> tuple[bytes, bytes]:
    """A's and B's bytes, assembled as one sequence (an IT block may run across the cut)."""
    head = _assemble(tmp_path, a, cpu)
    whole = _assemble(tmp_path, a + "\n" + b, cpu)
    assert whole[:len(head)] == head
    return head, whole[len(head):]


def test_m4_load_after_a_load_across_the_split_is_pipelined(tmp_path):
    a, b = _split(tmp_path, "adds r0, r0, #1\nldr r2, [r1]", "ldr r3, [r1, #4]\nadds r0, r0, r3\nbne .")
    blocks = [BlockProfile(X - len(a), a, 100, 0), BlockProfile(X, b, 100, 90)]
    # DDI 0439B: A = adds 1 + ldr 2; B = ldr 1 (pipelined after A's ldr) + adds 1 + bne 3 taken / 1 not
    est = estimate("cortex-m4", blocks)
    assert est.cycles == 100 * (1 + 2) + 100 * (1 + 1) + 90 * 3 + 10 * 1 == 780
    assert est.by_class["load"] == {"instructions": 200, "cycles": 100 * 2 + 100 * 1}
    assert est.instructions == 500
    # exactly one block's price: the same bytes as one block
    assert est.cycles == estimate("cortex-m4", [BlockProfile(X - len(a), a + b, 100, 90)]).cycles
    # B ran 150 times (50 entered by a jump): only the 100 that came from A are pipelined
    est = estimate("cortex-m4", [BlockProfile(X - len(a), a, 100, 0), BlockProfile(X, b, 150, 140)])
    assert est.by_class["load"] == {"instructions": 250, "cycles": 100 * 2 + 100 * 1 + 50 * 2}
    assert est.cycles == 100 * 3 + 100 * 1 + 50 * 2 + 150 * 1 + 140 * 3 + 10 * 1 == 1080
    # A ran 100 times but 30 of them did not go on at its end (the call stopped): 70 entered B from A
    est = estimate("cortex-m4", [BlockProfile(X - len(a), a, 100, 30), BlockProfile(X, b, 100, 90)])
    assert est.by_class["load"]["cycles"] == 100 * 2 + 70 * 1 + 30 * 2
    # cortex-m3 has the same pipelining (DDI 0337I s3.3.1)
    assert estimate("cortex-m3", blocks).by_class["load"]["cycles"] == 300


def test_a_block_ending_in_a_branch_or_not_adjacent_is_priced_alone(tmp_path):
    a, b = _split(tmp_path, "ldr r2, [r1]\ncmp r2, #0\nbeq .", "ldr r3, [r1, #4]\nbx lr")
    # A's beq falls through when not taken, but a branch carries no load context: B's ldr costs 2
    est = estimate("cortex-m4", [BlockProfile(X - len(a), a, 10, 0), BlockProfile(X, b, 10, 10)])
    assert est.by_class["load"]["cycles"] == 10 * 2 + 10 * 2
    # A ends in a load but B starts 2 bytes after A's end: no fall-through
    a, b = _split(tmp_path, "ldr r2, [r1]", "ldr r3, [r1, #4]\nbx lr")
    est = estimate("cortex-m4", [BlockProfile(X - len(a), a, 10, 0), BlockProfile(X + 2, b, 10, 10)])
    assert est.by_class["load"]["cycles"] == 10 * 2 + 10 * 2


def test_m0plus_is_unaffected(tmp_path):
    a, b = _split(tmp_path, "adds r0, r0, #1\nldr r2, [r1]", "ldr r3, [r1, #4]\nadds r0, r0, r3\nbne .",
                  cpu="cortex-m0plus")
    blocks = [BlockProfile(X - len(a), a, 100, 0), BlockProfile(X, b, 100, 90)]
    # DDI 0484C: every LDR 2, whatever precedes it
    est = estimate("cortex-m0plus", blocks)
    assert est.cycles == 100 * (1 + 2) + 100 * (2 + 1) + 90 * 2 + 10 * 1
    assert est.cycles == sum(estimate("cortex-m0plus", [blk]).cycles for blk in blocks)


def test_m7_pairs_across_the_split(tmp_path):
    a, b = _split(tmp_path, "adds r0, r0, #1\nadds r4, r4, #1\nldr r2, [r1]", "adds r5, r5, r2\nadds r6, r6, #1\nbne .",
                  cpu="cortex-m7")
    blocks = [BlockProfile(X - len(a), a, 10, 0), BlockProfile(X, b, 10, 0)]
    # apart: (adds adds) ldr | (adds adds) bne = 2 + 2; as one: (adds adds) (ldr adds) (adds bne) = 3
    apart = sum(estimate("cortex-m7", [blk]).cycles for blk in blocks)
    assert apart == 10 * 4
    assert estimate("cortex-m7", blocks).cycles == 10 * 3
    joined = [BlockProfile(X - len(a), a + b, 10, 0)]
    assert estimate("cortex-m7", blocks).cycles == estimate("cortex-m7", joined).cycles


def test_a_32_bit_instruction_across_the_boundary_is_a_block_of_its_own(tmp_path):
    # unicorn runs a 32-bit instruction that crosses the page as a one-instruction block S: A -> S -> C.
    # Pricing each cut apart would pair S with A's last adds and again with C's first.
    a, s = _split(tmp_path, "adds r0, r0, #1\nadds r1, r1, #1\nadds r2, r2, #1", "adds.w r5, r5, #1", cpu="cortex-m7")
    _, c = _split(tmp_path, "adds r0, r0, #1\nadds r1, r1, #1\nadds r2, r2, #1\nadds.w r5, r5, #1",
                  "adds r3, r3, #1\nadds r4, r4, #1\nadds r6, r6, #1", cpu="cortex-m7")
    assert len(s) == 4
    blocks = [BlockProfile(X - len(a), a, 10, 0), BlockProfile(X, s, 10, 0), BlockProfile(X + 4, c, 10, 0)]
    # apart: (adds adds) adds | adds.w | (adds adds) adds = 2 + 1 + 2; as one: 7 instructions, 4 issue slots
    assert sum(estimate("cortex-m7", [blk]).cycles for blk in blocks) == 10 * 5
    assert estimate("cortex-m7", blocks).cycles == 10 * 4
    joined = [BlockProfile(X - len(a), a + s + c, 10, 0)]
    assert estimate("cortex-m7", blocks).cycles == estimate("cortex-m7", joined).cycles


def test_an_it_block_cut_by_the_split_stays_conditional(tmp_path):
    # unicorn can end a block inside an IT block: B's ldrne/bxne are still conditional when entered from A
    a, b = _split(tmp_path, "cmp r0, #0\nitt ne", "ldrne r2, [r1]\nbxne lr")
    assert it_left_after(a, X - len(a)) == 2
    assert classify(b, X) == [("load", 0), ("branch_indirect", 0)]         # decoded alone: no IT state
    assert classify(b, X, it_left=2) == [("load", 0), ("branch_cond", 0)]
    est = estimate("cortex-m4", [BlockProfile(X - len(a), a, 10, 0), BlockProfile(X, b, 10, 4)])
    # cmp 1 + it 1 + ldr 2 (after an IT, not a load) + bxne 3 taken (4 times) / 1 not taken (6 times)
    assert est.cycles == 10 * (1 + 1 + 2) + 4 * 3 + 6 * 1 == 58
    assert est.by_class["branch_cond"] == {"instructions": 10, "cycles": 4 * 3 + 6 * 1}
    assert "branch_indirect" not in est.by_class
    assert est.instructions == 40
    assert est == estimate("cortex-m4", [BlockProfile(X - len(a), a + b, 10, 4)])


def test_a_part_of_a_profile_takes_the_context_of_the_whole(tmp_path):
    # A section of a run: A ran in the section before, B in this one (or in both): the entries into B from
    # A are read from the whole run and shared out by B's executions, so the sections add up to the run.
    a, b = _split(tmp_path, "adds r0, r0, #1\nldr r2, [r1]", "ldr r3, [r1, #4]\nadds r0, r0, r3\nbne .")
    whole = [BlockProfile(X - len(a), a, 100, 0), BlockProfile(X, b, 100, 90)]
    first = [BlockProfile(X - len(a), a, 100, 0), BlockProfile(X, b, 40, 36)]
    second = [BlockProfile(X, b, 60, 54)]
    parts = [estimate("cortex-m4", part, context=whole) for part in (first, second)]
    assert parts[1].by_class["load"]["cycles"] == 60 * 1
    assert sum(p.cycles for p in parts) == estimate("cortex-m4", whole).cycles
    assert estimate("cortex-m4", second).by_class["load"]["cycles"] == 60 * 2   # alone: no A to come from
    with pytest.raises(edgeml.DataError, match="context"):
        estimate("cortex-m4", [BlockProfile(X, b, 160, 0)], context=whole)


# -- end to end: the same loop at five alignments in the emulator -------------------------------------------

#: A loop of loads. PAD bytes of nops sit between a 1 KB-aligned section start and the function, so the
#: same instructions run at five alignments: LAYOUTS names where the 1 KB boundary falls.
SPLIT_ASM = r"""
#include <stdint.h>

volatile uint32_t edgeml_mark;

int split_loop(const int32_t *input, int32_t *output);

__asm__(
    "  .syntax unified\n"
    "  .thumb\n"
    "  .section .text.split_loop,\"ax\",%progbits\n"
    "  .balign 1024\n"
    "  .rept PAD / 2\n"
    "  nop\n"
    "  .endr\n"
    "  .global split_loop\n"
    "  .type split_loop, %function\n"
    "  .thumb_func\n"
    "split_loop:\n"
    "  push {r4, r5}\n"
    "  ldr r3, =edgeml_mark\n"
    "  ldr r2, [r0]\n"
    "  movs r4, #1\n"
    "  str r4, [r3]\n"               /* mark 1 */
    "split_loop_again:\n"
    "  ldr r5, [r0]\n"
    "  adds r4, r4, #1\n"
    "  ldr r5, [r0]\n"
    "  ldr r5, [r0]\n"
    "split_loop_ldr:\n"             /* ldr | ldr: the M4's pipelining */
    "  ldr r5, [r0]\n"
    "  ldr r5, [r0]\n"
    "split_loop_adds:\n"            /* ldr | adds: the M7's pairing */
    "  adds r4, r4, #1\n"
    "split_loop_wide:\n"            /* a 32-bit instruction across the boundary: a block of its own */
    "  adds.w r5, r5, #1\n"
    "  adds r5, r5, #1\n"
    "  subs r2, r2, #1\n"
    "  bne split_loop_again\n"
    "  movs r5, #2\n"
    "  str r5, [r3]\n"               /* mark 2 */
    "  str r4, [r1]\n"
    "  movs r0, #0\n"
    "  pop {r4, r5}\n"
    "  bx lr\n"
    "  .ltorg\n"
    "  .size split_loop, . - split_loop\n");
"""

#: Layout -> (PAD, the label the 1 KB boundary falls at, + bytes): 10 bytes from split_loop to the loop.
LAYOUTS = {"whole": (0, None, 0), "at_mark": (1014, "split_loop_again", 0), "ldr_ldr": (1006, "split_loop_ldr", 0),
           "ldr_adds": (1002, "split_loop_adds", 0), "wide": (998, "split_loop_wide", 2)}


def _run(tmp_path: Path, layout: str, core: str):
    pad, label, into = LAYOUTS[layout]
    root, work = tmp_path / f"src_{layout}", tmp_path / f"work_{layout}"
    root.mkdir(parents=True)
    (root / "split.c").write_text(SPLIT_ASM.replace("PAD / 2", str(pad // 2)))
    prog = edgeml.Program(name="split", entry_point="split_loop", sources=["split.c"], marks="edgeml_mark",
                          input_dtype="int32", input_shape=(1,), output_dtype="int32", output_shape=(1,))
    n = np.array([[300], [40]], np.int32)
    run = EmulatorRunner().run(request(prog, root, n, core, work))
    np.testing.assert_array_equal(run.outputs, 1 + 2 * n)
    image = elf_image.read(next(work.rglob("*.elf")))
    start, size = image.symbols["split_loop"]
    start &= ~1
    if label is None:   # the whole function (and its literal) inside one 1 KB page
        assert start // 1024 == (start + size - 1) // 1024
    else:               # the layout really puts the boundary where it says
        assert ((image.address(label) & ~1) + into) % 1024 == 0, layout
    sections = run.info["marks"]["sections"]
    assert sum(s["instructions"] for s in sections) == pytest.approx(run.instructions.value, abs=1e-6)
    assert sum(s["cycles"] for s in sections) == pytest.approx(run.cycles.value, abs=1e-6), layout
    return run


@pytest.mark.parametrize("core", ["cortex-m4", "cortex-m7"])
def test_the_same_loop_costs_the_same_at_any_alignment(tmp_path, core):
    runs = {layout: _run(tmp_path, layout, core) for layout in LAYOUTS}
    instructions = {layout: r.instructions.value for layout, r in runs.items()}
    cycles = {layout: r.cycles.value for layout, r in runs.items()}
    assert len(set(instructions.values())) == 1, instructions
    if core == "cortex-m4":   # whole cycles per instruction: the split changes nothing
        assert len(set(cycles.values())) == 1, cycles
    else:                     # the M7 pairs are greedy: within 1 %
        assert max(cycles.values()) <= 1.01 * min(cycles.values()), cycles
