"""From an INT8 ``.tflite`` to the C of a deliverable: read the graph, lower every op to a layer, ask
CMSIS-NN how much scratch each kernel needs, plan the arena, write the text.

Nothing here knows which app made the model. An op with no lowering, or a variant a lowering cannot do
bit-exactly, is refused with the op, the layer and the advice to use ``backend=tflm``.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import edgeml
from edgeml_cmsis_nn import codegen
from edgeml_cmsis_nn.graph import Graph, read_graph
from edgeml_cmsis_nn.layers import LOWERINGS
from edgeml_cmsis_nn.layers.base import Layer, Lowering
from edgeml_cmsis_nn.memory_plan import MemoryPlan, plan

#: CMSIS-NN sources that define the ``*_get_buffer_size*`` functions the scratch query calls.
SIZE_SOURCES = ("Source/ConvolutionFunctions/arm_convolve_get_buffer_sizes_s8.c",
                "Source/ConvolutionFunctions/arm_depthwise_conv_get_buffer_sizes_s8.c",
                "Source/FullyConnectedFunctions/arm_fully_connected_get_buffer_sizes_s8.c",
                "Source/PoolingFunctions/arm_avgpool_get_buffer_sizes_s8.c")
#: Which scratch variant a core uses: CMSIS-NN keys it off the compiler's feature macros.
DSP_CORES = ("cortex-m4", "cortex-m7", "cortex-m33", "cortex-m35p")
MVE_CORES = ("cortex-m55", "cortex-m85")


@dataclass
class CompiledModel:
    graph: Graph
    layers: list[Layer]
    plan: MemoryPlan
    files: dict[str, str]
    scratch: dict[int, dict[str, int]] = field(default_factory=dict)   # layer -> {"plain", "dsp", "mve"}
    dump_bytes: int = 0

    @property
    def constants_bytes(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for layer in self.layers:
            for c in layer.constants:
                out[c.role] = out.get(c.role, 0) + c.nbytes
        return dict(sorted(out.items()))

    @property
    def macs(self) -> int:
        return sum(layer.macs for layer in self.layers)

    def kernels(self) -> list[str]:
        return sorted({layer.kernel for layer in self.layers if layer.alias_of is None})

    def layer_table(self) -> list[dict[str, Any]]:
        rows = []
        for k, layer in enumerate(self.layers):
            out = self.graph.tensor(layer.outputs[0])
            rows.append({"layer": k, "op": layer.op.name, "kernel": layer.kernel, "macs": layer.macs,
                         "output_shape": list(out.shape), "constants_bytes": sum(c.nbytes for c in layer.constants),
                         "scratch_bytes": self.plan_scratch(k)} | ({"info": layer.info} if layer.info else {}))
        return rows

    def plan_scratch(self, k: int) -> int:
        return next((b.size for b in self.plan.buffers if b.name == f"scratch{k}"), 0)


def lower(graph: Graph, source: str = "model.tflite", options: dict | None = None) -> list[Layer]:
    if graph.subgraphs != 1:
        raise edgeml.IncompatibleError(f"{source} has {graph.subgraphs} subgraphs: the CMSIS-NN backend compiles "
                                       "single-subgraph models; use backend=tflm")
    if len(graph.inputs) != 1 or len(graph.outputs) != 1:
        raise edgeml.IncompatibleError(f"{source} has {len(graph.inputs)} inputs and {len(graph.outputs)} outputs: "
                                       "model_invoke(in, out) takes one of each; use backend=tflm")
    for t in (graph.tensor(graph.inputs[0]), graph.tensor(graph.outputs[0])):
        if t.dtype != np.int8:
            raise edgeml.IncompatibleError(f"{source} has a {t.dtype} {'input' if t.index in graph.inputs else 'output'}"
                                           ", not int8: re-run compress with the tflite-int8 compressor")
    layers = []
    for op in graph.ops:
        fn = LOWERINGS.get(op.name)
        if fn is None:
            raise edgeml.IncompatibleError(
                f"op {op.name} (layer {op.index}) has no CMSIS-NN lowering (supported: {', '.join(sorted(LOWERINGS))})"
                ": use backend=tflm, or replace that layer")
        layers.append(fn(Lowering(graph=graph, op=op, options=dict(options or {}))))
    return layers


def query_scratch(layers: list[Layer], cmsis_nn: edgeml.LibraryFiles, compiler: str = "gcc") -> dict[int, dict[str, int]]:
    """Each layer's scratch bytes per core variant, from CMSIS-NN's own size functions compiled for this host."""
    queried = [(k, layer) for k, layer in enumerate(layers) if layer.scratch_query]
    if not queried:
        return {}
    blocks = []
    for k, layer in queried:
        body = "\n    ".join(layer.scratch_query.splitlines())
        blocks.append(f"  {{\n    int32_t plain, dsp, mve;\n    {body}\n"
                      f'    printf("%d %ld %ld %ld\\n", {k}, (long)plain, (long)dsp, (long)mve);\n  }}')
    text = "\n".join(['#include <stdio.h>', '#include "arm_nnfunctions.h"', "int main(void)", "{", *blocks,
                      "  return 0;", "}", ""])
    root = Path(cmsis_nn.root)
    with tempfile.TemporaryDirectory(prefix="edgeml-cmsis-nn-scratch-") as tmp:
        main = Path(tmp) / "scratch_query.c"
        main.write_text(text)
        exe = Path(tmp) / "scratch_query"
        cmd = [compiler, "-O0", "-std=c99", *[f"-I{d}" for d in cmsis_nn.include_dirs], str(main),
               *[str(root / s) for s in SIZE_SOURCES], "-o", str(exe)]
        res = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if res.returncode != 0:
            raise edgeml.IncompatibleError(f"could not compile CMSIS-NN's buffer-size functions ({cmsis_nn.version}): "
                                           f"{(res.stderr.strip().splitlines() or ['?'])[0]}: check the CMSIS-NN "
                                           "checkout (`edgeml deps cmsis-nn`)")
        out = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout
    sizes = {}
    for line in out.splitlines():
        k, plain, dsp, mve = (int(v) for v in line.split())
        sizes[k] = {"plain": plain, "dsp": dsp, "mve": mve}
    return sizes


def scratch_for(core: str, sizes: dict[str, int]) -> int:
    """The scratch one arena must hold for the target's core and for a host build (portable C) alike."""
    variant = "mve" if core in MVE_CORES else "dsp" if core in DSP_CORES else "plain"
    return max(sizes["plain"], sizes[variant])


def compile_model(tflite_bytes: bytes, cmsis_nn: edgeml.LibraryFiles, core: str, prefix: str = "edgeml",
                  source: str = "model.tflite", options: dict | None = None) -> CompiledModel:
    """``options`` go to every lowering (see :class:`edgeml_cmsis_nn.layers.base.Lowering`)."""
    graph = read_graph(tflite_bytes, source)
    layers = lower(graph, source, options)
    sizes = query_scratch(layers, cmsis_nn)
    memory = plan(graph, layers, {k: scratch_for(core, s) for k, s in sizes.items()})
    names = codegen.Names(prefix)
    dump_bytes = sum(graph.tensor(t).nbytes for layer in layers for t in layer.outputs)
    data_h, data_c = codegen.model_data(names, layers)
    files = {
        f"{prefix}_model_data.h": data_h,
        f"{prefix}_model_data.c": data_c,
        f"{prefix}_model.h": codegen.model_header(names, graph, memory, dump_bytes),
        f"{prefix}_model.c": codegen.model_source(names, graph, layers, memory),
    }
    compiled = CompiledModel(graph=graph, layers=layers, plan=memory, files=files, scratch=sizes, dump_bytes=dump_bytes)
    files["memory_plan.json"] = json.dumps(memory_plan_json(compiled, core), indent=2, sort_keys=True) + "\n"
    return compiled


def memory_plan_json(compiled: CompiledModel, core: str) -> dict[str, Any]:
    return {"schema": "edgeml.cmsis_nn.memory_plan/1", "core": core,
            "scratch_variant": "mve" if core in MVE_CORES else "dsp" if core in DSP_CORES else "plain",
            "scratch_per_layer": {str(k): v for k, v in sorted(compiled.scratch.items())},
            } | compiled.plan.to_json(compiled.graph)
