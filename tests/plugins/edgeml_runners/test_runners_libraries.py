"""A program built against a C library: system includes, defines, library sources held to their own
warnings, and the library's location kept out of the firmware image."""

from __future__ import annotations

import numpy as np

import edgeml
from edgeml_runners.emulator_runner import EmulatorRunner
from edgeml_runners.host import HostRunner
from runners_programs import request

LIB_H = "#include <stdint.h>\nint32_t scale_add(int32_t a, int32_t b);\nextern const char *const scale_file;\n"
# Third-party style: an unused parameter (a warning, not our error) and __FILE__ (a path in the image).
LIB_C = ('#include "scale.h"\nconst char *const scale_file = __FILE__;\n'
         "static int unused_helper(int x, int y) { return x; }\n"
         "int32_t scale_add(int32_t a, int32_t b) { return a * SCALE + b + unused_helper(0, 0); }\n")
PROG_C = ('#include <stdint.h>\n#include "scale.h"\n'
          "int use_lib(const int32_t *input, int32_t *output);\n"
          "int use_lib(const int32_t *input, int32_t *output)\n"
          "{ output[0] = scale_add(input[0], input[1]); output[1] = scale_file[0]; return 0; }\n")


def _library(root):
    (root / "include").mkdir(parents=True)
    (root / "src").mkdir()
    (root / "include" / "scale.h").write_text(LIB_H)
    (root / "src" / "scale.c").write_text(LIB_C)
    return edgeml.LibraryFiles(root=root, include_dirs=[root / "include"], version="1.0", defines={"SCALE": "3"})


def _request(tmp, runner_dir, target_name="cortex-m4"):
    (tmp / "prog").mkdir(parents=True, exist_ok=True)
    (tmp / "prog" / "use_lib.c").write_text(PROG_C)
    prog = edgeml.Program(name="use_lib", entry_point="use_lib", sources=["use_lib.c"], input_dtype="int32",
                          input_shape=(2,), output_dtype="int32", output_shape=(2,),
                          libraries={"scale": ["src/scale.c"]})
    req = request(prog, tmp / "prog", np.array([[2, 1], [-5, 7]], np.int32), target_name, tmp / runner_dir)
    req.libraries = {"scale": _library(tmp / "lib")}
    return req


def test_library_program_runs_on_host_and_emulator_alike(tmp_path):
    host = HostRunner().run(_request(tmp_path, "host"))
    emu = EmulatorRunner().run(_request(tmp_path / "again", "emulator"))
    assert host.outputs[:, 0].tolist() == [7, -8]
    np.testing.assert_array_equal(host.outputs[:, 0], emu.outputs[:, 0])
    # __FILE__ is relative ("src/scale.c": compiled from the library root), whatever the directory.
    assert chr(int(emu.outputs[0, 1])) == "s"


def test_library_location_does_not_change_the_image(tmp_path):
    EmulatorRunner().run(_request(tmp_path / "one", "fw"))
    EmulatorRunner().run(_request(tmp_path / "two" / "deeper", "fw"))
    assert (tmp_path / "one" / "fw" / "use_lib.elf").read_bytes() == \
        (tmp_path / "two" / "deeper" / "fw" / "use_lib.elf").read_bytes()
