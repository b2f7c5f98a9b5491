"""edgeml.csize: flash and RAM of a compiled object, from its sections."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from edgeml import DataError, csize


@pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc (scripts/setup.sh installs it)")
def test_constants_count_as_flash_and_zeroed_buffers_as_ram(tmp_path):
    src = tmp_path / "t.c"
    src.write_text("const int table[100] = {1};\nint buffer[50];\nint counter = 3;\n"
                   "int get(int i) { return table[i] + buffer[i] + counter; }\n")
    obj = tmp_path / "t.o"
    subprocess.run(["gcc", "-Os", "-fno-asynchronous-unwind-tables", "-c", str(src), "-o", str(obj)], check=True)
    flash, ram = csize.sections(obj)
    assert 400 + 4 <= flash < 400 + 4 + 200  # table + counter's initial value + a little code
    assert ram == 200 + 4                    # buffer (.bss) + counter (.data)


def test_a_file_that_is_not_an_object_names_the_fix(tmp_path):
    bad = tmp_path / "notes.txt"
    bad.write_text("hello")
    with pytest.raises(DataError, match="size -A .*notes.txt failed"):
        csize.sections(bad)


@pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc (scripts/setup.sh installs it)")
def test_host_sizes_compile_sources_given_as_text_with_their_headers():
    sizes = csize.host_sizes({"app/t.h": "#define N 64\n", "app/t.c": '#include "t.h"\nconst short lut[N] = {1};\n'
                              "short state[N];\nint f(int i) { return lut[i] + state[i]; }\n"})
    assert sizes["flash"] >= 128 and sizes["ram"] == 128
    with pytest.raises(DataError, match="compiling bad.c to measure its size failed"):
        csize.host_sizes({"bad.c": "int f( {"})
