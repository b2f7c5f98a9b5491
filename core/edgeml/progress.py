"""A dependency-free progress display on stderr.

On a terminal it redraws one line; in logs (CI, DVC) it prints a line at each
10 % step so long work shows signs of life without flooding the output.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator, TextIO


class Progress:
    def __init__(self, stream: TextIO | None = None, enabled: bool = True, prefix: str = ""):
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.prefix = prefix
        self._tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._last_step = -1
        self._task = ""
        self._t0 = time.monotonic()

    def child(self, prefix: str) -> "Progress":
        return Progress(self.stream, self.enabled, prefix)

    def message(self, text: str) -> None:
        """Print one line (ends any in-place line first)."""
        if not self.enabled:
            return
        if self._tty and self._task:
            self.stream.write("\n")
            self._task = ""
        self.stream.write(f"{self.prefix}{text}\n")
        self.stream.flush()

    def update(self, done: int, total: int, task: str) -> None:
        """Report ``done`` of ``total`` units of ``task``."""
        if not self.enabled or total <= 0:
            return
        frac = min(1.0, done / total)
        elapsed = time.monotonic() - self._t0 if task == self._task else 0.0
        if task != self._task:
            self._task, self._last_step, self._t0 = task, -1, time.monotonic()
        if self._tty:
            bar = "#" * int(frac * 20)
            self.stream.write(f"\r{self.prefix}{task} [{bar:<20}] {done}/{total} {elapsed:5.1f}s")
            if done >= total:
                self.stream.write("\n")
                self._task = ""
        else:
            step = int(frac * 10)
            if step == self._last_step:
                return
            self._last_step = step
            self.stream.write(f"{self.prefix}{task}: {done}/{total}\n")
        self.stream.flush()


@dataclass
class CapturedOutput:
    """What native code wrote while captured; ``text`` is filled when the block ends."""

    text: str = ""

    def last_lines(self, n: int = 3) -> str:
        """The last ``n`` non-empty lines joined by " / ", for quoting in a one-line error."""
        lines = [ln.strip() for ln in self.text.splitlines() if ln.strip()]
        return " / ".join(lines[-n:]) or "no message"


@contextmanager
def native_output_captured(fds: tuple[int, ...] = (2,)) -> Iterator[CapturedOutput]:
    """Redirect file descriptor 2 (or ``fds``) into a buffer for the block, at the OS level.

    Native libraries (a framework's C++ logging, a runtime's printf) write to
    the descriptor directly, where ``sys.stderr`` redirection does not reach.
    """
    captured = CapturedOutput()
    sys.stdout.flush()
    sys.stderr.flush()
    saved = {fd: os.dup(fd) for fd in fds}
    with tempfile.TemporaryFile() as held:
        for fd in fds:
            os.dup2(held.fileno(), fd)
        try:
            yield captured
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            for fd, copy in saved.items():
                os.dup2(copy, fd)
                os.close(copy)
            held.seek(0)
            captured.text = held.read().decode("utf-8", "replace")


@contextmanager
def native_stderr_muted(fds: tuple[int, ...] = (2,)) -> Iterator[None]:
    """Hold back what native code writes to file descriptor 2 (or ``fds``) inside the block.

    Some frameworks log from C++ on import or conversion, where no Python
    setting reaches; wrap such calls so the progress display stays readable.
    If the block raises, the held-back text is written out, so a failure
    keeps its diagnosis.
    """
    captured = CapturedOutput()
    try:
        with native_output_captured(fds) as captured:
            yield
    except BaseException:
        sys.stderr.write(captured.text)
        raise
