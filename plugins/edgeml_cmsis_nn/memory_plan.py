"""The static memory plan: every activation tensor and every kernel scratch buffer at a fixed offset in one
arena, sized exactly at compile time.

A buffer lives from the layer that writes it to the last layer that reads it (a scratch buffer only during
its layer); two buffers may share bytes when their lives do not overlap. Offsets come from greedy
placement (each buffer at the lowest offset free for its whole life) tried in a few orders (largest first,
longest-lived first, first-written first); the smallest arena wins. The sequential lower bound is the
largest total of buffers alive at one layer: no plan without in-place ops can be smaller, so
``arena_bytes / lower_bound_bytes`` says how much the placement wastes.

The graph's input and output are the caller's buffers (``model_invoke(in, out)``), not in the arena: a
RESHAPE of the input reads the caller's memory, and the last layer writes the caller's output directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from edgeml_cmsis_nn.graph import Graph
from edgeml_cmsis_nn.layers.base import Layer

ALIGNMENT = 4   # CMSIS-NN reads int16/int32 scratch and int8 activations with word loads


@dataclass
class Buffer:
    name: str
    size: int
    first: int                     # first layer index it is alive at
    last: int                      # last layer index it is alive at
    kind: str                      # "activation" | "scratch"
    tensors: list[int] = field(default_factory=list)
    offset: int = -1

    def overlaps_in_time(self, other: "Buffer") -> bool:
        return self.first <= other.last and other.first <= self.last

    def to_json(self, graph: Graph) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "offset": self.offset, "size": self.size,
                "first_use": self.first, "last_use": self.last,
                "tensors": [{"index": t, "name": graph.tensor(t).name} for t in self.tensors]}


@dataclass
class MemoryPlan:
    buffers: list[Buffer]
    arena_bytes: int
    lower_bound_bytes: int
    strategy: str
    tensor_home: dict[int, str]     # tensor index -> "in" | "out" | buffer name
    input_bytes: int
    output_bytes: int

    def offset_of(self, tensor: int) -> int | None:
        home = self.tensor_home[tensor]
        return next((b.offset for b in self.buffers if b.name == home), None)

    def to_json(self, graph: Graph) -> dict[str, Any]:
        return {"arena_bytes": self.arena_bytes, "sequential_lower_bound_bytes": self.lower_bound_bytes,
                "arena_over_lower_bound": round(self.arena_bytes / self.lower_bound_bytes, 4)
                if self.lower_bound_bytes else 1.0,
                "alignment": ALIGNMENT, "strategy": self.strategy,
                "external": {"input_bytes": self.input_bytes, "output_bytes": self.output_bytes,
                             "note": "the caller's buffers passed to model_invoke; not in the arena"},
                "buffers": [b.to_json(graph) for b in sorted(self.buffers, key=lambda b: (b.offset, b.name))]}


def _align(n: int) -> int:
    return (n + ALIGNMENT - 1) // ALIGNMENT * ALIGNMENT


def _groups(graph: Graph, layers: list[Layer]) -> dict[int, int]:
    """Each tensor's representative after RESHAPE-like aliasing (the tensor whose memory it is)."""
    root: dict[int, int] = {}

    def find(t: int) -> int:
        while root.get(t, t) != t:
            t = root[t]
        return t
    for layer in layers:
        if layer.alias_of is not None:
            for t in layer.outputs:
                root[t] = find(layer.alias_of)
    return {t: find(t) for t in range(len(graph.tensors))}


def place(buffers: list[Buffer], order: list[Buffer]) -> int:
    """Greedy placement in ``order``; returns the arena size. Sets each buffer's offset."""
    placed: list[Buffer] = []
    for buf in order:
        clashes = sorted((p for p in placed if p.overlaps_in_time(buf)), key=lambda p: p.offset)
        offset = 0
        for p in clashes:
            if offset + buf.size <= p.offset:
                break
            offset = max(offset, _align(p.offset + p.size))
        buf.offset = offset
        placed.append(buf)
    return max((b.offset + b.size for b in buffers), default=0)


def plan(graph: Graph, layers: list[Layer], scratch: dict[int, int]) -> MemoryPlan:
    """The plan for ``layers`` (in execution order); ``scratch`` maps a layer position to its scratch bytes."""
    group = _groups(graph, layers)
    ext_in = {group[t] for t in graph.inputs}
    ext_out = {group[t] for t in graph.outputs}
    first: dict[int, int] = {}
    last: dict[int, int] = {}
    members: dict[int, list[int]] = {}
    for k, layer in enumerate(layers):
        for t in layer.outputs:
            members.setdefault(group[t], []).append(t)
            if layer.alias_of is None:
                first.setdefault(group[t], k)
            last[group[t]] = max(last.get(group[t], k), k)
        for t in layer.inputs:
            last[group[t]] = max(last.get(group[t], k), k)
    buffers: list[Buffer] = []
    home: dict[int, str] = {}
    for g in sorted(set(first) | set(last)):
        name = "in" if g in ext_in else "out" if g in ext_out else f"t{g}"
        for t in [g] + members.get(g, []):
            home[t] = name
        if name in ("in", "out"):
            continue
        buffers.append(Buffer(name=name, size=graph.tensor(g).nbytes, first=first.get(g, 0), last=last.get(g, 0),
                              kind="activation", tensors=sorted(set([g] + members.get(g, [])))))
    for t in graph.inputs:
        home[t] = "in"
    for k, size in sorted(scratch.items()):
        if size > 0:
            buffers.append(Buffer(name=f"scratch{k}", size=int(size), first=k, last=k, kind="scratch"))
    lower = max((sum(b.size for b in buffers if b.first <= k <= b.last) for k in range(len(layers))), default=0)
    orders = {
        "greedy by size": sorted(buffers, key=lambda b: (-b.size, b.first, b.name)),
        "greedy by lifetime": sorted(buffers, key=lambda b: (-(b.last - b.first), -b.size, b.name)),
        "greedy by first use": sorted(buffers, key=lambda b: (b.first, -b.size, b.name)),
    }
    best: tuple[int, str, dict[str, int]] | None = None
    for strategy, order in orders.items():
        size = place(buffers, order)
        if best is None or size < best[0]:
            best = (size, strategy, {b.name: b.offset for b in buffers})
    assert best is not None or not buffers
    arena, strategy, offsets = best if best is not None else (0, "empty", {})
    for b in buffers:
        b.offset = offsets[b.name]
    check(buffers)
    in_bytes = sum(graph.tensor(t).nbytes for t in graph.inputs)
    out_bytes = sum(graph.tensor(t).nbytes for t in graph.outputs)
    return MemoryPlan(buffers=buffers, arena_bytes=_align(arena), lower_bound_bytes=lower, strategy=strategy,
                      tensor_home=home, input_bytes=in_bytes, output_bytes=out_bytes)


def check(buffers: list[Buffer]) -> None:
    """No two buffers alive at the same layer share a byte (the planner's invariant, checked every time)."""
    for i, a in enumerate(buffers):
        for b in buffers[i + 1:]:
            if a.overlaps_in_time(b) and a.offset < b.offset + b.size and b.offset < a.offset + a.size:
                raise AssertionError(f"memory plan overlap: {a.name} [{a.offset}, {a.offset + a.size}) and "
                                     f"{b.name} [{b.offset}, {b.offset + b.size}) are alive together")
