"""Test harness for single lowerings: a tiny Keras model converted to full-INT8, run once by TFLM (the truth)
and once as the C the lowerings generate, compiled for the host against CMSIS-NN's portable C.

The C side is deliberately small: one static buffer per activation tensor, the layers' bodies in execution
order, constants as static const arrays. It checks the lowerings themselves (placeholders, constants,
scratch sizes) without depending on the backend's code generator and memory planner, which have their own
tests. Every generated body is also compiled for a Cortex-M4 with arm-none-eabi-gcc when it is installed.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

CFLAGS = ["-O2", "-std=c99", "-Wall", "-Wextra", "-Werror"]


def cmsis_nn_root() -> Path:
    """Where CMSIS-NN's source is (``edgeml deps cmsis-nn``, or EDGEML_CMSIS_NN_ROOT), or a skip saying how
    to install it."""
    from edgeml_cmsis_nn.library import CmsisNn, missing_reason

    reason = missing_reason()
    if reason:
        pytest.skip(reason)
    return Path(CmsisNn().locate().root)


def int8_tflite(model, seed: int = 0, samples: int = 32, low: float = -1.0, high: float = 1.0,
                **converter_attrs) -> bytes:
    """``model`` (Keras) converted to a full-INT8 flatbuffer with int8 input/output; calibrated on uniform
    random data in [low, high] (one range per model input when sequences). ``converter_attrs`` are set on
    the TFLiteConverter (experimental knobs)."""
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    shapes = [tuple(int(d) for d in t.shape[1:]) for t in model.inputs]
    names = [t.name.split(":")[0] for t in model.inputs]

    lows = list(low) if isinstance(low, (list, tuple)) else [low] * len(shapes)
    highs = list(high) if isinstance(high, (list, tuple)) else [high] * len(shapes)

    def rep():
        for _ in range(samples):
            # By name: the converter does not keep the Keras model's input order.
            yield {n: rng.uniform(lo, hi, (1,) + s).astype(np.float32) for n, s, lo, hi in zip(names, shapes, lows, highs)}

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = rep
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    for k, v in converter_attrs.items():
        setattr(conv, k, v)
    return conv.convert()


def random_inputs(tflite: bytes, count: int, seed: int = 1) -> list[list[np.ndarray]]:
    """``count`` examples, each one int8 array per graph input (batch dimension included)."""
    from edgeml_cmsis_nn.graph import read_graph

    g = read_graph(tflite)
    rng = np.random.default_rng(seed)
    return [[rng.integers(-128, 128, g.tensor(i).shape, dtype=np.int64).astype(np.int8) for i in g.inputs]
            for _ in range(count)]


def tflm_outputs(tflite: bytes, inputs: list[list[np.ndarray]]) -> list[list[np.ndarray]]:
    from tflite_micro import runtime

    from edgeml_cmsis_nn.graph import read_graph

    n_out = len(read_graph(tflite).outputs)
    interp = runtime.Interpreter.from_bytes(tflite, arena_size=256 * 1024)
    outs = []
    for example in inputs:
        for k, x in enumerate(example):
            interp.set_input(x, k)
        interp.invoke()
        outs.append([np.asarray(interp.get_output(k)).copy() for k in range(n_out)])
    return outs


def lower_reshape_alias(lw):
    """RESHAPE for test graphs (the backend has its own): the output is the input's memory."""
    from edgeml_cmsis_nn.layers.base import Layer

    return Layer(op=lw.op, kernel="none", inputs=[lw.op.inputs[0]], outputs=[lw.op.outputs[0]],
                 alias_of=lw.op.inputs[0])


def _c_array(values: np.ndarray) -> str:
    flat = np.asarray(values).reshape(-1)
    return ", ".join(str(int(v)) for v in flat) if flat.size else "0"


def _library(root: Path) -> Path:
    """CMSIS-NN's int kernels (portable C: no -mcpu), built once per root into a cached static library."""
    key = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:12]
    cache = Path(tempfile.gettempdir()) / f"edgeml-cmsisnn-harness-{key}"
    lib = cache / "libcmsisnn.a"
    if lib.is_file():
        return lib
    work = Path(tempfile.mkdtemp(prefix="cmsisnn-lib-"))
    sources = [p for p in sorted((root / "Source").rglob("*.c")) if not re.search(r"_f(16|32)\.c$", p.name)]
    objs = []
    for i, src in enumerate(sources):
        obj = work / f"{i}_{src.stem}.o"
        subprocess.run(["gcc", "-O2", "-std=c99", "-c", "-I", str(root / "Include"), str(src), "-o", str(obj)],
                       check=True, capture_output=True)
        objs.append(str(obj))
    subprocess.run(["ar", "rcs", str(work / "libcmsisnn.a"), *objs], check=True)
    cache.mkdir(parents=True, exist_ok=True)
    os.replace(work / "libcmsisnn.a", lib)     # atomic: concurrent tests never see half a library
    shutil.rmtree(work, ignore_errors=True)
    return lib


def generate_c(tflite: bytes, lowerings: dict[str, Callable]) -> tuple[str, list]:
    """The C program (reads examples on stdin, writes outputs on stdout) and the Layers it holds."""
    from edgeml_cmsis_nn.graph import read_graph
    from edgeml_cmsis_nn.layers.base import Lowering

    g = read_graph(tflite)
    layers = []
    for op in g.ops:
        if op.name not in lowerings:
            raise AssertionError(f"test model holds {op.name}, which this test does not lower")
        layers.append(lowerings[op.name](Lowering(graph=g, op=op)))
    buf = {}                                   # tensor index -> C buffer expression
    decls, consts, helpers, bodies = [], [], {}, []
    for t in g.tensors:
        if not t.is_constant:
            ctype = {np.dtype(np.int8): "int8_t", np.dtype(np.int16): "int16_t",
                     np.dtype(np.int32): "int32_t"}[np.dtype(t.dtype)]
            decls.append(f"static {ctype} t{t.index}[{max(t.size, 1)}] __attribute__((aligned(16)));")
            buf[t.index] = f"t{t.index}"
    storage = dict(buf)
    # like the backend's model_invoke(in, out): a one-input, one-output graph's bodies see the parameters
    # ``in`` and ``out``, so a body whose locals shadow them fails to compile here too
    single = len(g.inputs) == 1 and len(g.outputs) == 1
    if single:
        buf[g.inputs[0]], buf[g.outputs[0]] = "in", "out"
    for k, layer in enumerate(layers):
        body = layer.body
        if layer.alias_of is not None:          # the harness copies what the backend's plan would alias
            body = f"memcpy(@out0@, @in0@, {g.tensor(layer.outputs[0]).nbytes});"
        for c in layer.constants:
            sym = f"l{k}_{c.name}"
            consts.append(f"static const {c.ctype} {sym}[{max(np.asarray(c.values).size, 1)}] "
                          f"__attribute__((aligned(16))) = {{{_c_array(c.values)}}};")
            body = body.replace(f"@{c.name}@", sym)
        if layer.scratch_bytes:
            decls.append(f"static int8_t scratch{k}[{layer.scratch_bytes}] __attribute__((aligned(16)));")
            body = body.replace("@scratch@", f"(void *)scratch{k}")
        else:
            body = body.replace("@scratch@", "NULL")
        body = body.replace("@scratch_size@", str(layer.scratch_bytes)).replace("@fail@", str(k + 1))
        for i, t in enumerate(layer.inputs):
            body = body.replace(f"@in{i}@", f"(const int8_t *){buf[t]}")
        for i, t in enumerate(layer.outputs):
            body = body.replace(f"@out{i}@", f"(int8_t *){buf[t]}")
        left = re.findall(r"@[A-Za-z0-9_]+@", body)
        assert not left, f"layer {k} ({layer.op.name}) leaves placeholders {left}"
        helpers.update(layer.helpers)
        bodies.append(f"    /* layer {k}: {layer.op.name} via {layer.kernel} */\n    {{\n{body}\n    }}")
    reads = "\n".join(f"        if (fread({b}, 1, sizeof({b}), stdin) != sizeof({b})) return 0;"
                      for b in (storage[i] for i in g.inputs))
    writes = "\n".join(f"        fwrite({storage[o]}, 1, sizeof({storage[o]}), stdout);" for o in g.outputs)
    call_in = storage[g.inputs[0]] if single else "NULL"
    call_out = storage[g.outputs[0]] if single else "NULL"
    pre = [] if single else ["    (void)in;", "    (void)out;"]
    bodies = pre + bodies
    src = "\n".join([
        "#include <stdint.h>", "#include <stddef.h>", "#include <stdio.h>", "#include <string.h>",
        '#include "arm_nnfunctions.h"', "", *decls, "", *consts, "", *helpers.values(), "",
        "static int run_model(const int8_t *in, int8_t *out)", "{", *bodies, "    return 0;", "}", "",
        "int main(void)", "{", "    for (;;) {", reads,
        f"        if (run_model({call_in}, {call_out}) != 0) return 1;", writes, "    }", "}", ""])
    return src, layers


def host_outputs(tflite: bytes, lowerings: dict[str, Callable], inputs: list[list[np.ndarray]],
                 root: Path, workdir: Path) -> list[list[np.ndarray]]:
    """``inputs`` run through the generated C on the host; also cross-compiles it for a Cortex-M4."""
    from edgeml_cmsis_nn.graph import read_graph

    g = read_graph(tflite)
    src, _ = generate_c(tflite, lowerings)
    c = workdir / "model_test.c"
    c.write_text(src)
    exe = workdir / "model_test"
    r = subprocess.run(["gcc", *CFLAGS, "-I", str(root / "Include"), str(c), str(_library(root)), "-o", str(exe)],
                       capture_output=True, text=True)
    assert r.returncode == 0, f"host compile failed:\n{r.stderr}\n{src}"
    if shutil.which("arm-none-eabi-gcc"):
        r = subprocess.run(["arm-none-eabi-gcc", "-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard",
                            "-mfpu=fpv4-sp-d16", *CFLAGS, "-I", str(root / "Include"), "-c", str(c),
                            "-o", str(workdir / "model_test_m4.o")], capture_output=True, text=True)
        assert r.returncode == 0, f"arm-none-eabi-gcc compile failed:\n{r.stderr}"
    stdin = b"".join(np.ascontiguousarray(x).tobytes() for example in inputs for x in example)
    r = subprocess.run([str(exe)], input=stdin, capture_output=True, timeout=60)
    assert r.returncode == 0, f"generated C failed with exit code {r.returncode}"
    out_tensors = [g.tensor(o) for o in g.outputs]
    per_example = sum(t.nbytes for t in out_tensors)
    assert len(r.stdout) == per_example * len(inputs)
    results, pos = [], 0
    for _ in inputs:
        outs = []
        for t in out_tensors:
            outs.append(np.frombuffer(r.stdout[pos:pos + t.nbytes], dtype=t.dtype).reshape(t.shape))
            pos += t.nbytes
        results.append(outs)
    return results


def assert_bit_exact(tflite: bytes, lowerings: dict[str, Callable], count: int, root: Path, workdir: Path,
                     seed: int = 1) -> int:
    """Run ``count`` random examples through TFLM and the generated C; fail on the first differing byte.
    Returns the number of output values compared."""
    inputs = random_inputs(tflite, count, seed)
    want = tflm_outputs(tflite, inputs)
    got = host_outputs(tflite, lowerings, inputs, root, workdir)
    compared = 0
    for n, (w, h) in enumerate(zip(want, got)):
        for k, (a, b) in enumerate(zip(w, h)):
            a = np.asarray(a).reshape(b.shape)
            diff = np.flatnonzero(a.reshape(-1) != b.reshape(-1))
            assert diff.size == 0, (f"example {n} output {k}: {diff.size} of {a.size} values differ from TFLM, "
                                    f"first at {diff[0]}: tflm {a.reshape(-1)[diff[0]]} vs C {b.reshape(-1)[diff[0]]}")
            compared += a.size
    return compared


def assert_bit_exact_compiled(tflite: bytes, lowerings: dict[str, Callable], count: int,
                              targets: tuple[str, ...] = ("cortex-m4",), seed: int = 1) -> int:
    """The whole backend on ``tflite`` (compile_model: memory plan, scratch queries, code generator), run by
    the host runner (portable C) and, per target, by the emulator (the core's CMSIS-NN paths, e.g. the DSP
    kernels on a Cortex-M4); every output must equal TFLM's. ``lowerings`` are registered for ops the
    backend's table does not list yet. Returns the number of values compared."""
    from edgeml_cmsis_nn.compiler import compile_model
    from edgeml_cmsis_nn.host_check import cmsis_nn_files, run_compiled
    from edgeml_cmsis_nn.layers import LOWERINGS

    for name, fn in lowerings.items():
        LOWERINGS.setdefault(name, fn)
    inputs = np.stack([example[0][0] for example in random_inputs(tflite, count, seed)])
    want = np.stack([w[0].reshape(-1) for w in tflm_outputs(tflite, [[x[np.newaxis]] for x in inputs])])
    compared = 0
    for target in targets:
        compiled = compile_model(tflite, cmsis_nn_files(), target)
        runs = run_compiled(compiled, inputs, runners=("host", "emulator"), target_name=target)
        for name, run in runs.runs.items():
            got = np.asarray(run.outputs).reshape(len(inputs), -1)
            diff = np.argwhere(got != want)
            assert diff.size == 0, (f"{target} {name}: {len(diff)} values differ from TFLM, first at example "
                                    f"{diff[0][0]} value {diff[0][1]}: tflm {want[tuple(diff[0])]} vs C "
                                    f"{got[tuple(diff[0])]}")
            compared += got.size
    return compared
