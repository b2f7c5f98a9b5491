"""The host runner: real gcc, with and without ASan/UBSan."""

from __future__ import annotations

import numpy as np
import pytest

import edgeml
import edgeml_runners.plugin
from edgeml.plugins import get_plugin_manager, load_registry
from edgeml_runners.host import HostRunner
from runners_programs import dot_inputs, dot_reference, program, request


def test_plugin_registers_host_and_emulator():
    registry = load_registry(get_plugin_manager(extra_plugins=[edgeml_runners.plugin], load_entry_points=False))
    assert {"host", "emulator"} <= set(registry.runners)
    assert registry.runners["host"].supports(None) is None


@pytest.mark.parametrize("sanitize", [False, True])
def test_host_outputs_equal_the_float32_reference(tmp_path, sanitize):
    prog = program(tmp_path / "src", "dot")
    x = dot_inputs(64)
    run = HostRunner().run(request(prog, tmp_path / "src", x, "cortex-m4", tmp_path / "work", sanitize=sanitize))
    assert run.outputs.dtype == np.int8 and run.outputs.shape == (64, 4)
    np.testing.assert_array_equal(run.outputs, dot_reference(x))
    assert len(np.unique(run.outputs)) > 10  # outputs vary: the comparison means something
    assert run.cycles is None and run.instructions is None and run.flash_bytes is None and run.ram_bytes is None
    assert "gcc" in run.method and "-Werror" in run.method
    assert ("-fsanitize=address,undefined" in run.method) == sanitize


def test_nonzero_return_names_the_example(tmp_path):
    prog = program(tmp_path / "src", "dot")
    x = dot_inputs(8)
    x[5, 0] = 1000.0
    with pytest.raises(edgeml.DataError, match=r"returned 7 for example 5") as err:
        HostRunner().run(request(prog, tmp_path / "src", x, "cortex-m4", tmp_path / "work"))
    assert "\n" not in str(err.value)


def test_compile_error_is_one_line_with_the_compiler_message(tmp_path):
    prog = program(tmp_path / "src", "dot")
    (tmp_path / "src" / "dot.c").write_text("int dot_clamp(const float *input, signed char *output)\n"
                                           "{ int unused; return 0; }\n")
    with pytest.raises(edgeml.DataError, match=r"unused") as err:
        HostRunner().run(request(prog, tmp_path / "src", dot_inputs(2), "cortex-m4", tmp_path / "work"))
    assert "\n" not in str(err.value)


def test_sanitizer_catches_a_read_past_the_input(tmp_path):
    prog = program(tmp_path / "src", "dot", input_shape=(39,))  # the C reads 40 floats
    with pytest.raises(edgeml.DataError, match=r"AddressSanitizer: heap-buffer-overflow") as err:
        HostRunner().run(request(prog, tmp_path / "src", dot_inputs(2)[:, :39], "cortex-m4", tmp_path / "work",
                                 sanitize=True))
    assert "\n" not in str(err.value)


def test_unknown_option_is_a_config_error(tmp_path):
    prog = program(tmp_path / "src", "dot")
    with pytest.raises(edgeml.ConfigError, match="sanitise"):
        HostRunner().run(request(prog, tmp_path / "src", dot_inputs(2), "cortex-m4", tmp_path / "work",
                                 sanitise=True))
