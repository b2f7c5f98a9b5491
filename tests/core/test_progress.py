"""Terminal output: the progress display and muting native chatter."""

from __future__ import annotations

import io
import os

import pytest

from edgeml.progress import Progress, native_output_captured, native_stderr_muted


def test_native_output_is_held_back_and_replayed_on_failure(capfd):
    with native_stderr_muted():
        os.write(2, b"I0000 oneDNN custom operations are on\n")
    assert capfd.readouterr().err == ""
    with pytest.raises(RuntimeError), native_stderr_muted():
        os.write(2, b"E0000 the reason it broke\n")
        raise RuntimeError("import failed")
    assert "the reason it broke" in capfd.readouterr().err


def test_native_output_is_captured_for_quoting(capfd):
    with native_output_captured() as err:
        os.write(2, b"arena too small\n\nFailed to allocate tensor 3\n")
    assert capfd.readouterr().err == ""
    assert err.last_lines(2) == "arena too small / Failed to allocate tensor 3"


def test_progress_in_a_log_prints_each_tenth_once():
    out = io.StringIO()
    p = Progress(stream=out, prefix="  sense: ")
    for i in range(1, 101):
        p.update(i, 100, "synthesise")
    lines = out.getvalue().splitlines()
    assert lines[0] == "  sense: synthesise: 1/100" and lines[-1] == "  sense: synthesise: 100/100"
    assert len(lines) == 11
    quiet = io.StringIO()
    Progress(stream=quiet, enabled=False).update(1, 2, "x")
    assert quiet.getvalue() == ""
