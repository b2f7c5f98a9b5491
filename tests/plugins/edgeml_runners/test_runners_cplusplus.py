"""C++ units in a Program: a .cc source is compiled with g++ (-std=c++17, no exceptions/RTTI/thread-safe
statics) beside the C units, and the image is linked with g++, on the host runner and in the emulator."""

from __future__ import annotations

import edgeml
import numpy as np
import pytest
from edgeml_runners import c_build
from edgeml_runners.emulator_runner import EmulatorRunner
from edgeml_runners.host import HostRunner
from runners_programs import request

#: C++ that a C compiler rejects (a template, a class with a virtual call, placement new, extern "C"),
#: plus a C unit it calls: both kinds link into one image.
CPP = """#include <new>
#include <stdint.h>
extern "C" int32_t c_half(int32_t v);
namespace {
struct Op { virtual int32_t apply(int32_t v) const = 0; };
struct Twice : Op { int32_t apply(int32_t v) const override { return 2 * v; } };
template <typename T> T clamp8(T v) { return v < -128 ? -128 : (v > 127 ? 127 : v); }
alignas(Twice) unsigned char g_storage[sizeof(Twice)];
}  // namespace
extern "C" int cpp_entry(const int8_t* input, int8_t* output);
int cpp_entry(const int8_t* input, int8_t* output) {
  const Op* op = new (g_storage) Twice();
  for (int i = 0; i < 4; ++i) output[i] = (int8_t)clamp8<int32_t>(op->apply(input[i]) + c_half(input[i]));
  return 0;
}
"""
C = "#include <stdint.h>\nint32_t c_half(int32_t v);\nint32_t c_half(int32_t v) { return v / 2; }\n"


def _program(root):
    root.mkdir(parents=True, exist_ok=True)
    (root / "entry.cc").write_text(CPP)
    (root / "half.c").write_text(C)
    return edgeml.Program(name="cpp", entry_point="cpp_entry", sources=["entry.cc", "half.c"], input_dtype="int8",
                          input_shape=(4,), output_dtype="int8", output_shape=(4,))


def _want(x):
    x = x.astype(np.int32)
    return np.clip(2 * x + np.trunc(x / 2).astype(np.int32), -128, 127).astype(np.int8)


def test_cplusplus_units_use_the_cxx_flags():
    assert c_build.Unit(cwd=None, path="a.cc").cplusplus and not c_build.Unit(cwd=None, path="a.c").cplusplus
    flags = c_build.Unit(cwd=None, path="a.cc").base_flags
    assert "-std=c++17" in flags and "-fno-exceptions" in flags and "-Werror" in flags
    assert "-Werror" not in c_build.Unit(cwd=None, path="a.cc", library=True).base_flags
    assert c_build.cxx_for("/usr/bin/arm-none-eabi-gcc").endswith("arm-none-eabi-g++")


@pytest.mark.parametrize("runner", [HostRunner, EmulatorRunner])
def test_a_cplusplus_program_runs(tmp_path, runner):
    x = np.random.default_rng(0).integers(-128, 128, size=(16, 4)).astype(np.int8)
    prog = _program(tmp_path / "src")
    run = runner().run(request(prog, tmp_path / "src", x, "cortex-m4", tmp_path / "work"))
    np.testing.assert_array_equal(run.outputs, _want(x))
    if runner is EmulatorRunner:
        assert run.instructions.value > 0 and "-fno-rtti" in run.info["flags"]
