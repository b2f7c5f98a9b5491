"""What the lowering of one TFLite op produces: a :class:`Layer` of C with its constants.

``Layer.body`` is C statements run inside ``model_invoke``; it names buffers by placeholders that the
code generator replaces once the memory plan has placed every tensor:

* ``@in0@``, ``@in1@`` ...: the activation inputs, in ``Layer.inputs`` order (``const int8_t *``)
* ``@out0@`` ...: the outputs (``int8_t *``)
* ``@scratch@``: the layer's kernel scratch in the arena (``void *``; ``NULL`` when ``scratch_bytes`` is 0)
  and ``@scratch_size@`` its size in bytes
* ``@NAME@`` for each of ``Layer.constants``: the const array's C symbol

A body returns a non-zero ``int`` from ``model_invoke`` on a kernel error with ``return @fail@;`` (the
generator numbers the layers). ``helpers`` are static C functions or tables the body calls, emitted once
per distinct name.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from edgeml_cmsis_nn.graph import Graph, Op

CTYPES = {"int8_t": np.int8, "uint8_t": np.uint8, "int16_t": np.int16, "int32_t": np.int32}


@dataclass
class Constant:
    """A const array in ``model_data.c`` (flash)."""

    name: str               # unique within the layer; the generator prefixes the layer ("l3_weights")
    ctype: str              # a key of CTYPES
    values: np.ndarray
    role: str               # "weights" | "bias" | "multiplier" | "shift" | "kernel_sum" | "table" | "other"

    @property
    def nbytes(self) -> int:
        return int(np.asarray(self.values).size) * np.dtype(CTYPES[self.ctype]).itemsize


@dataclass
class Layer:
    op: Op
    kernel: str                          # the CMSIS-NN function called, or "generated C"
    body: str = ""
    inputs: list[int] = field(default_factory=list)     # activation tensor indices read
    outputs: list[int] = field(default_factory=list)    # tensor indices written
    scratch_bytes: int = 0
    constants: list[Constant] = field(default_factory=list)
    macs: int = 0
    alias_of: int | None = None          # RESHAPE-like: the output *is* this input tensor's memory; no code
    helpers: dict[str, str] = field(default_factory=dict)
    info: dict = field(default_factory=dict)             # e.g. {"variant": "1x1 fast"}: goes in the plan JSON
    #: C statements, run on the host at export, that assign the ``int32_t`` variables ``plain``, ``dsp`` and
    #: ``mve``: the kernel's scratch bytes on a core without the DSP extension, with it, and with MVE, from
    #: CMSIS-NN's own ``*_get_buffer_size*`` functions. Empty when the kernel needs no scratch.
    scratch_query: str = ""


@dataclass(frozen=True)
class Lowering:
    """What a lowering function receives: the graph and the op (read-only), and compile options.

    ``options["wrappers"]`` (bool): call CMSIS-NN's dispatching wrappers (``arm_convolve_wrapper_s8``...)
    the way a runtime that calls CMSIS-NN layer by layer does, instead of the one kernel chosen at
    export. Only for measuring what the choice at export saves; deliverables never set it.
    """

    graph: Graph
    op: Op
    options: dict = field(default_factory=dict)
