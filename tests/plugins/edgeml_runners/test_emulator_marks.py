"""Per-section profiling (``Program.marks``) in the emulator runner: sections add up to the run's
instructions and cycles, loop counts show in proportion, the block holding a mark store counts toward the
section current when it started (hand-counted in assembly), and a missing mark variable is a PluginError."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import edgeml
from edgeml_runners import toolchain
from edgeml_runners.emulator_runner import EmulatorRunner
from edgeml_runners.host import HostRunner
from runners_programs import program, request

#: Three sections running the same loop 100, 1000 and 10 times; noipa keeps one copy of the loop. The
#: call counter is state kept between calls (the output depends on how many calls came before).
SECTIONS_C = r"""
#include <stdint.h>

volatile uint32_t edgeml_mark;
static int32_t calls;

int sections(const int32_t *input, int32_t *output);

__attribute__((noipa)) static int32_t work(int32_t n, int32_t seed)
{
    volatile int32_t acc = seed;
    int32_t i;
    for (i = 0; i < n; i++)
        acc += i;
    return acc;
}

int sections(const int32_t *input, int32_t *output)
{
    int32_t s = input[0];
    edgeml_mark = 0;
    s = work(100, s);
    edgeml_mark = 1;
    s = work(1000, s);
    edgeml_mark = 2;
    s = work(10, s);
    output[0] = s + 1000 * calls++;
    return 0;
}
"""

#: The same in Thumb-2 assembly, countable by hand (see test_the_block_holding_the_store_counts_...).
SECTIONS_ASM = r"""
#include <stdint.h>

volatile uint32_t edgeml_mark;

int marked(const int32_t *input, int32_t *output);

__asm__(
    "  .syntax unified\n"
    "  .thumb\n"
    "  .section .text.marked,\"ax\",%progbits\n"
    "  .global marked\n"
    "  .type marked, %function\n"
    "  .thumb_func\n"
    "marked:\n"
    "  push {r4, lr}\n"
    "  ldr r3, =edgeml_mark\n"
    "  movs r4, #0\n"
    "  str r4, [r3]\n"           /* mark 0 */
    "  movs r2, #100\n"
    "marked_loop0:\n"
    "  subs r2, r2, #1\n"
    "  bne marked_loop0\n"
    "  movs r4, #1\n"
    "  str r4, [r3]\n"           /* mark 1 */
    "  movw r2, #1000\n"
    "marked_loop1:\n"
    "  subs r2, r2, #1\n"
    "  bne marked_loop1\n"
    "  movs r4, #2\n"
    "  str r4, [r3]\n"           /* mark 2 */
    "  movs r2, #10\n"
    "marked_loop2:\n"
    "  subs r2, r2, #1\n"
    "  bne marked_loop2\n"
    "  str r4, [r1]\n"
    "  movs r0, #0\n"
    "  pop {r4, pc}\n"
    "  .ltorg\n"
    "  .size marked, . - marked\n");
"""

SPEC = {"input_dtype": "int32", "input_shape": (1,), "output_dtype": "int32", "output_shape": (1,)}


def _program(root: Path, source: str, entry: str, marks: str = "edgeml_mark") -> edgeml.Program:
    root.mkdir(parents=True, exist_ok=True)
    (root / f"{entry}.c").write_text(source)
    return edgeml.Program(name=entry, entry_point=entry, sources=[f"{entry}.c"], marks=marks, **SPEC)


def _by_mark(run) -> dict[int, dict]:
    return {s["mark"]: s for s in run.info["marks"]["sections"]}


def test_sections_follow_loop_counts_and_add_up_to_the_run(tmp_path):
    prog = _program(tmp_path / "src", SECTIONS_C, "sections")
    x = np.array([[3], [-7], [11], [0]], np.int32)
    run = EmulatorRunner().run(request(prog, tmp_path / "src", x, "cortex-m4", tmp_path / "work"))
    host = HostRunner().run(request(prog, tmp_path / "src", x, "cortex-m4", tmp_path / "host"))
    np.testing.assert_array_equal(run.outputs, host.outputs)     # the host runner ignores marks
    assert "marks" not in host.info
    marks = run.info["marks"]
    assert marks["symbol"] == "edgeml_mark" and marks["examples"] == 4
    assert [s["mark"] for s in marks["sections"]] == [-1, 0, 1, 2]   # sorted; -1: the harness, the prologue
    s = _by_mark(run)
    assert [s[m]["calls"] for m in (-1, 0, 1, 2)] == [0, 1, 1, 1]
    # Sections 0 and 1 are the same code (call, loop, return, the block storing the next mark) but for the
    # loop count, so their difference is 900 iterations of the loop body exactly.
    per_iteration = (s[1]["instructions"] - s[0]["instructions"]) / 900
    assert per_iteration == int(per_iteration) and 2 <= per_iteration <= 8
    overhead = s[0]["instructions"] - 100 * per_iteration
    assert 0 < overhead < 40
    assert 0 < s[2]["instructions"] - 10 * per_iteration < 40
    assert 9 < s[1]["instructions"] / s[0]["instructions"] < 10
    # The sections partition the run: their sums are its instruction and cycle counts per example.
    assert sum(v["instructions"] for v in s.values()) == pytest.approx(run.instructions.value, abs=1e-6)
    assert run.info["instructions"]["min"] == run.info["instructions"]["max"]
    assert sum(v["cycles"] for v in s.values()) == pytest.approx(run.cycles.value, abs=1e-6)
    assert s[1]["cycles"] > s[1]["instructions"]                     # loads and taken branches cost > 1
    # Compact enough for report.json: four numbers per section.
    assert set(s[0]) == {"mark", "instructions", "cycles", "calls"}


def test_the_block_holding_the_store_counts_toward_the_previous_section(tmp_path):
    prog = _program(tmp_path / "src", SECTIONS_ASM, "marked")
    run = EmulatorRunner().run(request(prog, tmp_path / "src", [[1], [2]], "cortex-m4", tmp_path / "work"))
    s = _by_mark(run)
    harness = run.info["instructions"]["harness_per_call"]
    assert harness == 7   # push, ldr, ldr, bl | ldr, str, pop
    # -1: the harness up to its bl (4), then marked's first block up to the first bne (push, ldr, movs,
    #     str = mark 0, movs, subs, bne: 7): the store to mark 0 is inside it, so it stays in -1.
    # 0:  99 more loop iterations (2 each), then the block movs, str = mark 1, movw, subs, bne (5).
    # 1:  999 iterations, then movs, str = mark 2, movs, subs, bne (5).
    # 2:  9 iterations, str, movs, pop (3), and the harness after its bl: ldr, str, pop (3).
    expected = {-1: 4 + 7, 0: 2 * 99 + 5, 1: 2 * 999 + 5, 2: 2 * 9 + 3 + 3}
    assert {m: v["instructions"] for m, v in s.items()} == expected
    assert sum(expected.values()) == run.instructions.value == harness + 7 + 2 * 99 + 5 + 2 * 999 + 5 + 2 * 9 + 3
    assert {m: v["calls"] for m, v in s.items()} == {-1: 0, 0: 1, 1: 1, 2: 1}
    # M4 (DDI 0439B): section 1 is 998 x (subs 1 + bne taken 1+P=3), once subs 1 + bne not taken 1, then
    # movs 1, str 1, movs 1, subs 1 and a bne taken into the next loop (3).
    assert s[1]["cycles"] == 998 * 4 + 2 + 7
    assert sum(v["cycles"] for v in s.values()) == pytest.approx(run.cycles.value, abs=1e-6)


def test_unprofiled_calls_keep_the_program_state(tmp_path):
    # The calls after the profiled ones run on a copy of the machine that never had the mark hook: the
    # program's RAM (its call counter) must carry over, so the outputs equal the host's.
    prog = _program(tmp_path / "src", SECTIONS_C, "sections")
    x = np.arange(7, dtype=np.int32)[:, None]
    run = EmulatorRunner().run(request(prog, tmp_path / "src", x, "cortex-m4", tmp_path / "work",
                                       profile_examples=2))
    host = HostRunner().run(request(prog, tmp_path / "src", x, "cortex-m4", tmp_path / "host"))
    np.testing.assert_array_equal(run.outputs, host.outputs)
    assert run.outputs[6, 0] - run.outputs[5, 0] == 1000 + 1   # the counter went on across the switch
    assert run.info["marks"]["examples"] == 2 and run.info["examples"] == {"profiled": 2, "total": 7}
    s = _by_mark(run)
    assert sum(v["instructions"] for v in s.values()) == pytest.approx(run.instructions.value, abs=1e-6)


def test_a_mark_symbol_the_program_does_not_define_is_a_plugin_error(tmp_path):
    prog = program(tmp_path / "src", "count", marks="edgeml_mark")
    with pytest.raises(edgeml.PluginError, match=r"program 'count' declares marks='edgeml_mark' but .* no "
                                                  r"symbol edgeml_mark: define"):
        EmulatorRunner().run(request(prog, tmp_path / "src", [[10]], "cortex-m4", tmp_path / "work"))


def test_without_marks_there_is_no_marks_key(tmp_path):
    prog = _program(tmp_path / "src", SECTIONS_C, "sections", marks="")
    run = EmulatorRunner().run(request(prog, tmp_path / "src", [[1]], "cortex-m4", tmp_path / "work"))
    assert "marks" not in run.info
    assert run.instructions.value > 1000


def test_marks_travel_in_the_program_json():
    prog = edgeml.Program(name="p", entry_point="f", sources=["p.c"], marks="layer_mark", **SPEC)
    assert edgeml.Program.from_json(prog.to_json()).marks == "layer_mark"
    assert edgeml.Program.from_json({**prog.to_json(), "marks": None}).marks == ""
    with pytest.raises(edgeml.DataError, match="is not a C identifier"):
        edgeml.Program(name="p", entry_point="f", sources=["p.c"], marks="layer-mark", **SPEC)


@pytest.mark.skipif(toolchain.riscv_gcc() is None, reason=f"no RISC-V toolchain: {toolchain.RISCV_INSTALL_HINT}")
def test_a_core_without_a_cost_table_reports_sections_without_cycles(tmp_path):
    prog = _program(tmp_path / "src", SECTIONS_C, "sections")
    run = EmulatorRunner().run(request(prog, tmp_path / "src", [[5]], "esp32-c3", tmp_path / "work"))
    s = _by_mark(run)
    assert run.cycles is None and all(v["cycles"] is None for v in s.values())
    assert sum(v["instructions"] for v in s.values()) == pytest.approx(run.instructions.value, abs=1e-6)
    assert 9 < s[1]["instructions"] / s[0]["instructions"] < 10
