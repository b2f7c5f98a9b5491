"""Small C programs and RunRequests for the runner tests (real gcc, arm-none-eabi-gcc and unicorn)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

import edgeml
from edgeml.targets import TargetProfile

PARAMS = Path(__file__).resolve().parents[3] / "params" / "target"

#: float dot products clamped to int8: float code verified bit for bit needs -ffp-contract=off.
DOT_C = r"""
#include <stdint.h>

int dot_clamp(const float *input, int8_t *output);

int dot_clamp(const float *input, int8_t *output)
{
    int j, i;
    for (j = 0; j < 4; j++) {
        float acc = 0.0f, v;
        for (i = 0; i < 8; i++)
            acc += input[i] * input[8 + j * 8 + i];
        v = acc * 10.0f;
        if (v > 127.0f) v = 127.0f;
        if (v < -128.0f) v = -128.0f;
        output[j] = (int8_t)v;
    }
    return input[0] > 100.0f ? 7 : 0;  /* a failure code the tests trigger */
}
"""

#: A loop whose instructions are countable by hand: 2 + 3n + 3 per call (no IT blocks, one path).
COUNT_C = r"""
#include <stdint.h>

int count_loop(const int32_t *input, int32_t *output);

__asm__(
    "  .syntax unified\n"
    "  .thumb\n"
    "  .section .text.count_loop,\"ax\",%progbits\n"
    "  .global count_loop\n"
    "  .type count_loop, %function\n"
    "  .thumb_func\n"
    "count_loop:\n"
    "  ldr r2, [r0]\n"
    "  movs r3, #0\n"
    "count_loop_again:\n"
    "  adds r3, r3, #1\n"
    "  subs r2, r2, #1\n"
    "  bne count_loop_again\n"
    "  str r3, [r1]\n"
    "  movs r0, #0\n"
    "  bx lr\n"
    "  .size count_loop, . - count_loop\n");
"""

#: A local array of STACK_WORDS words: the stack high-water mark grows with it.
STACK_C = r"""
#include <stdint.h>

int stack_user(const int32_t *input, int32_t *output);

static int32_t fill(volatile int32_t *buf, int32_t seed)
{
    int32_t i, sum = 0;
    for (i = 0; i < STACK_WORDS; i++) buf[i] = seed + i;
    for (i = 0; i < STACK_WORDS; i++) sum += buf[i];
    return sum;
}

int stack_user(const int32_t *input, int32_t *output)
{
    volatile int32_t buf[STACK_WORDS];
    output[0] = fill(buf, input[0]);
    return 0;
}
"""

#: A store to an address no Cortex-M target here maps.
FAULT_C = r"""
#include <stdint.h>

int poke(const int32_t *input, int32_t *output);

int poke(const int32_t *input, int32_t *output)
{
    *(volatile int32_t *)0x40000000 = input[0];
    output[0] = 1;
    return 0;
}
"""

SPIN_C = r"""
#include <stdint.h>

int spin(const int32_t *input, int32_t *output);

int spin(const int32_t *input, int32_t *output)
{
    volatile int32_t i = input[0];
    for (;;) {
        i++;
        output[0] = i;
    }
}
"""

#: 200 KB of constants: more than any Cortex-M4 profile's 64 KB model share of flash.
BIG_C = r"""
#include <stdint.h>

int big_table(const int32_t *input, int32_t *output);

static const int32_t TABLE[51200] = {1, 2, 3};

int big_table(const int32_t *input, int32_t *output)
{
    output[0] = TABLE[(uint32_t)input[0] % 51200u];
    return 0;
}
"""

PROGRAMS = {
    "dot": (DOT_C, dict(entry_point="dot_clamp", input_dtype="float32", input_shape=(40,), output_dtype="int8",
                        output_shape=(4,), flags=["-ffp-contract=off"])),
    "count": (COUNT_C, dict(entry_point="count_loop", input_dtype="int32", input_shape=(1,), output_dtype="int32",
                            output_shape=(1,))),
    "stack": (STACK_C, dict(entry_point="stack_user", input_dtype="int32", input_shape=(1,), output_dtype="int32",
                            output_shape=(1,))),
    "fault": (FAULT_C, dict(entry_point="poke", input_dtype="int32", input_shape=(1,), output_dtype="int32",
                            output_shape=(1,))),
    "spin": (SPIN_C, dict(entry_point="spin", input_dtype="int32", input_shape=(1,), output_dtype="int32",
                          output_shape=(1,))),
    "big": (BIG_C, dict(entry_point="big_table", input_dtype="int32", input_shape=(1,), output_dtype="int32",
                        output_shape=(1,))),
}


def target(name: str) -> TargetProfile:
    return TargetProfile.from_config(yaml.safe_load((PARAMS / f"{name}.yaml").read_text()))


def program(root: Path, kind: str, **extra) -> edgeml.Program:
    """Write program ``kind``'s C into ``root`` and describe it."""
    source, spec = PROGRAMS[kind]
    root.mkdir(parents=True, exist_ok=True)
    (root / f"{kind}.c").write_text(source)
    return edgeml.Program(name=kind, sources=[f"{kind}.c"], **{**spec, **extra})


def request(prog: edgeml.Program, root: Path, inputs, target_name: str, work_dir: Path,
            **options) -> edgeml.RunRequest:
    tgt = target(target_name)
    return edgeml.RunRequest(program=prog, root=root, inputs=np.asarray(inputs), target=tgt, work_dir=work_dir,
                             libraries={}, flash_bytes=tgt.flash_budget_bytes, ram_bytes=tgt.ram_budget_bytes,
                             options=options)


def dot_inputs(n: int = 64, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.0, 1.5, size=(n, 40)).astype(np.float32)


def dot_reference(x: np.ndarray) -> np.ndarray:
    """The C's arithmetic in float32, in its order: each product rounded, then added (no contraction)."""
    out = np.empty((len(x), 4), np.int8)
    for n, row in enumerate(x):
        for j in range(4):
            acc = np.float32(0)
            for i in range(8):
                acc = np.float32(acc + np.float32(row[i] * row[8 + j * 8 + i]))
            v = np.float32(acc * np.float32(10))
            v = min(max(v, np.float32(-128)), np.float32(127))
            out[n, j] = np.int8(np.trunc(v))
    return out
