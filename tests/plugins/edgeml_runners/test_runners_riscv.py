"""The emulator runner on the RISC-V target (esp32-c3, rv32imc): Debian's riscv64-unknown-elf-gcc with
picolibc and unicorn's RISC-V mode. Skipped, with the install command, where that toolchain is missing."""

from __future__ import annotations

import numpy as np
import pytest

import edgeml
from edgeml_runners import elf_image, firmware, toolchain
from edgeml_runners.emulator import Machine
from edgeml_runners.emulator_runner import EmulatorRunner
from edgeml_runners.host import HostRunner
from runners_programs import dot_inputs, program, request, target

pytestmark = pytest.mark.skipif(toolchain.riscv_gcc() is None,
                                reason=f"no RISC-V toolchain: {toolchain.RISCV_INSTALL_HINT}")


def test_riscv_outputs_equal_host_and_instructions_are_counted(tmp_path):
    assert EmulatorRunner().supports(target("esp32-c3")) is None
    prog = program(tmp_path / "src", "dot")
    x = dot_inputs(24)
    host = HostRunner().run(request(prog, tmp_path / "src", x, "esp32-c3", tmp_path / "host"))
    run = EmulatorRunner().run(request(prog, tmp_path / "src", x, "esp32-c3", tmp_path / "emu", profile_examples=4))
    np.testing.assert_array_equal(run.outputs, host.outputs)
    assert "-march=rv32imc" in run.info["flags"] and "riscv64-unknown-elf-gcc" in run.info["toolchain"]
    assert "RV32IMC block-hook count, 4 examples" in run.instructions.method
    assert run.instructions.value > 1000  # soft float through libgcc
    assert run.cycles is None and "no cost table for rv32imc" in run.info["cycle_model"]["why_none"]
    assert run.flash_bytes.value > 0 and run.info["stack_bytes"] > 0


def test_riscv_block_count_equals_per_instruction_hook(tmp_path):
    import unicorn

    prog = program(tmp_path / "src", "dot")
    req = request(prog, tmp_path / "src", dot_inputs(1), "esp32-c3", tmp_path / "work")
    image = elf_image.read(firmware.build(req).elf)
    machine = Machine(image, "rv32imc", req.flash_bytes, req.ram_bytes)
    stepped = [0]
    machine.uc.hook_add(unicorn.UC_HOOK_CODE, lambda *a: stepped.__setitem__(0, stepped[0] + 1))
    machine.profile(True)
    for i, row in enumerate(dot_inputs(3)):
        stepped[0] = 0
        assert machine.call(row.tobytes(), 10_000_000, f"example {i}").instructions == stepped[0] > 1000


def test_riscv_store_fault_names_function(tmp_path):
    prog = program(tmp_path / "src", "fault")
    with pytest.raises(edgeml.DataError, match=r"example 0 faulted at PC 0x08[0-9a-f]{6} in function poke: "
                                               r"write to unmapped address 0x40000000"):
        EmulatorRunner().run(request(prog, tmp_path / "src", [[3]], "esp32-c3", tmp_path / "work"))
