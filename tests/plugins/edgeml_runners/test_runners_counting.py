"""Instruction counting: exact on a hand-countable loop, equal to unicorn's per-instruction hook on code
without IT blocks; taken branches per block; the stack high-water mark."""

from __future__ import annotations

import numpy as np
import pytest

from edgeml_runners import elf_image, firmware
from edgeml_runners.emulator import Machine
from edgeml_runners.emulator_runner import EmulatorRunner
from runners_programs import dot_inputs, program, request


@pytest.mark.parametrize("core", ["cortex-m0plus", "cortex-m4"])
def test_hand_countable_loop_is_counted_exactly(tmp_path, core):
    prog = program(tmp_path / "src", "count")
    n = np.array([[10], [100], [1000]], np.int32)
    run = EmulatorRunner().run(request(prog, tmp_path / "src", n, core, tmp_path / "work"))
    np.testing.assert_array_equal(run.outputs, n)
    harness = run.info["instructions"]["harness_per_call"]
    # edgeml_runner_call: push, ldr input, ldr output, bl, ldr status address, str, pop.
    assert harness == 7
    per_call = harness + 2 + 3 * n[:, 0] + 3  # ldr, movs; n x (adds, subs, bne); str, movs, bx lr
    assert run.info["instructions"]["min"] == per_call.min()
    assert run.info["instructions"]["max"] == per_call.max()
    assert run.instructions.value == pytest.approx(per_call.mean())


def _machine(tmp_path, kind: str, core: str):
    prog = program(tmp_path / "src", kind)
    req = request(prog, tmp_path / "src", np.zeros((1,) + prog.input_shape, prog.input_dtype), core,
                  tmp_path / "work")
    image = elf_image.read(firmware.build(req).elf)
    return prog, image, Machine(image, core, req.flash_bytes, req.ram_bytes)


def test_block_count_equals_per_instruction_hook_without_it_blocks(tmp_path):
    # ARMv6-M has no IT instruction, so every instruction of the soft-float library code runs: the
    # per-instruction hook is exact there and must equal the block count.
    import unicorn

    _, _, machine = _machine(tmp_path, "dot", "cortex-m0plus")
    stepped = [0]
    machine.uc.hook_add(unicorn.UC_HOOK_CODE, lambda *a: stepped.__setitem__(0, stepped[0] + 1))
    machine.profile(True)
    for i, row in enumerate(dot_inputs(4)):
        stepped[0] = 0
        call = machine.call(row.tobytes(), 10_000_000, f"example {i}")
        assert call.instructions == stepped[0] > 300


def test_blocks_record_executions_and_taken_branches(tmp_path):
    _, image, machine = _machine(tmp_path, "count", "cortex-m4")
    machine.profile(True)
    call = machine.call(np.int32(10).tobytes(), 100_000, "example 0")
    assert np.frombuffer(call.output, np.int32)[0] == 10
    loop = image.address("count_loop_again")
    blocks = {key >> 16: c for key, c in machine.blocks.counts.items()}
    # The first translated block runs from count_loop through the first bne (taken back into the loop);
    # the loop block then runs 9 more times, its bne taken 8 times and falling through once.
    assert blocks[image.address("count_loop") & ~1] == [1, 1]
    assert blocks[loop] == [9, 8]


def test_stack_high_water_mark_grows_with_a_local_array(tmp_path):
    used = {}
    for words in (16, 256):
        prog = program(tmp_path / f"src{words}", "stack", defines={"STACK_WORDS": str(words)})
        run = EmulatorRunner().run(request(prog, tmp_path / f"src{words}", [[5], [6]], "cortex-m4",
                                           tmp_path / f"work{words}"))
        assert run.outputs[0, 0] == sum(5 + i for i in range(words))
        used[words] = run.info["stack_bytes"]
        assert run.ram_bytes.value == run.info["static_ram_bytes"] + used[words]
    assert 960 <= used[256] - used[16] <= 960 + 16
    assert used[16] >= 16 * 4
