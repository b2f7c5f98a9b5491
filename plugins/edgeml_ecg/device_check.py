"""The ECG app's device code run on the target: one call per test beat, compared with the build's features.

:func:`device_code` writes ``ecg/ecg_features.{h,c}`` and the entry point
``ecg/ecg_features_beat.c`` (:mod:`edgeml_ecg.device_c`), builds them as one
:class:`edgeml.Program` with every runner in ``runners.use`` (host compiler;
cross compiler + emulator, which measures flash, RAM and cycles on the
target), puts every test beat of the sense stage's raw records through it and
compares the outputs with ``features.x["test"]`` (``ecg/feature_parity.json``).

Input of one call (:func:`beat_inputs`): what the device holds when a beat's
window is complete -- the band-pass state before the window's first sample,
the window's raw samples, and the R peaks around the beat. The state is the
one CMSIS-DSP's filter had at that sample when preprocess ran it over the
whole record from zero state, so a call starts from exactly the state
preprocess had and differs only by the rounding within the window (below);
the device filters each sample once as it arrives and carries that state. Per call the device work is then what a
beat costs: the band-pass over ``before + after`` samples (256 by default,
about one RR interval at 84 bpm), the normalisation and the RR features.

Exact equality cannot hold for the band-pass, so the check is a bound: the
Python features come from the ``cmsisdsp`` wheel, whose x86-64 build of
``arm_biquad_cascade_df1_f32`` reassociates the five-term sum (its
disassembly adds the terms in a different order in each of the four unrolled
positions), while the device C adds them left to right as the CMSIS source
is written, without fused multiply-adds (``-ffp-contract=off``). Both are
float32 and differ by rounding only, but the df1 recursion of the 0.5 Hz
high-pass (poles near z = 1) accumulates rounding: over a 256-sample window
both are about 1.5e-5 mV from a float64 run and 1e-5 mV from each other,
which the normalisation (divide by the window's std, ~0.16 mV) turns into up
to 2.5e-4 on a feature (measured on the default config's 4,413 test beats;
the host and the Cortex-M4/M0+ emulators agree with each other bit for bit).
The RR features and everything after the band-pass follow the numpy order
and are exact given the same window. On the model's int8 input (a step of
0.02-0.04) this moves a value across one rounding
boundary now and then: the bound is :data:`MAX_INPUT_LSB` int8 step; more
would take a real divergence (wrong coefficients, window or RR), which fails
the export naming the beat and feature.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from edgeml import CompressedModel, DataError, DeviceCode, FeatureSet, Figure, ProgramRuns, StageContext

PARITY_FILE = "ecg/feature_parity.json"
#: Largest accepted difference, in int8 steps of the model's input, between a feature the
#: device computes and the one the model was tested on (see the module docstring).
MAX_INPUT_LSB = 1
#: Without an int8 input (a float model): the bound on the features themselves (normalised window,
#: RR ratios), 4x the largest difference measured on the host and the Cortex-M4 emulator (2.5e-4 over
#: the 4,413 beats of the default config's test split; the int8 input moved 1 step on 689 of 1.14 M values).
MAX_ABS_DIFF = 1e-3


def features_program(spec: dict[str, Any]):
    """The one-beat entry point ``ecg_features_beat`` as an :class:`edgeml.Program`."""
    import edgeml
    from edgeml_ecg import device_c

    layout = device_c.beat_input_layout(spec)
    return edgeml.Program(
        name="features", entry_point=device_c.BEAT_ENTRY, sources=[device_c.SOURCE, device_c.BEAT_SOURCE],
        include_dirs=["ecg"], input_dtype="float32", input_shape=(layout["size"],), output_dtype="float32",
        output_shape=(layout["output_size"],), flags=list(device_c.EXACT_FLAGS),
        info={"input": "float32: band-pass state before the window (CMSIS-DSP df1 layout, per stage x[n-1], "
                       "x[n-2], y[n-1], y[n-2]), the window's raw samples (mV), R peaks from the window's first "
                       "sample (n_prev before the beat, the beat, the next; unused 0), n_prev",
              "layout": layout, "per_call": "one beat"})


def beat_inputs(records: list, s: Any, coefs: np.ndarray) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """(beats, input size) float32 inputs of ``ecg_features_beat`` for the beats preprocess turns into
    examples of ``records`` (in its order), and per record its name and beat count."""
    from edgeml_ecg.features import bandpass_stages, filter_state, labelled_beats

    stages = len(coefs)
    peaks_n = s.local_beats + 2
    size = 4 * stages + s.window + peaks_n + 1
    rows, index = [], []
    for rec in records:
        filt = bandpass_stages(rec.signal, coefs)
        beats = labelled_beats(rec.symbols, rec.peaks, len(filt[0]), s)
        x = np.zeros((len(beats), size), np.float32)
        for k, i in enumerate(beats):
            t0 = int(rec.peaks[i]) - s.before
            first = max(0, int(i) - s.local_beats)
            n_prev = int(i) - first
            x[k, :4 * stages] = filter_state(filt, t0)
            x[k, 4 * stages:4 * stages + s.window] = filt[0][t0:t0 + s.window]
            p = 4 * stages + s.window
            x[k, p:p + n_prev + 2] = (np.asarray(rec.peaks[first:i + 2], np.int64) - t0).astype(np.float32)
            x[k, p + peaks_n] = n_prev
        rows.append(x)
        index.append({"record": rec.name, "beats": int(len(beats))})
    return (np.concatenate(rows) if rows else np.zeros((0, size), np.float32)), index


def compare(outputs: np.ndarray, reference: np.ndarray, window: int, quant: Any = None) -> dict[str, Any]:
    """How far ``outputs`` are from ``reference`` (both (beats, window + 3)): float and int8 figures."""
    ref = np.asarray(reference, np.float32)
    out = np.asarray(outputs, np.float32).reshape(-1, ref.shape[1])   # the emulator may run the first beats only
    ref = ref[:len(out)]
    diff = np.abs(out.astype(np.float64) - ref.astype(np.float64))
    worst = int(np.argmax(diff)) if diff.size else 0
    beat, element = divmod(worst, max(1, ref.shape[1]))
    rr = diff[:, window:]
    r: dict[str, Any] = {
        "beats": int(len(ref)), "max_abs_diff": float(diff.max()) if diff.size else 0.0,
        "mean_abs_diff": float(diff.mean()) if diff.size else 0.0,
        "max_abs_diff_rr": float(rr.max()) if rr.size else 0.0,
        "elements_differing": int(np.count_nonzero(out != ref)), "elements": int(ref.size),
        "beats_differing": int(np.count_nonzero(np.any(out != ref, axis=1))),
        "beats_equal_bit_for_bit": int(np.count_nonzero(np.all(out.view(np.uint32) == ref.view(np.uint32), axis=1))),
        "worst": {"beat": int(beat), "feature": int(element),
                  "device": float(out.flat[worst]) if diff.size else 0.0,
                  "python": float(ref.flat[worst]) if diff.size else 0.0}}
    if quant is not None:
        lsb = np.abs(quant.quantize(out).astype(np.int32) - quant.quantize(ref).astype(np.int32))
        w = int(np.argmax(lsb)) if lsb.size else 0
        r["int8"] = {"scale": float(quant.scale), "zero_point": int(quant.zero_point),
                     "beats_differing": int(np.count_nonzero(np.any(lsb != 0, axis=1))),
                     "elements_differing": int(np.count_nonzero(lsb)),
                     "max_lsb": int(lsb.max()) if lsb.size else 0,
                     "worst": {"beat": int(w // max(1, ref.shape[1])), "feature": int(w % max(1, ref.shape[1]))}}
    return r


def _feature_name(k: int, window: int) -> str:
    from edgeml_ecg.features import RR_NAMES

    return f"window sample {k}" if k < window else f"RR feature '{RR_NAMES[k - window]}'"


def check_bound(runner: str, result: dict[str, Any], window: int) -> None:
    """DataError when ``runner``'s features are further from Python's than the stated bound."""
    fix = ("ecg/ecg_features.c and edgeml_ecg.features disagree; re-run preprocess and export together, or fix "
           "the generator (edgeml_ecg/device_c.py)")
    q = result.get("int8")
    if q is not None and q["max_lsb"] > MAX_INPUT_LSB:
        w = q["worst"]
        raise DataError(f"the device ECG features ({runner}) differ from Python's by {q['max_lsb']} int8 steps of "
                        f"the model input (bound {MAX_INPUT_LSB}) at test beat {w['beat']}, "
                        f"{_feature_name(w['feature'], window)}: {fix}")
    if q is None and result["max_abs_diff"] > MAX_ABS_DIFF:
        w = result["worst"]
        raise DataError(f"the device ECG features ({runner}) differ from Python's by {result['max_abs_diff']:.3g} "
                        f"(bound {MAX_ABS_DIFF}) at test beat {w['beat']}, {_feature_name(w['feature'], window)}: "
                        f"{fix}")


def parity_report(runs: ProgramRuns, reference: np.ndarray, window: int, index: list[dict[str, Any]],
                  quant: Any = None) -> dict[str, Any]:
    """Every runner's outputs against the Python features, and the runners against each other."""
    return {
        "schema": "edgeml_ecg.feature_parity/1",
        "reference": "FeatureSet.x['test'] (preprocess: cmsisdsp arm_biquad_cascade_df1_f32 over each record, "
                     "normalised beat window, RR features)",
        "examples": {"which": "every test beat preprocess made an example of, in its order",
                     "beats": int(len(reference)), "records": index},
        "input": "per beat: the band-pass state before the window (from preprocess's run over the record), the "
                 "window's raw samples from the sense stage, the R peaks around the beat",
        "bound": {"max_int8_lsb": MAX_INPUT_LSB, "max_abs_diff_without_int8_input": MAX_ABS_DIFF,
                  "why": "float band-pass: the cmsisdsp wheel's x86-64 build reassociates the biquad's five-term "
                         "sum, the device C adds left to right without FMA; the high-pass at the low band edge "
                         "(poles near z = 1) accumulates the rounding to ~1e-5 mV over the window, up to ~2.5e-4 after "
                         "normalisation, which may move a feature across one int8 rounding boundary. "
                         "Normalisation and RR features follow the numpy order and are exact given the same "
                         "window."},
        "runners": {name: compare(run.outputs, reference, window, quant) for name, run in runs.runs.items()},
        "skipped": dict(runs.skipped),
        "runners_agree_bit_for_bit": not runs.differences, "runner_differences": list(runs.differences)}


def macs_estimate(spec: dict[str, Any]) -> int:
    """Float multiplies per beat: 5 per biquad stage per window sample, a square and a divide per sample
    of the normalisation, and the RR features' divides."""
    w = int(spec["window"]["samples"])
    return 5 * int(spec["bandpass"]["stages"]) * w + 2 * w + int(spec["rr"]["local_beats"]) + 5


def device_code(ctx: StageContext, model: CompressedModel, features: FeatureSet) -> DeviceCode:
    """Write the device C, run it on every test beat with the configured runners, check it."""
    from edgeml_ecg import device_c
    from edgeml_ecg.features import FeatureSettings, biquad_coefficients
    from edgeml_ecg.records import RawEcg

    spec = features.spec
    files = device_c.write_device_code(ctx.out_dir, spec)
    data = RawEcg.load(ctx.input_dir("sense"))
    s = FeatureSettings.from_config(ctx.app.preprocess, data.fs)
    coefs = np.asarray(spec["bandpass"]["coefficients_b0_b1_b2_a1_a2"], np.float32)
    if coefs.tobytes() != biquad_coefficients(s).tobytes() or s.window != int(spec["window"]["samples"]):
        raise DataError("the preprocess stage's feature spec does not match app.preprocess in this config: re-run "
                        "preprocess and export together")
    inputs, index = beat_inputs(data.split("test"), s, coefs)
    reference = np.asarray(features.x["test"], np.float32)
    if reference.shape != (len(inputs), s.input_size):
        raise DataError(f"the test features are {reference.shape}, the sense stage's test records give "
                        f"{len(inputs)} beats of {s.input_size}: re-run preprocess and export together")
    program = features_program(spec)
    runs = ctx.run_program(program, inputs)
    parity = parity_report(runs, reference, s.window, index, model.input_quant)
    (ctx.out_dir / PARITY_FILE).write_text(json.dumps(parity, indent=2, sort_keys=True) + "\n")
    files.append(PARITY_FILE)
    for name, result in parity["runners"].items():
        check_bound(name, result, s.window)

    measured = runs.measured()
    image = next((r for r in reversed(list(runs.runs.values())) if r.flash_bytes is not None), None)
    if image is not None:
        flash = Figure(image.flash_bytes.value, f"ECG features: {image.flash_bytes.method}")
        ram = Figure(image.ram_bytes.value, f"ECG features: {image.ram_bytes.method}")
    else:
        flash = None
        ram = Figure(4 * (4 * len(coefs) + s.window + s.input_size),
                     "estimate: band-pass state + filtered window + model input (float32); code and stack not "
                     "counted (no runner measured the image)")
    macs = macs_estimate(spec)
    per_beat = ("per beat: band-pass over the window's samples (the device filters each sample once; "
                f"{s.window} samples ~ one RR interval at {60.0 * s.fs / s.window:.0f} bpm), normalisation, "
                "RR features")
    return DeviceCode(
        files=files, flash_bytes=flash, ram_bytes=ram, macs=macs, macs_by_kind={"float_dsp": macs},
        cycles=None if measured is None else measured.cycles,
        instructions=None if measured is None else measured.instructions,
        info={"macs_method": "estimate: float multiplies per beat (5 per biquad stage per window sample, square "
                             "and divide per sample of the normalisation, RR divides)",
              "per_inference": per_beat, "compile_flags": list(device_c.EXACT_FLAGS),
              "api": "ecg_bandpass_init/_run (streaming, state carried), ecg_beat_features or "
                     "ecg_normalise_window + ecg_rr_features per beat; ecg_features_beat(input, output) is the "
                     "one-call form the runners measure",
              "measured_by": measured.runner if measured is not None else None,
              "parity": {k: parity[k] for k in ("bound", "runners_agree_bit_for_bit")}
              | {"runners": {n: {k: v for k, v in r.items() if k != "worst"} for n, r in parity["runners"].items()}},
              "programs": {program.name: runs.summary()}})
