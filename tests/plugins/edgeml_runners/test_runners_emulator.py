"""The emulator runner: arm-none-eabi-gcc firmware in unicorn, compared with the host build bit for bit."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

import edgeml
from edgeml_runners.emulator_runner import EmulatorRunner
from edgeml_runners.host import HostRunner
from runners_programs import dot_inputs, dot_reference, program, request, target

CORES = ["cortex-m0plus", "cortex-m4", "cortex-m7"]


@pytest.fixture(scope="module")
def host_dot(tmp_path_factory):
    root = tmp_path_factory.mktemp("dot")
    prog = program(root / "src", "dot")
    x = dot_inputs(48)
    run = HostRunner().run(request(prog, root / "src", x, "cortex-m4", root / "host", sanitize=True))
    return root, prog, x, run


@pytest.mark.parametrize("core", CORES)
def test_emulated_outputs_equal_host_outputs_bit_for_bit(host_dot, core):
    root, prog, x, host = host_dot
    run = EmulatorRunner().run(request(prog, root / "src", x, core, root / core, profile_examples=8))
    np.testing.assert_array_equal(run.outputs, host.outputs)
    np.testing.assert_array_equal(run.outputs, dot_reference(x))
    assert run.info["examples"] == {"profiled": 8, "total": 48}
    # Figures from the linked image and the run, each with its method.
    assert run.flash_bytes.value == sum(run.info["flash_sections"].values()) > 0
    assert run.ram_bytes.value == run.info["static_ram_bytes"] + run.info["stack_bytes"]
    # The status word is the program's RAM; the input and output buffers sit in the IO region, outside it.
    assert 4 <= run.info["static_ram_bytes"] < 40 * 4
    assert run.info["stack_bytes"] > 0
    assert "unicorn 2.1.4" in run.instructions.method and "block-hook count, 8 examples" in run.instructions.method
    assert run.instructions.value > 100 and run.cycles.value >= run.instructions.value * 0.5
    assert run.info["instructions"]["min"] <= run.instructions.value <= run.info["instructions"]["max"]
    assert (root / core / "dot.elf").is_file() and (root / core / "dot.map").is_file()
    assert run.info["elf"].endswith("dot.elf") and "arm-none-eabi-gcc" in run.info["toolchain"]
    assert f"-mcpu={core}" in run.info["flags"]
    ips = run.timing["instructions_per_second"]
    assert ips["hooked"] > 0 and ips["unhooked"] > 0


def test_nonzero_return_names_the_example(tmp_path):
    prog = program(tmp_path / "src", "dot")
    x = dot_inputs(6)
    x[4, 0] = 1000.0
    with pytest.raises(edgeml.DataError, match=r"returned 7 for example 4") as err:
        EmulatorRunner().run(request(prog, tmp_path / "src", x, "cortex-m4", tmp_path / "work"))
    assert "\n" not in str(err.value)


def test_same_program_gives_the_same_elf_from_another_directory(tmp_path):
    prog = program(tmp_path / "a" / "src", "dot")
    shutil.copytree(tmp_path / "a" / "src", tmp_path / "elsewhere" / "deeper" / "src")
    x = dot_inputs(2)
    EmulatorRunner().run(request(prog, tmp_path / "a" / "src", x, "cortex-m4", tmp_path / "a" / "fw"))
    EmulatorRunner().run(request(prog, tmp_path / "elsewhere" / "deeper" / "src", x, "cortex-m4",
                                 tmp_path / "b" / "firmware" / "emulator"))
    a = (tmp_path / "a" / "fw" / "dot.elf").read_bytes()
    b = (tmp_path / "b" / "firmware" / "emulator" / "dot.elf").read_bytes()
    assert a == b


def test_unsupported_targets_give_their_reason(monkeypatch, tmp_path):
    runner = EmulatorRunner()
    for name in CORES + ["cortex-m4-lp"]:
        assert runner.supports(target(name)) is None
    xtensa = runner.supports(target("esp32-s3"))
    assert "Xtensa" in xtensa and "esp32-s3" in xtensa and "estimate" in xtensa
    monkeypatch.setenv("EDGEML_RISCV_GCC", str(tmp_path / "no-such-gcc"))
    riscv = runner.supports(target("esp32-c3"))
    assert "RISC-V" in riscv and "esp32-c3" in riscv
    assert "apt-get install gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf" in riscv


def test_missing_toolchain_names_the_setup_command(monkeypatch, tmp_path):
    monkeypatch.setenv("EDGEML_ARM_GCC", str(tmp_path / "no-such-gcc"))
    with pytest.raises(edgeml.IncompatibleError, match=r"arm-none-eabi-gcc not found.*bash scripts/setup.sh"):
        EmulatorRunner().check({"runners": {"emulator": {"profile_examples": 4}}}, target("cortex-m4"))


def test_bad_option_is_a_config_error():
    with pytest.raises(edgeml.ConfigError, match="profile_example"):
        EmulatorRunner().check({"runners": {"emulator": {"profile_example": 4}}}, target("cortex-m4"))


def test_progress_reports_examples_done(tmp_path):
    class Recorder:
        def __init__(self):
            self.calls = []

        def update(self, done, total, task):
            self.calls.append((done, total, task))

    prog = program(tmp_path / "src", "dot")
    req = request(prog, tmp_path / "src", dot_inputs(5), "cortex-m0plus", tmp_path / "work", profile_examples=2)
    req.progress = Recorder()
    run = EmulatorRunner().run(req)
    assert req.progress.calls[-1][:2] == (5, 5) and "cortex-m0plus" in req.progress.calls[-1][2]
    assert run.info["examples"] == {"profiled": 2, "total": 5}
