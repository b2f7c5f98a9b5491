"""The ``cmsis_nn`` backend: an INT8 ``.tflite`` compiled to C calling CMSIS-NN's kernels, one call per
layer, with a static memory plan; verified against TFLM layer by layer.

``export`` compiles the model (:mod:`edgeml_cmsis_nn.compiler`), writes the C and ``memory_plan.json``,
records TFLM's outputs on the test split (as a digest) and TFLM's smallest arena, and runs the per-layer
twin of the program on a few test examples with every runner, comparing every op's output with TFLM's.
The deliverable carries the model as an :class:`edgeml.Program`, so validate builds it with the
runners (host gcc with CMSIS-NN's portable C; the emulator with the target's kernels) and puts the
whole test split through it; the plugin's checks then compare the device with TFLM.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

import edgeml
from edgeml_cmsis_nn import tflm_reference
from edgeml_cmsis_nn.compiler import CompiledModel, compile_model
from edgeml_cmsis_nn.program import LIBRARY, model_program

MEMORY_PLAN = "memory_plan.json"


def options(cfg: Any) -> dict[str, Any]:
    prefix = str(cfg.get("symbol_prefix", "edgeml"))
    if not prefix.isidentifier():
        raise edgeml.ConfigError(f"backend.symbol_prefix={prefix} is not a C identifier: use letters, digits, _")
    n = int(cfg.get("layer_check_examples", 8))
    if n < 1:
        raise edgeml.ConfigError(f"backend.layer_check_examples={n} must be >= 1: the per-layer check needs an example")
    ratio = float(cfg.get("max_arena_over_lower_bound", 1.05))
    if ratio < 1.0:
        raise edgeml.ConfigError(f"backend.max_arena_over_lower_bound={ratio} is below 1: no plan beats the lower bound")
    return {"prefix": prefix, "layer_check_examples": n, "max_ratio": ratio}


class CmsisNnBackend(edgeml.Backend):
    """CMSIS-NN: an INT8 model as plain C with a static memory plan, bit-exact with TFLM."""

    name = "cmsis_nn"
    version = "0.1.0"
    description = ("INT8 .tflite -> C calling CMSIS-NN kernels directly, static memory plan, bit-exact with "
                   "TFLM layer by layer; needs `edgeml deps cmsis-nn`")
    accepts = ("tflite-int8",)

    def check(self, config: Any, target: Any) -> None:
        """At composition: the options, and CMSIS-NN's source on this machine (its absence is refused now,
        with the command that installs it, not after training)."""
        from edgeml_cmsis_nn.library import CmsisNn

        options(config.backend)
        CmsisNn().locate()

    def export(self, ctx: edgeml.StageContext, model: edgeml.CompressedModel,
               features: edgeml.FeatureSet) -> edgeml.Deliverable:
        if model.format not in self.accepts:
            raise edgeml.IncompatibleError(f"backend 'cmsis_nn' accepts tflite-int8 models, not '{model.format}': "
                                           "use a compressor that outputs tflite-int8, or another backend")
        opts = options(ctx.config.backend)
        prefix, out = opts["prefix"], Path(ctx.out_dir)
        src = Path(ctx.input_dir("compress")) / model.path
        try:
            tflite_bytes = src.read_bytes()
        except FileNotFoundError as exc:
            raise edgeml.DataError(f"{src} is missing: re-run the compress stage") from exc
        if model.input_quant is None:
            raise edgeml.DataError("the compressed model has no input quantization: re-run the compress stage")
        library = ctx.registry.c_libraries[LIBRARY].locate() if ctx.registry is not None else _locate()
        ctx.progress.message("cmsis_nn: compiling the model to C")
        compiled = compile_model(tflite_bytes, library, ctx.target.core, prefix, source=str(src))
        g = compiled.graph
        q_test = model.input_quant.quantize(features.x["test"])
        shape = g.tensor(g.inputs[0]).shape[1:]
        if int(np.prod(q_test.shape[1:])) != int(np.prod(shape)):
            raise edgeml.DataError(f"test inputs have shape {q_test.shape[1:]} but {src.name} expects {shape}: "
                                   "re-run preprocess, train and compress together")
        q_test = q_test.reshape(len(q_test), *shape)
        for name, text in compiled.files.items():
            (out / name).write_text(text, encoding="utf-8")

        ctx.progress.message("cmsis_nn: TFLM's outputs, every layer's outputs and smallest arena (host interpreter)")
        tflm_out = tflm_reference.outputs(tflite_bytes, q_test, ctx.progress)
        arena = tflm_reference.smallest_arena(tflite_bytes, q_test[0] if len(q_test) else np.zeros(shape, np.int8))
        layers = self._layer_check(ctx, compiled, prefix, library, tflite_bytes, q_test[:opts["layer_check_examples"]])

        plan = compiled.plan
        constants = compiled.constants_bytes
        info = {
            "cmsis_nn": library.version, "tflm": tflm_reference.version(), "kernels": compiled.kernels(),
            "ops": g.op_counts(), "macs": compiled.macs, "layers": compiled.layer_table(),
            "constants_bytes": constants, "constants_total_bytes": sum(constants.values()),
            "memory": {"arena_bytes": plan.arena_bytes, "sequential_lower_bound_bytes": plan.lower_bound_bytes,
                       "arena_over_lower_bound": round(plan.arena_bytes / plan.lower_bound_bytes, 4)
                       if plan.lower_bound_bytes else 1.0, "max_arena_over_lower_bound": opts["max_ratio"],
                       "strategy": plan.strategy, "input_bytes": plan.input_bytes, "output_bytes": plan.output_bytes,
                       "tflm_arena_bytes": arena.bytes,
                       "tflm_arena_method": f"smallest arena {tflm_reference.version()} allocates and invokes in on "
                                            f"this 64-bit host (bisected, {arena.granularity}-byte granularity); it "
                                            "holds the input and output tensors and TFLM's own structures"},
            "tflm_outputs": {"examples": int(len(tflm_out)), "sha256": tflm_reference.digest(tflm_out)},
            "layer_check": layers, "symbol_prefix": prefix,
        }
        program = model_program(compiled, prefix, library)
        files = sorted(compiled.files)
        flash = edgeml.Figure(sum(constants.values()),
                              "the model's constants (weights, biases, requantization multipliers and shifts); "
                              "code not included until validate links the image")
        ram = edgeml.Figure(plan.arena_bytes + plan.input_bytes + plan.output_bytes,
                            f"static arena {plan.arena_bytes} B (memory_plan.json) + the input and output buffers "
                            f"{plan.input_bytes + plan.output_bytes} B; stack not included")
        return edgeml.Deliverable(files=files, flash_bytes=flash, ram_bytes=ram, entry_point=f"{prefix}_model_invoke",
                                  info=info, program=program)

    def _layer_check(self, ctx: edgeml.StageContext, compiled: CompiledModel, prefix: str,
                     library: edgeml.LibraryFiles, tflite_bytes: bytes, q: np.ndarray) -> dict[str, Any]:
        """Every op's output on ``q`` through the per-layer twin on every runner, against TFLM's."""
        want = tflm_reference.layer_outputs(tflite_bytes, q)
        runs = ctx.run_program(model_program(compiled, prefix, library, dump=True), q)
        bounds = []
        offset = 0
        for k, layer in enumerate(compiled.layers):
            for t in layer.outputs:
                n = compiled.graph.tensor(t).nbytes
                bounds.append((k, layer.op.name, t, offset, offset + n))
                offset += n
        result: dict[str, Any] = {"examples": int(len(q)), "runners": {}, "skipped": dict(runs.skipped)}
        for name, run in runs.runs.items():
            got = run.outputs.reshape(len(run.outputs), -1)
            first = None
            for k, op, t, a, b in bounds:
                diff = got[:, a:b] != want[:len(got), a:b]
                if diff.any():
                    first = {"layer": k, "op": op, "tensor": compiled.graph.tensor(t).name,
                             "differing_values": int(diff.sum()), "values": int(diff.size),
                             "max_lsb": int(np.abs(got[:, a:b].astype(int) - want[:len(got), a:b]).max())}
                    break
            result["runners"][name] = {"examples": int(len(got)), "first_divergence": first}
        return result


def _locate() -> edgeml.LibraryFiles:
    from edgeml.plugins import load_registry

    return load_registry().c_libraries[LIBRARY].locate()


def validation_checks(v: edgeml.ValidationInput) -> list[edgeml.Check]:
    """The device against TFLM on the whole test split, the per-layer check, and the arena against its bound."""
    info = v.deliverable.info or {}
    checks = []
    tflm = info.get("tflm_outputs") or {}
    dev = np.asarray(v.device.test_outputs).reshape(len(v.device.test_outputs), -1)
    same = tflm_reference.digest(dev) == tflm.get("sha256") and len(dev) == tflm.get("examples")
    checks.append(edgeml.Check(
        name="parity.tflm", passed=same,
        message=(f"device outputs equal TFLM's ({info.get('tflm')}) bit for bit on all {len(dev)} test examples"
                 if same else f"device outputs differ from TFLM's on the test split ({len(dev)} device rows, "
                 f"{tflm.get('examples')} TFLM rows): see layer_check in the deliverable for the first layer that "
                 "differs; report it with the build dir"),
        figures={"examples": int(len(dev)), "tflm": info.get("tflm")}))
    lc = info.get("layer_check") or {}
    bad = {k: r["first_divergence"] for k, r in (lc.get("runners") or {}).items() if r.get("first_divergence")}
    checks.append(edgeml.Check(
        name="parity.layers", passed=not bad,
        message=(f"every layer's output equals TFLM's on {lc.get('examples')} test examples on "
                 f"{', '.join(lc.get('runners') or {}) or 'no runner'}" if not bad else
                 "; ".join(f"{k}: first divergence at layer {d['layer']} {d['op']} (tensor '{d['tensor']}'), "
                           f"{d['differing_values']} of {d['values']} values, up to {d['max_lsb']} LSB"
                           for k, d in bad.items()) + ": report it with the build dir"),
        figures=lc))
    mem = info.get("memory") or {}
    if mem:
        ratio, limit = float(mem["arena_over_lower_bound"]), float(mem["max_arena_over_lower_bound"])
        checks.append(edgeml.Check(
            name="memory.arena_plan", passed=ratio <= limit, blocking=False,
            message=(f"arena {mem['arena_bytes']} B is {ratio:.3f}x the sequential lower bound "
                     f"{mem['sequential_lower_bound_bytes']} B (limit {limit}x); TFLM's arena: "
                     f"{mem['tflm_arena_bytes']} B") + ("" if ratio <= limit else
                                                         ": the planner wastes memory on this graph; report it"),
            figures=mem))
    return checks
