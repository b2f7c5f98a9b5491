"""The ``tflm`` backend: an INT8 ``.tflite`` to TensorFlow Lite for Microcontrollers sources.

``export`` writes the deliverable (model array, op resolver, measured arena,
init/invoke source, golden vectors); ``run`` puts the whole test split
through tflite-micro's host interpreter with the exported arena, for
bit-exact parity against the compressor's reference outputs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

import edgeml

from edgeml_tflm import host_interpreter
from edgeml_tflm.arena_search import find_arena
from edgeml_tflm.golden_vectors import (TEST_VECTORS_HEADER, choose_vectors, selftest_source,
                                        selftest_source_name, test_vectors_header)
from edgeml_tflm.inference_source import (MEMORY_PLAN_HEADER, ModelInterface, memory_plan_header, model_header,
                                          model_header_name, model_source, model_source_name)
from edgeml_tflm.model_array import HEADER as MODEL_DATA_HEADER
from edgeml_tflm.model_array import SOURCE as MODEL_DATA_SOURCE
from edgeml_tflm.model_array import model_data_header, model_data_source
from edgeml_tflm.op_resolver import op_resolver_header, resolver_methods
from edgeml_tflm.options import TflmOptions
from edgeml_tflm.parity_diagnosis import first_divergence
from edgeml_tflm.tflite_graph import TfliteGraph, read_graph

MODEL_FILE = "model.tflite"
OP_RESOLVER_HEADER = "op_resolver.h"
MEMORY_PLAN_JSON = "memory_plan.json"
FLASH_METHOD = "the .tflite model array; TFLM runtime code not included"
RAM_METHOD = ("TFLM arena bisected in the tflite-micro host interpreter (64-bit), +margin; "
              "the stack and the application's buffers are not included")


class TflmBackend(edgeml.Backend):
    """TensorFlow Lite for Microcontrollers: C++ sources around the model, verified in TFLM itself."""

    name = "tflm"
    version = "0.1.0"
    description = "TensorFlow Lite for Microcontrollers: model array, op resolver, measured arena, golden vectors"
    accepts = ("tflite-int8",)

    def check(self, ctx_config: Any, target: Any) -> None:
        TflmOptions.from_config(ctx_config.backend)

    # ------------------------------------------------------------------ export

    def export(self, ctx: edgeml.StageContext, model: edgeml.CompressedModel,
               features: edgeml.FeatureSet) -> edgeml.Deliverable:
        self._refuse_format(model)
        opts = TflmOptions.from_config(ctx.config.backend)
        prefix, out = opts.symbol_prefix, Path(ctx.out_dir)
        src = Path(ctx.input_dir("compress")) / model.path
        tflite_bytes = _read_model(src)
        graph = _checked_graph(tflite_bytes, src)
        if model.input_quant is None or model.output_quant is None:
            raise edgeml.DataError(f"{src.parent / 'model.json'} has no input/output quantization: "
                                   "re-run the compress stage")
        methods = resolver_methods(graph.ops)   # refuses an op TFLM cannot register, before any measuring

        q_test = _input_quant(model).quantize(features.x["test"])
        if q_test.shape[1:] != graph.input_shape[1:]:
            raise edgeml.DataError(f"test inputs have shape {q_test.shape[1:]} but model.tflite expects "
                                   f"{graph.input_shape[1:]}: re-run preprocess, train and compress together")
        probe = q_test[0] if len(q_test) else np.zeros(graph.input_shape[1:], np.int8)
        ctx.progress.message("tflm: bisecting the tensor arena in the tflite-micro host interpreter")
        arena = find_arena(tflite_bytes, probe, opts.search_max_bytes, opts.granularity_bytes,
                           opts.margin_fraction, opts.margin_bytes)

        interpreter = host_interpreter.load(tflite_bytes, arena.arena_bytes)
        vectors = choose_vectors(q_test, np.asarray(model.test_outputs),
                                 lambda q: host_interpreter.invoke_one(interpreter, q), opts.golden_vectors)

        iface = ModelInterface(input_size=int(np.prod(graph.input_shape[1:])),
                               output_size=int(np.prod(graph.output_shape[1:])),
                               input_quant=model.input_quant, output_quant=model.output_quant,
                               classes=list(features.classes))
        version = host_interpreter.tflm_version()
        method = (f"TFLM arena bisected in the tflite-micro {version} host interpreter (64-bit, reference "
                  f"kernels): smallest working {arena.measured_bytes} B at {arena.granularity_bytes}-byte "
                  f"granularity, +{arena.margin_bytes} B margin")
        files: dict[str, str | bytes] = {
            MODEL_FILE: tflite_bytes,
            MODEL_DATA_HEADER: model_data_header(prefix),
            MODEL_DATA_SOURCE: model_data_source(tflite_bytes, prefix, opts.alignment, opts.bytes_per_line),
            OP_RESOLVER_HEADER: op_resolver_header(graph.ops, prefix),
            MEMORY_PLAN_HEADER: memory_plan_header(prefix, arena.arena_bytes, arena.measured_bytes, method),
            model_header_name(prefix): model_header(prefix, iface),
            model_source_name(prefix): model_source(prefix, iface),
            TEST_VECTORS_HEADER: test_vectors_header(prefix, vectors, iface.input_size, iface.output_size,
                                                     model.reference, opts.bytes_per_line),
            selftest_source_name(prefix): selftest_source(prefix),
            MEMORY_PLAN_JSON: json.dumps({
                "schema": "edgeml.tflm.memory_plan/1", "arena_bytes": arena.arena_bytes,
                "arena_measured_bytes": arena.measured_bytes, "arena_margin_bytes": arena.margin_bytes,
                "granularity_bytes": arena.granularity_bytes, "bisection_probes": arena.probes,
                "margin": {"fraction": opts.margin_fraction, "bytes": opts.margin_bytes},
                "method": method, "host": "64-bit", "runtime": f"tflite-micro {version}",
                "model_bytes": len(tflite_bytes)}, indent=2, sort_keys=True) + "\n",
        }
        for name, content in files.items():
            path = out / name
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8")
        return edgeml.Deliverable(
            files=sorted(files),
            flash_bytes=edgeml.Figure(len(tflite_bytes), FLASH_METHOD),
            ram_bytes=edgeml.Figure(arena.arena_bytes, RAM_METHOD),
            entry_point=f"{prefix}_model_invoke",
            info={"ops": graph.op_counts, "resolver_methods": methods, "arena_bytes": arena.arena_bytes,
                  "arena_measured": arena.measured_bytes, "arena_margin": arena.margin_bytes,
                  "arena_probes": arena.probes,
                  "golden_vectors": vectors.indices, "golden_skipped_ties": vectors.skipped_ties,
                  "symbol_prefix": prefix, "runtime": f"tflite-micro {version}", "model_file": MODEL_FILE,
                  "firmware": "not built: TFLM's C++ sources are in no package registry, so the runners cannot "
                              "link this deliverable; the model's latency stays an estimate and its RAM the host "
                              "interpreter's arena (the app's device code, if any, is measured on the target)"})

    # --------------------------------------------------------------------- run

    def run(self, ctx: edgeml.StageContext, deliverable: edgeml.Deliverable, model: edgeml.CompressedModel,
            features: edgeml.FeatureSet) -> edgeml.DeviceRun:
        self._refuse_format(model)
        export_dir = Path(ctx.input_dir("export"))
        src = export_dir / deliverable.info.get("model_file", MODEL_FILE)
        tflite_bytes = _read_model(src)
        arena_bytes = int(deliverable.info.get("arena_bytes", deliverable.ram_bytes.value))
        q_test = _input_quant(model).quantize(features.x["test"])
        outputs = host_interpreter.run_all(tflite_bytes, arena_bytes, q_test, ctx.progress, "tflm host interpreter")
        reference = np.asarray(model.test_outputs)
        outputs = outputs.reshape((len(q_test), *reference.shape[1:])).astype(reference.dtype, copy=False)
        version = host_interpreter.tflm_version()
        diagnosis = None
        differs = np.flatnonzero((outputs != reference).reshape(len(outputs), -1).any(axis=1)) \
            if outputs.shape == reference.shape else np.arange(min(1, len(outputs)))
        if len(differs):
            reference_model = _read_model(Path(ctx.input_dir("compress")) / model.path)
            diagnosis = (f"test example {int(differs[0])}: "
                         + first_divergence(tflite_bytes, reference_model, q_test[int(differs[0])]))
        return edgeml.DeviceRun(
            test_outputs=outputs, method=f"TFLM interpreter (tflite-micro {version}, host build)",
            diagnosis=diagnosis, info={"arena_bytes": arena_bytes, "examples": int(len(q_test))})

    def _refuse_format(self, model: edgeml.CompressedModel) -> None:
        if model.format not in self.accepts:
            raise edgeml.IncompatibleError(
                f"backend '{self.name}' accepts {'/'.join(self.accepts)} models, not '{model.format}': "
                "choose a backend that accepts that format, or a compressor that outputs tflite-int8")


def _read_model(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise edgeml.DataError(f"{path} is missing: re-run the stage that writes it") from exc


def _checked_graph(tflite_bytes: bytes, path: Path) -> TfliteGraph:
    try:
        graph = read_graph(tflite_bytes)
    except Exception as exc:  # flatbuffers raises assorted errors on garbage
        raise edgeml.DataError(f"{path} is not a TFLite flatbuffer ({type(exc).__name__}): "
                               "re-run the compress stage") from exc
    if graph.subgraphs != 1:
        raise edgeml.IncompatibleError(f"{path} has {graph.subgraphs} subgraphs: the generated TFLM source "
                                       "runs single-subgraph models; remove control flow from the model")
    if graph.input_type != "INT8" or graph.output_type != "INT8":
        raise edgeml.IncompatibleError(f"{path} has {graph.input_type} input and {graph.output_type} output, "
                                       "not INT8: re-run compress with the tflite-int8 compressor")
    custom = [op for op in graph.ops if op.startswith("CUSTOM:")]
    if custom:
        raise edgeml.IncompatibleError(f"{path} uses custom op {custom[0][7:]}, which the generated resolver "
                                       "cannot register: replace that layer with TFLite builtins")
    return graph


def _input_quant(model: edgeml.CompressedModel) -> edgeml.QuantParams:
    if model.input_quant is None:
        raise edgeml.DataError("the compressed model has no input quantization parameters: "
                               "re-run the compress stage with a tflite-int8 compressor")
    return model.input_quant
