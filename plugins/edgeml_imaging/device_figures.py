"""What several device programs of one app cost together on the target, from their runs.

An app's device code is often two programs run once each per inference (the
frame conversion before the model, the post-processing after it). Per
inference their instructions and cycles add up; in the firmware both are
linked, so their flash adds up, and so does their static RAM, while only one
of them is on the stack at a time: RAM is the sum of the static parts plus
the deeper of the two stacks (each a high-water mark the emulator measured).
"""

from __future__ import annotations

import edgeml
from edgeml import Figure


def _image(runs: edgeml.ProgramRuns) -> edgeml.ProgramRun | None:
    """The last run (closest to the device) that measured a linked image."""
    return next((r for r in reversed(list(runs.runs.values())) if r.flash_bytes is not None), None)


def summed(programs: dict[str, edgeml.ProgramRuns]) -> dict[str, Figure | None]:
    """``flash_bytes``, ``ram_bytes``, ``cycles``, ``instructions`` of all ``programs`` (label -> runs)
    together; a figure is None when a program lacks it (the caller keeps its estimate)."""
    out: dict[str, Figure | None] = {}
    measured = {k: r.measured() for k, r in programs.items()}
    for attr in ("cycles", "instructions"):
        figs = {k: getattr(m, attr) if m is not None else None for k, m in measured.items()}
        if all(f is not None for f in figs.values()):
            total = round(sum(float(f.value) for f in figs.values()), 2)
            out[attr] = Figure(total, "per inference, one call of each program: " + _parts(figs))
        else:
            out[attr] = None
    images = {k: _image(r) for k, r in programs.items()}
    if not all(i is not None and i.ram_bytes is not None for i in images.values()):
        out["flash_bytes"] = out["ram_bytes"] = None
        return out
    out["flash_bytes"] = Figure(sum(int(i.flash_bytes.value) for i in images.values()),
                                "the programs' linked images together (each with the runner's small call harness): "
                                + "; ".join(f"{k} {int(i.flash_bytes.value)} B ({i.flash_bytes.method})"
                                            for k, i in images.items()))
    split = all({"static_ram_bytes", "stack_bytes"} <= set(i.info) for i in images.values())
    if split:
        static = sum(int(i.info["static_ram_bytes"]) for i in images.values())
        stack = max(int(i.info["stack_bytes"]) for i in images.values())
        out["ram_bytes"] = Figure(static + stack, f"static RAM of every program ({static} B) + the deepest stack "
                                  f"({stack} B; they run one after the other): "
                                  + "; ".join(f"{k} {int(i.ram_bytes.value)} B ({i.ram_bytes.method})"
                                              for k, i in images.items()))
    else:
        out["ram_bytes"] = Figure(sum(int(i.ram_bytes.value) for i in images.values()),
                                  "the programs' RAM together: " + "; ".join(
                                      f"{k} {int(i.ram_bytes.value)} B ({i.ram_bytes.method})"
                                      for k, i in images.items()))
    return out


def memory(programs: dict[str, edgeml.ProgramRuns], out, files: list[str], what: str,
           ram_note: str = "") -> tuple[Figure | None, Figure | None]:
    """Flash and RAM of the programs' linked images summed; without one (no runner linked an image for
    this target), the host ``-Os`` sizes of ``files`` (relative to ``out``), labelled as such."""
    figs = summed(programs)
    flash, ram = figs["flash_bytes"], figs["ram_bytes"]
    if flash is None:
        from edgeml.csize import HOST_METHOD, host_sizes

        sizes = host_sizes({f: (out / f).read_text() for f in files if f.endswith((".c", ".h"))})
        if sizes is not None:
            flash = Figure(sizes["flash"], f"{what}: {HOST_METHOD} (no runner linked an image for this target)")
            ram = Figure(sizes["ram"], f"{what}: {HOST_METHOD}; stack not counted{ram_note}")
    return flash, ram


def _parts(figs: dict[str, Figure]) -> str:
    """``a 12.00 + b 3.00 (each: METHOD)`` when the methods agree, else every part with its own."""
    methods = {f.method for f in figs.values()}
    if len(methods) == 1:
        return " + ".join(f"{k} {float(f.value):.2f}" for k, f in figs.items()) + f" (each: {methods.pop()})"
    return " + ".join(f"{k} {float(f.value):.2f} ({f.method})" for k, f in figs.items())
