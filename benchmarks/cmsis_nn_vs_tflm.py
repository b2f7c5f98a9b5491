"""CMSIS-NN backend vs TFLM on the same .tflite: per layer and per model, on one Cortex-M core, measured
against measured.

    python benchmarks/cmsis_nn_vs_tflm.py                        # builds/*-cmsis_nn + the MLPerf Tiny DS-CNN, cortex-m4
    python benchmarks/cmsis_nn_vs_tflm.py --build builds/kws-cortex-m4-cmsis_nn --core cortex-m0plus
    python benchmarks/cmsis_nn_vs_tflm.py --examples 8 --json /tmp/cmsis_nn_vs_tflm.json
    python benchmarks/cmsis_nn_vs_tflm.py --tiny --no-builds --examples 1 --tflm-kernels reference   # for tests

Columns per model:

* CMSIS-NN: edgeml's CMSIS-NN backend (plugins/edgeml_cmsis_nn) compiles the .tflite to C that calls the
  one s8 kernel chosen per layer at export. The emulator runner links it with arm-none-eabi-gcc for the
  core and runs it in unicorn on the first N examples: instructions counted, cycles from the runner's
  cycle model (zero-wait-state memory), per layer from the program's marks (mark k = layer k); flash and
  RAM from the linked ELF.
* CMSIS-NN via wrappers: the same model compiled with ``options={"wrappers": True}``: the C calls
  ``arm_convolve_wrapper_s8`` / ``arm_depthwise_conv_wrapper_s8`` (and ``arm_softmax_s8``), the way a
  runtime that calls CMSIS-NN layer by layer does. The difference to the first column is what choosing
  the kernel at export saves.
* TFLM + CMSIS-NN kernels and TFLM (reference kernels), measured (``--tflm-kernels``): TFLM's C++ (the
  ``tflm`` C library, ``edgeml deps tflm --from PATH``) built into firmware for the core with the tflm
  backend's generated model array, op resolver and init/invoke, by the same emulator runner
  (benchmarks/tflm_firmware.py): instructions and cycles of one invoke (init apart, listed once), flash
  by origin from the linker map (model array, TFLM framework, kernels, CMSIS-NN, glue, libc), RAM = the
  linked image's static RAM (the arena TFLM uses on this 32-bit target, from arena_used_bytes(), and the
  interpreter's objects) + the stack high-water mark. Per layer from a probe build whose interpreter has a
  profiler hook marking each op (first example only; TFLM has no marks of its own).
* TFLM estimate: what edgeml's report gives a TFLM model without a measurement
  (core/edgeml/report.py ``estimate_latency``: MACs x the target profile's cycles/MAC per layer kind,
  params/target/<core>.yaml ``latency_model``); its RAM is the smallest arena tflite-micro's host
  interpreter (64-bit) allocates and invokes the model in, found by bisection; its flash is the .tflite
  alone. Kept beside the measurements so the reader sees the estimate's error. Without the ``tflm``
  library (or with ``--tflm-kernels none``) it is the only TFLM column.

Models: every build dir given with --build (DIR/compress/model.tflite; inputs: the first N rows of
DIR/preprocess/x_test.npy quantized with the model input's scale and zero point), by default every
builds/*-cmsis_nn that exists, and always the MLPerf Tiny KWS DS-CNN with random weights (benchmarks/ds_cnn.py,
cached under ${EDGEML_CACHE_DIR:-~/.cache/edgeml}/bench/).

Bit-exactness: the emulated outputs of every build (both CMSIS-NN builds, both TFLM firmwares) are
compared with the tflite_micro Python interpreter's (the device's truth) on the same examples. A model
that does not fit the target's model share of RAM or flash is linked with more room for the measurement,
and the table says so. Prints figures; asserts nothing (``--json`` also writes them, without paths outside
the repository or wall-clock times).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

import ds_cnn
import edgeml

CORES = ("cortex-m4", "cortex-m7", "cortex-m0plus")
SCHEMA = "edgeml.bench.cmsis_nn_vs_tflm/2"
#: runners.emulator.profile_instructions: count every example asked for (the default stops near 30 M).
PROFILE_ALL = 1 << 40
#: RAM and flash (bytes, whole share) a model that does not fit the target's share is linked with.
ROOMY = 4 << 20
#: --tflm-kernels: which TFLM firmwares are built and measured.
TFLM_CHOICES = {"both": ("cmsis_nn", "reference"), "reference": ("reference",), "cmsis_nn": ("cmsis_nn",),
                "none": ()}
TFLM_LABELS = {"cmsis_nn": "TFLM + CMSIS-NN kernels", "reference": "TFLM (reference kernels)"}
TFLM_INSTALL = "edgeml deps tflm --from PATH"
QUOTED = ("CMSIS-NN 99f736a called layer by layer, GCC 12 -O2, cortex-m4: 7.70 M instructions (2.90/MAC); "
          "published STM32L4R5 board figures: 3.4 cycles/MAC (X-CUBE-AI) to 8.2 (TFLM reference kernels)")
QUOTED_LABEL = "quoted from the issue, not measured here"
LAYOUT_NOTE = ("the wrapper build spends fewer cycles with as many instructions or more: the same kernel code "
               "at other addresses. unicorn ends a translation block at every 1 KB page boundary and the cycle "
               "model prices each block on its own (LDR pipelining on the M4, dual-issue pairing on the M7 stop "
               "at a block's end), so a hot loop straddling a boundary prices higher: an artifact of code layout "
               "in the cycle model, not of the code")


@dataclass
class Case:
    """One model to compare: its .tflite, the int8 examples (no batch axis) and what to print beside it."""

    name: str
    source: str                 # where the .tflite came from, relative (no absolute paths in the JSON)
    tflite: bytes
    inputs: np.ndarray
    expected_macs: int | None = None
    reference: dict[str, str] | None = None
    notes: list[str] = field(default_factory=list)
    origin: str = ""            # printed only ("cache", "converted now"): the JSON stays the same on reruns


@dataclass
class Emulated:
    run: edgeml.ProgramRun
    note: str = ""              # non-empty when linked with more room than the target's share


def _shown(path: Path) -> str:
    p = Path(path).resolve()
    for base in (ROOT, Path.cwd()):
        try:
            return str(p.relative_to(base))
        except ValueError:
            continue
    return p.name


def input_quant(tflite: bytes) -> tuple[edgeml.QuantParams, tuple[int, ...]]:
    from edgeml_cmsis_nn.graph import read_graph

    g = read_graph(tflite)
    t = g.tensor(g.inputs[0])
    return edgeml.QuantParams(scale=float(t.scale[0]), zero_point=int(t.zero_point[0])), tuple(t.shape[1:])


def build_case(build_dir: Path, n: int) -> Case:
    model, x_test = build_dir / "compress" / "model.tflite", build_dir / "preprocess" / "x_test.npy"
    for p in (model, x_test):
        if not p.is_file():
            raise edgeml.DataError(f"{_shown(p)} not found: --build takes a build dir with compress/model.tflite "
                                   "and preprocess/x_test.npy (build it with backend=cmsis_nn first)")
    data = model.read_bytes()
    quant, shape = input_quant(data)
    x = np.load(x_test)[:n]
    return Case(name=build_dir.name, source=_shown(model), tflite=data,
                inputs=quant.quantize(x.reshape(len(x), *shape)),
                notes=[(f"inputs: the first {len(x)} rows of {_shown(x_test)} quantized with the model input's "
                        f"scale {quant.scale:.6g} and zero point {quant.zero_point}")])


def ds_cnn_case(spec: ds_cnn.DsCnnSpec, n: int, cache: Path | None) -> Case:
    data, origin = ds_cnn.tflite(spec, cache)
    quant, _ = input_quant(data)
    x = quant.quantize(ds_cnn.float_inputs(spec, n, seed=spec.seed + 1))
    pool = f"{spec.pool[0]}x{spec.pool[1]}"
    return Case(name=spec.name, source=f"bench/ds_cnn-{spec.key()}.tflite", tflite=data, inputs=x,
                expected_macs=spec.expected_macs(), origin=origin,
                reference={"text": QUOTED, "label": QUOTED_LABEL} if spec == ds_cnn.DsCnnSpec() else None,
                notes=[(f"random He-initialised weights (seed {spec.seed}), calibrated on "
                        f"{spec.calibration_examples} random inputs; AveragePooling2D {pool} as in the MLPerf Tiny "
                        "reference (final_pool_size = int(49/2), int(10/2)) on the 25x5 map, one 1x1 output"),
                       (f"inputs: {_examples(n)} drawn at random (per-example level and spread, seed {spec.seed + 1}), "
                        f"quantized with scale {quant.scale:.6g} and zero point {quant.zero_point}")])


def op_macs(graph) -> list[tuple[int, str | None]]:
    """Each op's MACs and cost kind by the rule edgeml's report uses for a TFLM model
    (edgeml_tflite.graph_inspection: CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, TRANSPOSE_CONV only)."""
    from edgeml_tflite.graph_inspection import _layer_kind, _op_macs

    out = []
    for op in graph.ops:
        ins = [list(graph.tensor(i).shape) for i in op.inputs if i >= 0]
        outs = [list(graph.tensor(i).shape) for i in op.outputs]
        macs = _op_macs(op.name, ins, outs)
        out.append((int(macs), _layer_kind(op.name, ins[1]) if macs else None))
    return out


def emulate(compiled, inputs: np.ndarray, core: str) -> Emulated:
    """``run_compiled`` on the emulator for ``core``, every example profiled; a model that overflows the
    target's share (edgeml.BudgetError) runs again linked for ROOMY bytes of RAM and flash."""
    from edgeml_cmsis_nn.host_check import run_compiled

    options = {"emulator": {"profile_examples": len(inputs), "profile_instructions": PROFILE_ALL}}
    try:
        runs = run_compiled(compiled, inputs, runners=("emulator",), target_name=core, options=options)
        note = ""
    except edgeml.BudgetError as exc:
        runs = _run_roomy(compiled, inputs, core, options)
        note = (f"does not fit {core}'s model share ({str(exc).split(':')[0]}); measured linked for {ROOMY:,} B "
                "of RAM and flash")
    if "emulator" not in runs.runs:
        raise edgeml.IncompatibleError(f"the emulator cannot run {core}: {runs.skipped.get('emulator', '?')}")
    return Emulated(runs.runs["emulator"], note)


def _run_roomy(compiled, inputs, core, options) -> edgeml.ProgramRuns:
    """``run_compiled`` with the target profile's RAM and flash raised (it takes a profile name only)."""
    from edgeml.plugins import load_registry
    from edgeml.runners import run_program
    from edgeml_cmsis_nn.host_check import cmsis_nn_files, target
    from edgeml_cmsis_nn.program import model_program
    from omegaconf import OmegaConf

    profile = dataclasses.replace(target(core), ram_bytes=ROOMY, flash_bytes=ROOMY, model_ram_share=1.0,
                                  model_flash_share=1.0)
    program = model_program(compiled, "edgeml", cmsis_nn_files())
    config = OmegaConf.create({"runners": {"use": ["emulator"]} | options})
    with tempfile.TemporaryDirectory(prefix="edgeml-bench-cmsis-nn-") as tmp:
        root = Path(tmp) / "src"
        root.mkdir()
        for name, text in compiled.files.items():
            (root / name).write_text(text)
        return run_program(program, np.asarray(inputs, np.int8), root=root, work_dir=Path(tmp) / "work",
                           config=config, registry=load_registry(), target=profile)


def parity(outputs: np.ndarray, want: np.ndarray, against: str = "TFLM") -> dict[str, Any]:
    """Outputs vs the tflite_micro interpreter's (``against`` names it in the text)."""
    n = len(want)
    got = np.asarray(outputs).reshape(len(outputs), -1)
    if len(got) != n:
        return {"bit_exact": False, "examples": len(got),
                "text": f"MISMATCH: ran {len(got)} of {n} examples"}
    bad = np.where((got != want).any(axis=1))[0]
    if not len(bad):
        return {"bit_exact": True, "examples": n, "text": f"bit-exact with {against} on {_examples(n)}"}
    i = int(bad[0])
    j = int(np.where(got[i] != want[i])[0][0])
    return {"bit_exact": False, "examples": n, "differing_examples": len(bad),
            "text": f"MISMATCH with {against}: {len(bad)} of {n} examples differ (first: example {i}, output {j}: "
                    f"{int(got[i, j])} vs {int(want[i, j])})"}


def _r(v: float | None, digits: int = 4) -> float | None:
    return None if v is None else round(float(v), digits)


def timing(cycles: float | None, macs: int, profile) -> dict[str, Any]:
    """ms at the target's clock, cycles/MAC and energy per inference (report.py: active mW x ms = uJ)."""
    if cycles is None:
        return {"cycles": None, "ms": None, "cycles_per_mac": None, "energy_uj": None}
    ms = cycles / profile.clock_hz * 1000.0
    return {"cycles": _r(cycles, 2), "ms": _r(ms), "cycles_per_mac": _r(cycles / macs) if macs else None,
            "energy_uj": _r(profile.active_mw * ms, 3) if profile.active_mw else None}


def cmsis_side(compiled, em: Emulated, want: np.ndarray, macs: int, profile) -> dict[str, Any]:
    run = em.run
    info = run.info
    constants = sum(compiled.constants_bytes.values())
    flash = int(run.flash_bytes.value)
    io = compiled.plan.input_bytes + compiled.plan.output_bytes
    static, stack, arena = int(info["static_ram_bytes"]), int(info["stack_bytes"]), compiled.plan.arena_bytes
    fits_ram = run.ram_bytes.value <= profile.ram_budget_bytes
    fits_flash = flash <= profile.flash_budget_bytes
    return {
        "instructions": _r(run.instructions.value, 2),
        **timing(None if run.cycles is None else run.cycles.value, macs, profile),
        "flash": {"bytes": flash, "constants": constants, "code_and_rest": flash - constants,
                  "constants_by_role": compiled.constants_bytes, "sections": info["flash_sections"],
                  "method": run.flash_bytes.method},
        "ram": {"bytes": int(run.ram_bytes.value) + io, "arena": arena, "other_static": static - arena,
                "stack": stack, "io_buffers": io,
                "method": f"{run.ram_bytes.method} + the model's input and output, {io} B"},
        "fits_share": {"ram": bool(fits_ram), "flash": bool(fits_flash)},
        "kernels": compiled.kernels(),
        "methods": {"instructions": run.instructions.method,
                    "cycles": None if run.cycles is None else run.cycles.method, "run": run.method},
        "note": em.note,
        "parity": parity(run.outputs, want),
    }


def tflm_unavailable() -> str | None:
    """Why TFLM's firmware cannot be built here (one line naming the install command), or None."""
    try:
        from edgeml_tflm.library import Tflm, missing_reason

        reason = missing_reason()
        if reason is None:
            Tflm().locate()
    except Exception as exc:   # noqa: BLE001 - any failure to find the library means: estimate only
        reason = f"{type(exc).__name__}: {exc}"
    if reason is None:
        return None
    reason = " ".join(str(reason).split())
    return reason if TFLM_INSTALL in reason else f"{reason}; install it with `{TFLM_INSTALL}`"


def tflm_side(res: dict[str, Any], want: np.ndarray, macs: int, profile) -> dict[str, Any]:
    """One measured TFLM firmware (tflm_firmware.measure_tflm) in the figures' common shape."""
    flash, ram, static = int(res["flash"]), int(res["ram"]), int(res["static_ram"])
    ops = res["per_op"]
    return {
        "kernels": res["kernels"],
        "instructions": _r(res["instructions"], 2),
        **timing(res["cycles"], macs, profile),
        "init_instructions": res["init_instructions"],
        "flash": {"bytes": flash, "by_origin": res["flash_by_origin"], "sections": res["flash_sections"],
                  "method": f"{res['methods']['flash']}; by origin from the linker map"},
        "ram": {"bytes": ram, "arena": int(res["arena"]), "arena_allocated": int(res["arena_allocated"]),
                "stack": int(res["stack"]), "other_static": static - int(res["arena"]),
                "method": f"{res['methods']['ram']}; arena = TFLM's arena_used_bytes() on the target (holds the "
                          "input and output tensors), other = the interpreter's objects, the arena's alignment "
                          "slack, libc"},
        "fits_share": {"ram": ram <= profile.ram_budget_bytes, "flash": flash <= profile.flash_budget_bytes},
        "note": res["note"], "build_note": res["build_note"],
        "parity": parity(res["outputs"], want, "tflite_micro"),
        "per_op": ops["ops"], "between_ops": ops["between_ops"], "probe_setup": ops["setup"],
        "per_op_minus_invoke": res["per_op_minus_invoke"],
        "methods": {"instructions": res["methods"]["instructions"], "cycles": res["methods"]["cycles"],
                    "build": res["methods"]["build"], "per_op": res["methods"]["per_op"]},
    }


def measure_tflm_sides(case: Case, core: str, kernels: tuple[str, ...], want: np.ndarray, macs: int,
                       profile) -> tuple[dict[str, Any], dict[str, str]]:
    """The measured TFLM firmwares asked for; a firmware that cannot be built or run for this model is
    left out with its one-line reason (the estimate stays)."""
    import tflm_firmware

    sides, skipped = {}, {}
    for k in kernels:
        try:
            res = tflm_firmware.measure_tflm(case.tflite, case.inputs, core, k)
        except edgeml.EdgeMLError as exc:
            skipped[k] = f"{type(exc).__name__}: {exc}"
            continue
        sides[k] = tflm_side(res, want, macs, profile)
    return sides, skipped


def measure(case: Case, core: str, tflm_kernels: tuple[str, ...] = ()) -> dict[str, Any]:
    from edgeml.report import estimate_latency
    from edgeml_cmsis_nn.compiler import compile_model
    from edgeml_cmsis_nn.host_check import cmsis_nn_files, run_tflm, target
    from edgeml_cmsis_nn.tflm_reference import smallest_arena
    from edgeml_tflite.graph_inspection import MACS_METHOD, inspect_int8_graph

    profile = target(core)
    lib = cmsis_nn_files()
    compiled = compile_model(case.tflite, lib, core)
    wrapped = compile_model(case.tflite, lib, core, options={"wrappers": True})
    summary = inspect_int8_graph(case.tflite)
    per_op = op_macs(compiled.graph)
    macs = int(summary.macs)
    want = run_tflm(case.tflite, case.inputs)
    ours = emulate(compiled, case.inputs, core)
    theirs = emulate(wrapped, case.inputs, core)
    arena = smallest_arena(case.tflite, case.inputs[0])
    estimate = estimate_latency(macs, profile, None, dict(summary.macs_by_kind))

    sections = {s["mark"]: s for s in ours.run.info["marks"]["sections"]}
    wsections = {s["mark"]: s for s in theirs.run.info["marks"]["sections"]}
    rows = []
    for k in sorted(set(sections) | set(wsections) | set(range(len(compiled.layers)))):
        s, w = sections.get(k, {}), wsections.get(k, {})
        if k < 0:
            op, kernel, wkernel, m, kind, compiled_macs = "(harness call)", "-", "-", 0, None, 0
        else:
            layer = compiled.layers[k]
            op, kernel, wkernel = layer.op.name, layer.kernel, wrapped.layers[k].kernel
            (m, kind), compiled_macs = per_op[k], layer.macs
        est = estimate_latency(m, profile, None, {kind: m})["cycles"] if m else None
        cyc = s.get("cycles")
        rows.append({
            "layer": k, "op": op, "kernel": kernel, "macs": m, "kind": kind, "compiled_macs": compiled_macs,
            "cmsis_nn": {"instructions": s.get("instructions", 0.0), "cycles": cyc,
                         "cycles_per_mac": _r(cyc / m) if m and cyc is not None else None,
                         "calls": s.get("calls", 0.0)},
            "wrappers": {"kernel": wkernel, "instructions": w.get("instructions", 0.0), "cycles": w.get("cycles")},
            "tflm_estimate": {"cycles": _r(est, 2), "cycles_per_mac": _r(est / m) if est else None},
        })

    cmsis = cmsis_side(compiled, ours, want, macs, profile)
    wraps = cmsis_side(wrapped, theirs, want, macs, profile)
    measured, skipped = measure_tflm_sides(case, core, tflm_kernels, want, macs, profile)
    per_layer_tflm = {}
    for k, side in measured.items():
        if [o["op"] for o in side["per_op"]] == [layer.op.name for layer in compiled.layers]:
            per_layer_tflm[k] = side["per_op"]
        else:
            skipped[f"{k} per layer"] = "TFLM's ops differ from the compiled layers: no per-layer TFLM figures"
    for r in rows:
        if r["layer"] >= 0 and per_layer_tflm:
            r["tflm"] = {}
            for k, ops in per_layer_tflm.items():
                o, m = ops[r["layer"]], r["macs"]
                r["tflm"][k] = {"instructions": o["instructions"], "cycles": o["cycles"],
                                "cycles_per_mac": _r(o["cycles"] / m) if m and o["cycles"] is not None else None}
    tflm = {
        **timing(estimate["cycles"], macs, profile),
        "instructions": None,
        "cycles_method": estimate["method"],
        "ram": {"bytes": arena.bytes, "granularity": arena.granularity,
                "method": f"smallest arena (bisection, {arena.granularity} B steps) tflite-micro's host interpreter "
                          "(64-bit) allocates and invokes the model in; holds the input and output tensors; "
                          "its stack and interpreter objects are not counted"},
        "flash": {"bytes": len(case.tflite),
                  "method": "the .tflite flatbuffer array; + interpreter code, not measured"},
        "fits_share": {"ram": arena.bytes <= profile.ram_budget_bytes},
    }
    diff = {"instructions": _r(wraps["instructions"] - cmsis["instructions"], 2),
            "cycles": None if cmsis["cycles"] is None else _r(wraps["cycles"] - cmsis["cycles"], 2),
            "flash_bytes": wraps["flash"]["bytes"] - cmsis["flash"]["bytes"],
            "ram_bytes": wraps["ram"]["bytes"] - cmsis["ram"]["bytes"]}
    layout = [r["layer"] for r in rows if r["layer"] >= 0 and r["cmsis_nn"]["cycles"] is not None
              and r["wrappers"]["cycles"] is not None
              and r["wrappers"]["cycles"] < r["cmsis_nn"]["cycles"] - max(100.0, 0.001 * r["cmsis_nn"]["cycles"])
              and r["wrappers"]["instructions"] >= r["cmsis_nn"]["instructions"]]
    notes = list(case.notes)
    if case.expected_macs is not None and case.expected_macs != macs:
        notes.append(f"MACs {macs:,} differ from the {case.expected_macs:,} the shape gives: the converter changed "
                     "the graph (see the per-layer rows)")
    if sum(r["macs"] for r in rows) != macs:
        notes.append(f"per-op MACs sum to {sum(r['macs'] for r in rows):,}, the report's rule to {macs:,}")
    return {
        "name": case.name, "source": case.source, "examples": len(case.inputs),
        "macs": macs, "macs_by_kind": dict(summary.macs_by_kind), "macs_method": MACS_METHOD,
        "compiled_macs": int(compiled.macs), "expected_macs": case.expected_macs,
        "layers": rows, "cmsis_nn": cmsis, "wrappers": wraps, "tflm_estimate": tflm,
        "tflm_measured": measured, "tflm_not_measured": skipped, "summary": summarize(cmsis, measured),
        "wrappers_minus_cmsis_nn": diff, "layout_artifact_layers": layout,
        "reference": case.reference, "notes": notes,
    }


def summarize(cmsis: dict[str, Any], measured: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """CMSIS-NN backend vs each measured TFLM firmware: both figures and TFLM / CMSIS-NN."""
    out = {}
    for k, t in measured.items():
        row = {}
        for key, a, b in (("instructions", cmsis["instructions"], t["instructions"]),
                          ("cycles", cmsis["cycles"], t["cycles"]),
                          ("flash_bytes", cmsis["flash"]["bytes"], t["flash"]["bytes"]),
                          ("ram_bytes", cmsis["ram"]["bytes"], t["ram"]["bytes"])):
            row[key] = {"cmsis_nn": a, "tflm": b, "tflm_over_cmsis_nn": _r(b / a, 3) if a and b is not None else None}
        out[k] = row
    return out


# -- printing ----------------------------------------------------------------------------------------------


def _n(v, digits: int = 0, sign: bool = False) -> str:
    if v is None:
        return "-"
    return f"{v:+,.{digits}f}" if sign else f"{v:,.{digits}f}"


def _table(rows: list[list[str]], right: set[int], indent: str = "  ") -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(indent + "  ".join(c.rjust(w) if i in right else c.ljust(w)
                                        for i, (c, w) in enumerate(zip(r, widths))).rstrip() for r in rows)


def _fits(flags: dict[str, bool]) -> str:
    return "yes" if all(flags.values()) else "no (" + ", ".join(k for k, v in flags.items() if not v) + ")"


def _kernel(name: str) -> str:
    return "generated C" if name.startswith("generated C") else name


def _examples(n: int) -> str:
    return f"{n} example" + ("" if n == 1 else "s")


def _x(a, b) -> str:
    """``b`` over ``a`` as a ratio (TFLM over ours)."""
    return "-" if a in (None, 0) or b is None else f"x{b / a:.2f}"


def print_model(res: dict[str, Any], profile, origin: str = "") -> None:
    c, w, t, d = res["cmsis_nn"], res["wrappers"], res["tflm_estimate"], res["wrappers_minus_cmsis_nn"]
    measured = res["tflm_measured"]
    tm = [(k, measured[k]) for k in ("cmsis_nn", "reference") if k in measured]
    mhz = profile.clock_hz / 1e6
    print(f"\n== {res['name']} on {profile.name} ({mhz:g} MHz) ==")
    print(f"  model: {res['source']}" + (f" ({origin})" if origin else "") + f", {_examples(res['examples'])} emulated")
    kinds = ", ".join(f"{k} {v:,}" for k, v in sorted(res["macs_by_kind"].items()))
    line = f"  MACs: {res['macs']:,} ({kinds}), counted as edgeml's report counts them"
    if res["compiled_macs"] != res["macs"]:
        line += (f"; the CMSIS-NN compiler also counts pooling/elementwise adds "
                 f"({res['compiled_macs'] - res['macs']:,}: {res['compiled_macs']:,})")
    print(line)
    if res["expected_macs"] is not None:
        same = "as" if res["expected_macs"] == res["macs"] else "NOT as"
        print(f"  {same} the shape gives: {res['expected_macs']:,} (~{res['expected_macs'] / 1e6:.2f} M)")

    # Per layer: CMSIS-NN and its wrappers; the TFLM estimate here unless TFLM was measured per layer (then
    # in the second table, beside the measurements).
    tflm_rows = any("tflm" in r for r in res["layers"])
    head = ["#", "op", "CMSIS-NN kernel", "MACs", "instr", "cycles", "cyc/MAC", "wrappers instr", "d instr",
            "d cycles"] + ([] if tflm_rows else ["TFLM cycles", "TFLM cyc/MAC"])
    sub = ["", "", "", "", "emulated", "cycle model", "", "emulated", "wrap - ours", "wrap - ours"] + \
        ([] if tflm_rows else ["estimate", "estimate"])
    body = []
    for r in res["layers"]:
        cn, wr, te = r["cmsis_nn"], r["wrappers"], r["tflm_estimate"]
        dc = None if cn["cycles"] is None or wr["cycles"] is None else wr["cycles"] - cn["cycles"]
        body.append([str(r["layer"]) if r["layer"] >= 0 else "-", r["op"], _kernel(r["kernel"]), _n(r["macs"] or None),
                     _n(cn["instructions"]), _n(cn["cycles"]), _n(cn["cycles_per_mac"], 2), _n(wr["instructions"]),
                     _n(wr["instructions"] - cn["instructions"], sign=True), _n(dc, sign=True)]
                    + ([] if tflm_rows else [_n(te["cycles"]), _n(te["cycles_per_mac"], 2)]))
    total = ["", "total", "", _n(res["macs"]), _n(sum(r["cmsis_nn"]["instructions"] for r in res["layers"])),
             _n(c["cycles"]), _n(c["cycles_per_mac"], 2), _n(sum(r["wrappers"]["instructions"] for r in res["layers"])),
             _n(d["instructions"], sign=True), _n(d["cycles"], sign=True)] + \
        ([] if tflm_rows else [_n(t["cycles"]), _n(t["cycles_per_mac"], 2)])
    print("\n  Per layer (per inference, mean over the examples; wrappers = CMSIS-NN's dispatching wrappers):")
    print(_table([head, sub, *body, total], right=set(range(3, len(head)))))
    if tflm_rows:
        print_tflm_layers(res)

    fc, fw = c["flash"], w["flash"]
    rc, rw = c["ram"], w["ram"]
    share = f"{profile.ram_budget_bytes:,} B RAM, {profile.flash_budget_bytes:,} B flash"
    cols = [c, w] + [m for _, m in tm]

    def each(fmt) -> list[str]:
        return [fmt(x) for x in cols]

    def origin(m, *keys) -> str:
        return " | ".join(f"{m['flash']['by_origin'].get(k, 0):,}" for k in keys)

    per_mac = (lambda x: _n(x["instructions"] / res["macs"] if res["macs"] and x["instructions"] else None, 2))
    rows = [
        ["", "CMSIS-NN (kernel chosen at export)", "CMSIS-NN via wrappers", *(TFLM_LABELS[k] for k, _ in tm),
         "TFLM estimate"],
        ["instructions", f"{_n(c['instructions'])}  emulated",
         f"{_n(w['instructions'])} ({_n(d['instructions'], sign=True)})",
         *(f"{_n(m['instructions'])}  emulated" for _, m in tm), "not estimated"],
        ["  init, once", "none (static plan)", "none (static plan)",
         *(f"{_n(m['init_instructions'])}  AllocateTensors..." for _, m in tm), "-"],
        ["cycles", f"{_n(c['cycles'])}  cycle model", f"{_n(w['cycles'])} ({_n(d['cycles'], sign=True)})",
         *(f"{_n(m['cycles'])}  cycle model" for _, m in tm), f"{_n(t['cycles'])}  estimate"],
        [f"ms at {mhz:g} MHz", *each(lambda x: _n(x["ms"], 2)), f"{_n(t['ms'], 2)}  estimate"],
        ["cycles/MAC", *each(lambda x: _n(x["cycles_per_mac"], 2)), f"{_n(t['cycles_per_mac'], 2)}  estimate"],
        ["instructions/MAC", *each(per_mac), "-"],
        [f"energy uJ at {profile.active_mw:g} mW", *each(lambda x: _n(x["energy_uj"], 1)),
         f"{_n(t['energy_uj'], 1)}  estimate"],
        ["flash B", f"{fc['bytes']:,}  linked ELF", f"{fw['bytes']:,} ({d['flash_bytes']:+,})",
         *(f"{m['flash']['bytes']:,}  linked ELF" for _, m in tm), f"{t['flash']['bytes']:,}  .tflite only"],
        ["  constants | code + rest", f"{fc['constants']:,} | {fc['code_and_rest']:,}",
         f"{fw['constants']:,} | {fw['code_and_rest']:,}",
         *(f"{origin(m, 'model array')} | {m['flash']['bytes'] - m['flash']['by_origin'].get('model array', 0):,}"
           for _, m in tm), ""],
    ]
    if tm:
        rows += [
            ["  model array | TFLM framework", "", "", *(origin(m, "model array", "TFLM framework") for _, m in tm), ""],
            ["  kernels: TFLM's | CMSIS-NN", "", "", *(origin(m, "TFLM kernels", "CMSIS-NN") for _, m in tm), ""],
            ["  glue | libc/libm/libgcc | align", "", "",
             *(origin(m, "generated glue + harness", "libc/libm/libgcc", "alignment") for _, m in tm), ""],
        ]
    rows += [
        ["peak RAM B", f"{rc['bytes']:,}  ELF + stack + I/O", f"{rw['bytes']:,} ({d['ram_bytes']:+,})",
         *(f"{m['ram']['bytes']:,}  ELF + stack" for _, m in tm),
         f"{t['ram']['bytes']:,}  arena, host interpreter, 64-bit"],
        ["  arena | I/O | stack | other", *(f"{r['arena']:,} | {r['io_buffers']:,} | {r['stack']:,} | "
                                            f"{r['other_static']:,}" for r in (rc, rw)),
         *(f"{m['ram']['arena']:,} | in arena | {m['ram']['stack']:,} | {m['ram']['other_static']:,}"
           for _, m in tm), "arena incl. input + output tensors"],
        [f"fits {profile.name} share", _fits(c["fits_share"]), _fits(w["fits_share"]),
         *(_fits(m["fits_share"]) + (" (measured linked with more room)" if m["note"] else "") for _, m in tm),
         _fits(t["fits_share"]) + " (arena only)"],
        ["outputs", c["parity"]["text"], w["parity"]["text"], *(m["parity"]["text"] for _, m in tm), "-"],
    ]
    print(f"\n  Per inference ({profile.name} model share: {share}; outputs compared with the tflite_micro "
          "interpreter's):")
    print(_table(rows, right=set()))
    both = c["parity"]["bit_exact"] and w["parity"]["bit_exact"]
    print(f"\n  {c['parity']['text']} (both builds)" if both else
          f"\n  CMSIS-NN: {c['parity']['text']}; via wrappers: {w['parity']['text']}")
    pct = 100.0 * d["instructions"] / c["instructions"] if c["instructions"] else 0.0
    cyc = "" if d["cycles"] is None else (f", {d['cycles']:+,.0f} cycles "
                                         f"({100.0 * d['cycles'] / c['cycles']:+.2f} %)")
    print(f"  choosing the kernel at export vs the wrappers: wrappers take {d['instructions']:+,.0f} instructions "
          f"({pct:+.2f} %){cyc}, {d['flash_bytes']:+,} B flash, {d['ram_bytes']:+,} B RAM")
    # Only where the wrapper replaced the kernel: a layer calling the same function in both builds moves by an
    # instruction or two as the section boundaries fall (the block holding a mark store counts toward the
    # previous layer).
    slower = [r["layer"] for r in res["layers"] if r["layer"] >= 0 and r["wrappers"]["kernel"] != r["kernel"]
              and r["wrappers"]["instructions"] < r["cmsis_nn"]["instructions"]]
    if slower:
        print(f"  WARNING: the wrappers run fewer instructions than the export-time kernel on layer(s) {slower}")
    if res["layout_artifact_layers"]:
        print(f"  note, layer(s) {res['layout_artifact_layers']}: {LAYOUT_NOTE}")
    for label, side in (("CMSIS-NN", c), ("wrappers", w), *((TFLM_LABELS[k], m) for k, m in tm)):
        if side["note"]:
            print(f"  note, {label}: {side['note']}")
    for note in sorted({m["build_note"] for _, m in tm if m["build_note"]}):
        print(f"  note, TFLM: {note}")
    for k, why in res["tflm_not_measured"].items():
        print(f"  note, TFLM {k}: not measured: {why}")
    if tm:
        build = tm[0][1]["methods"]["build"].split(", linked for")[0]
        print(f"  TFLM measured: TFLM's C++ (tflm library) built with the tflm backend's generated model array, op "
              f"resolver and init/invoke; {build}; per layer: the probe build, see the per-layer table")
    print(f"  TFLM estimate cycles: {t['cycles_method']}")
    if profile.latency_model is not None and "CMSIS-NN" in profile.latency_model.source:
        print(f"    (the {profile.name} profile's cycles/MAC come from CMSIS-NN kernels, so the estimate prices TFLM "
              "with CMSIS-NN kernels; TFLM's reference kernels are slower"
              + (": see the measured column)" if "reference" in measured else ": see the quoted board figures)"))
    print(f"  TFLM estimate RAM: {t['ram']['method']}")
    print(f"  CMSIS-NN cycles: {c['methods']['cycles']}")
    for note in res["notes"]:
        print(f"  note: {note}")
    if res["reference"]:
        print(f"  for scale ({res['reference']['label']}): {res['reference']['text']}")
    print(summary_line(res, profile))


def print_tflm_layers(res: dict[str, Any]) -> None:
    """Per layer, CMSIS-NN vs the measured TFLM firmwares (probe build, first example) and the estimate."""
    kinds = [k for k in ("cmsis_nn", "reference") if k in res["tflm_measured"]]
    short = {"cmsis_nn": "TFLM+CMSIS-NN", "reference": "TFLM ref"}
    head = ["#", "op", "MACs", "CMSIS-NN cycles"]
    sub = ["", "", "", "cycle model"]
    for k in kinds:
        head += [f"{short[k]} instr", f"{short[k]} cycles", "cyc/MAC", "x ours"]
        sub += ["emulated", "cycle model", "", "cycles"]
    head += ["TFLM cycles", "TFLM cyc/MAC"]
    sub += ["estimate", "estimate"]
    body = []
    for r in res["layers"]:
        if r["layer"] < 0:
            continue
        row = [str(r["layer"]), r["op"], _n(r["macs"] or None), _n(r["cmsis_nn"]["cycles"])]
        for k in kinds:
            m = r["tflm"][k]
            row += [_n(m["instructions"]), _n(m["cycles"]), _n(m["cycles_per_mac"], 2),
                    _x(r["cmsis_nn"]["cycles"], m["cycles"])]
        row += [_n(r["tflm_estimate"]["cycles"]), _n(r["tflm_estimate"]["cycles_per_mac"], 2)]
        body.append(row)
    between = ["-", "(interpreter between ops)", "", ""]
    total = ["", "total (probe's Invoke)", _n(res["macs"]),
             _n(sum(r["cmsis_nn"]["cycles"] or 0 for r in res["layers"] if r["layer"] >= 0))]
    for k in kinds:
        m = res["tflm_measured"][k]
        b = m["between_ops"]
        between += [_n(b["instructions"]), _n(b["cycles"]), "", ""]
        ti = sum(o["instructions"] for o in m["per_op"]) + b["instructions"]
        tc = sum(o["cycles"] or 0 for o in m["per_op"]) + (b["cycles"] or 0)
        total += [_n(ti), _n(tc), _n(tc / res["macs"] if res["macs"] else None, 2), ""]
    between += ["", ""]
    total += [_n(res["tflm_estimate"]["cycles"]), _n(res["tflm_estimate"]["cycles_per_mac"], 2)]
    print("\n  Per layer, TFLM measured (the first example, from the probe build whose interpreter marks each op "
          "through a profiler hook;\n  x ours = TFLM cycles / CMSIS-NN backend cycles) beside the TFLM estimate:")
    print(_table([head, sub, *body, between, total], right=set(range(2, len(head)))))


def summary_line(res: dict[str, Any], profile) -> str:
    """One line: the CMSIS-NN backend vs each measured TFLM firmware (or the estimate when none was)."""
    c, sm = res["cmsis_nn"], res["summary"]
    kinds = [k for k in ("cmsis_nn", "reference") if k in sm]
    head = f"  summary, {res['name']} on {profile.name}: CMSIS-NN backend vs "
    if not kinds:
        t = res["tflm_estimate"]
        return (head + f"TFLM estimate (TFLM not measured): cycles {_n(c['cycles'])} vs {_n(t['cycles'])} "
                f"({_x(c['cycles'], t['cycles'])}); flash {c['flash']['bytes']:,} B vs .tflite {t['flash']['bytes']:,} B; "
                f"RAM {c['ram']['bytes']:,} B vs host arena {t['ram']['bytes']:,} B")
    head += " | ".join(TFLM_LABELS[k] for k in kinds) + ": "
    parts = []
    for key, label, unit in (("instructions", "instructions", ""), ("cycles", "cycles", ""),
                             ("flash_bytes", "flash", " B"), ("ram_bytes", "RAM", " B")):
        ours = sm[kinds[0]][key]["cmsis_nn"]
        theirs = " | ".join(f"{_n(sm[k][key]['tflm'])}{unit} ({_x(ours, sm[k][key]['tflm'])})" for k in kinds)
        parts.append(f"{label} {_n(ours)}{unit} vs {theirs}")
    return head + "; ".join(parts)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", action="append", type=Path, default=[],
                    help="a build dir (repeatable); default: every builds/*-cmsis_nn")
    ap.add_argument("--no-builds", action="store_true", help="only the DS-CNN (skip the default build dirs)")
    ap.add_argument("--core", default="cortex-m4", choices=CORES)
    ap.add_argument("--examples", type=int, default=4, help="examples emulated per model (default 4)")
    ap.add_argument("--json", type=Path, help="also write every figure to this JSON file")
    ap.add_argument("--tiny", action="store_true", help="a 16-channel, 2-block DS-CNN (for tests)")
    ap.add_argument("--tflm-kernels", default="both", choices=tuple(TFLM_CHOICES),
                    help="which TFLM firmwares to build and measure (default both; none: the estimate only)")
    ap.add_argument("--cache-dir", type=Path,
                    help="where the DS-CNN .tflite is cached (default ${EDGEML_CACHE_DIR:-~/.cache/edgeml}/bench)")
    args = ap.parse_args(argv)
    if args.examples < 1:
        ap.error("--examples must be >= 1")

    from edgeml_cmsis_nn.host_check import target

    builds = list(args.build) or ([] if args.no_builds else sorted(p for p in (ROOT / "builds").glob("*-cmsis_nn")
                                                                   if p.is_dir()))
    cases = [build_case(b, args.examples) for b in builds]
    cases.append(ds_cnn_case(ds_cnn.TINY if args.tiny else ds_cnn.DsCnnSpec(), args.examples, args.cache_dir))
    profile = target(args.core)
    tflm_kernels = TFLM_CHOICES[args.tflm_kernels]
    why_not = tflm_unavailable() if tflm_kernels else None
    if why_not:
        print(f"note: TFLM is the estimate only (its firmware is not built): {why_not}")
        tflm_kernels = ()
    results = []
    for case in cases:
        res = measure(case, args.core, tflm_kernels)
        print_model(res, profile, case.origin)
        results.append(res)
    if args.json:
        out = {"schema": SCHEMA, "core": args.core,
               "target": {"name": profile.name, "clock_hz": profile.clock_hz, "active_mw": profile.active_mw,
                          "ram_budget_bytes": profile.ram_budget_bytes,
                          "flash_budget_bytes": profile.flash_budget_bytes,
                          "latency_model_source": profile.latency_model.source if profile.latency_model else None},
               "examples": args.examples, "tflm_kernels": list(tflm_kernels),
               # Not the reason itself: it may name a local path (EDGEML_TFLM_ROOT).
               "tflm_not_built": None if not why_not else f"the tflm C library was not found: `{TFLM_INSTALL}`",
               "models": results}
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=2, sort_keys=True) + "\n")
        print(f"\nfigures written to {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
