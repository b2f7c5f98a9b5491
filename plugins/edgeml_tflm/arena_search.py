"""The tensor arena, measured: the smallest size with which TFLM allocates and invokes the model.

tflite-micro has no getter for the arena a model needs, and the recording
allocator's printed total misses temporaries (tflite-micro issue 2738), so
the arena is bisected with the real allocator: a size works if the
interpreter allocates its tensors and completes one inference.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

import edgeml

from edgeml_tflm import host_interpreter


@dataclass(frozen=True)
class ArenaSearch:
    measured_bytes: int     # smallest working multiple of the granularity
    margin_bytes: int       # added for what the host cannot see (see params/backend/tflm.yaml)
    arena_bytes: int        # measured + margin: EDGEML_TENSOR_ARENA_SIZE
    granularity_bytes: int
    probes: int


def arena_works(tflite_bytes: bytes, arena_bytes: int, q_input: np.ndarray) -> bool:
    """True if TFLM allocates the model's tensors in ``arena_bytes`` and invokes it once.

    Each probe runs in a forked child: with an arena too small for a
    kernel's temporaries, TFLM dereferences a null pointer in some kernels
    (STRIDED_SLICE, SPLIT_V, CONCATENATION were seen) instead of returning
    an error, and that segfault must fail the probe, not kill the build.
    """
    if not hasattr(os, "fork"):
        return _probe(tflite_bytes, arena_bytes, q_input)
    pid = os.fork()
    if pid == 0:  # child: report by exit status only, never return into the caller's stack
        import faulthandler
        import signal

        faulthandler.disable()  # an expected crash here must not print a Python fatal-error dump
        for sig in (signal.SIGSEGV, signal.SIGBUS, signal.SIGABRT, signal.SIGFPE, signal.SIGILL):
            signal.signal(sig, signal.SIG_DFL)
        try:
            code = 0 if _probe(tflite_bytes, arena_bytes, q_input) else 1
        except BaseException:
            code = 2
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


def _probe(tflite_bytes: bytes, arena_bytes: int, q_input: np.ndarray) -> bool:
    try:
        interpreter = host_interpreter.load(tflite_bytes, arena_bytes)
        host_interpreter.invoke_one(interpreter, q_input)
    except RuntimeError:
        return False
    return True


def margin_for(measured: int, fraction: float, extra: int, granularity: int) -> int:
    """``measured * fraction + extra``, rounded up to the granularity so the arena stays a multiple of it."""
    return int(np.ceil((measured * fraction + extra) / granularity)) * granularity


def find_arena(tflite_bytes: bytes, q_input: np.ndarray, upper: int, granularity: int,
               margin_fraction: float, margin_bytes: int) -> ArenaSearch:
    """Bisect over multiples of ``granularity`` in (0, ``upper``]; assumes a bigger arena never hurts."""
    hi = -(-upper // granularity)   # units of granularity; hi works, lo fails (0 bytes trivially does)
    lo, probes = 0, 1
    with edgeml.native_output_captured() as err:
        top_works = arena_works(tflite_bytes, hi * granularity, q_input)
        while top_works and hi - lo > 1:
            mid = (lo + hi) // 2
            probes += 1
            if arena_works(tflite_bytes, mid * granularity, q_input):
                hi = mid
            else:
                lo = mid
    if not top_works:
        raise edgeml.EdgeMLError(
            f"TFLM cannot allocate and invoke the model even with a {hi * granularity}-byte arena "
            f"({err.last_lines()}): if an op is named, TFLM has no kernel for it, replace that layer; "
            "otherwise raise backend.arena.search_max_bytes")
    measured = hi * granularity
    margin = margin_for(measured, margin_fraction, margin_bytes, granularity)
    return ArenaSearch(measured_bytes=measured, margin_bytes=margin, arena_bytes=measured + margin,
                       granularity_bytes=granularity, probes=probes)
