"""Faults, runaway loops and images too big for the target: one-line errors, no linker dump."""

from __future__ import annotations

import pytest

import edgeml
from edgeml_runners.emulator_runner import EmulatorRunner
from runners_programs import program, request


@pytest.mark.parametrize("core", ["cortex-m0plus", "cortex-m4"])
def test_store_to_unmapped_address_names_example_pc_and_function(tmp_path, core):
    prog = program(tmp_path / "src", "fault")
    with pytest.raises(edgeml.DataError) as err:
        EmulatorRunner().run(request(prog, tmp_path / "src", [[3]], core, tmp_path / "work"))
    msg = str(err.value)
    assert "\n" not in msg
    assert "example 0" in msg and "in function poke" in msg and "faulted at PC 0x08" in msg
    assert "write to unmapped address 0x40000000" in msg


def test_never_returning_call_is_stopped_by_the_instruction_limit(tmp_path):
    prog = program(tmp_path / "src", "spin")
    with pytest.raises(edgeml.DataError, match=r"never returned within 100000 instructions \(in function spin at "
                                               r"0x08[0-9a-f]{6}\)") as err:
        EmulatorRunner().run(request(prog, tmp_path / "src", [[1]], "cortex-m4", tmp_path / "work",
                                     max_instructions=100000))
    assert "\n" not in str(err.value)


def test_flash_overflow_is_the_fit_message(tmp_path):
    prog = program(tmp_path / "src", "big")
    with pytest.raises(edgeml.BudgetError) as err:
        EmulatorRunner().run(request(prog, tmp_path / "src", [[1]], "cortex-m4", tmp_path / "work"))
    msg = str(err.value)
    assert "\n" not in msg and "overflowed" not in msg
    need = int(msg.split("needs ")[1].split(" B of flash")[0])
    assert 51200 * 4 < need < 51200 * 4 + 2048
    assert "the target's model share is 65536 B" in msg and "arm-none-eabi-gcc" in msg
    assert "choose a target with more flash" in msg


def test_undefined_instruction_is_a_hardfault_with_its_function(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "trap.c").write_text(
        "#include <stdint.h>\nint trap(const int32_t *input, int32_t *output);\n"
        "int trap(const int32_t *input, int32_t *output)\n"
        "{ output[0] = input[0]; __asm__ volatile(\"udf #1\"); return 0; }\n")
    prog = edgeml.Program(name="trap", entry_point="trap", sources=["trap.c"], input_dtype="int32",
                          input_shape=(1,), output_dtype="int32", output_shape=(1,))
    with pytest.raises(edgeml.DataError, match=r"on example 0 faulted at PC 0x08[0-9a-f]{6} in function trap: "
                                               r"undefined instruction \(UsageFault -> HardFault"):
        EmulatorRunner().run(request(prog, tmp_path / "src", [[1], [2]], "cortex-m4", tmp_path / "work",
                                     profile_examples=1))


@pytest.mark.parametrize("words", [4095, 8000])  # a word into .bss (8 B: the status word); past the start of RAM
def test_stack_overflow_is_a_budget_error(tmp_path, words):
    prog = program(tmp_path / "src", "stack", defines={"STACK_WORDS": str(words)})
    with pytest.raises(edgeml.BudgetError, match=r"overflowed its stack: the \d+ B of the RAM share left above "
                                                 r".data \+ .bss \(\d+ B\) were not enough") as err:
        EmulatorRunner().run(request(prog, tmp_path / "src", [[1]], "cortex-m4", tmp_path / "work"))
    assert "\n" not in str(err.value)
