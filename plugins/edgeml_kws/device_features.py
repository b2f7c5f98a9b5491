"""The KWS app's device code: the MFCC front end as C, run with every runner and checked against Python.

:func:`device_code` writes ``kws/kws_features.{h,c}`` (:mod:`edgeml_kws.mfcc_c`),
puts every test clip of the sense stage through it with ``ctx.run_program``
(host compiler, cross compiler + emulator...), compares each run's features
with the FeatureSet's (the ones the model was tested on) and writes the
result to ``kws/feature_parity.json``.

The features are float32 and the C is not bit-identical to the Python
package's build of the same CMSIS-DSP source (that one is compiled with
``-O3 -ffast-math`` for x86-64; newlib's ``logf`` on Cortex-M0+/M4 is not
glibc's), so the check is a bound on what the model sees: the features
quantized with the model's input quantization may differ by at most
:data:`MAX_INPUT_LSB` int8 step. A float difference of a few 1e-6 moves a
feature across a rounding boundary now and then (1 LSB); more than 1 LSB
would take a real divergence (a wrong table, frame or scaling), which fails
the export naming the clip and coefficient.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from edgeml import CompressedModel, DataError, DeviceCode, FeatureSet, Figure, ProgramRuns, StageContext

PARITY_FILE = "kws/feature_parity.json"
#: Largest accepted difference, in int8 steps of the model's input, between a feature the
#: device computes and the one the model was tested on (see the module docstring).
MAX_INPUT_LSB = 1
#: Without an int8 input (a float model), the bound on the normalised features themselves:
#: about 75x the largest difference measured on the host and the Cortex-M4 emulator.
MAX_ABS_DIFF = 1e-3


def compare(outputs: np.ndarray, reference: np.ndarray, frames: int, coefficients: int,
            quant: Any = None) -> dict[str, Any]:
    """How far ``outputs`` (n, frames*coefficients) are from ``reference``: float and int8 figures."""
    ref = np.asarray(reference, np.float32).reshape(len(reference), -1)
    out = np.asarray(outputs, np.float32).reshape(-1, ref.shape[1])   # the emulator may run the first clips only
    ref = ref[:len(out)]
    diff = np.abs(out.astype(np.float64) - ref.astype(np.float64))
    worst = int(np.argmax(diff)) if diff.size else 0
    clip, element = divmod(worst, max(1, ref.shape[1]))
    r: dict[str, Any] = {
        "clips": len(ref), "max_abs_diff": float(diff.max()) if diff.size else 0.0,
        "mean_abs_diff": float(diff.mean()) if diff.size else 0.0,
        "elements_differing": int(np.count_nonzero(out != ref)), "elements": int(ref.size),
        "clips_differing": int(np.count_nonzero(np.any(out != ref, axis=1))),
        "worst": {"clip": int(clip), "frame": int(element // coefficients),
                  "coefficient": int(element % coefficients),
                  "device": float(out.flat[worst]) if diff.size else 0.0,
                  "python": float(ref.flat[worst]) if diff.size else 0.0}}
    if quant is not None:
        qo = quant.quantize(out).astype(np.int32)
        qr = quant.quantize(ref).astype(np.int32)
        lsb = np.abs(qo - qr)
        w = int(np.argmax(lsb)) if lsb.size else 0
        wc, we = divmod(w, max(1, ref.shape[1]))
        r["int8"] = {"scale": float(quant.scale), "zero_point": int(quant.zero_point),
                     "clips_differing": int(np.count_nonzero(np.any(lsb != 0, axis=1))),
                     "elements_differing": int(np.count_nonzero(lsb)),
                     "max_lsb": int(lsb.max()) if lsb.size else 0,
                     "worst": {"clip": int(wc), "frame": int(we // coefficients),
                               "coefficient": int(we % coefficients)}}
    return r


def check_bound(runner: str, result: dict[str, Any]) -> None:
    """DataError when ``runner``'s features are further from Python's than the stated bound."""
    q = result.get("int8")
    if q is not None:
        if q["max_lsb"] > MAX_INPUT_LSB:
            w = q["worst"]
            raise DataError(f"the device MFCC ({runner}) differs from Python's by {q['max_lsb']} int8 steps of the "
                            f"model input (bound {MAX_INPUT_LSB}) at test clip {w['clip']}, frame {w['frame']}, "
                            f"coefficient {w['coefficient']}: kws/kws_features.c and the features disagree; "
                            "re-run preprocess and export together, or fix the generator (edgeml_kws/mfcc_c.py)")
    elif result["max_abs_diff"] > MAX_ABS_DIFF:
        w = result["worst"]
        raise DataError(f"the device MFCC ({runner}) differs from Python's by {result['max_abs_diff']:.3g} (bound "
                        f"{MAX_ABS_DIFF}) at test clip {w['clip']}, frame {w['frame']}, coefficient "
                        f"{w['coefficient']}: kws/kws_features.c and the features disagree; re-run preprocess and "
                        "export together, or fix the generator (edgeml_kws/mfcc_c.py)")


def parity_report(runs: ProgramRuns, reference: np.ndarray, frames: int, coefficients: int,
                  quant: Any = None) -> dict[str, Any]:
    """Every runner's outputs against the Python features, and the runners against each other."""
    return {
        "schema": "edgeml_kws.feature_parity/1",
        "reference": "FeatureSet.x['test'] (cmsisdsp Python package, arm_mfcc_f32, normalised)",
        "bound": {"max_int8_lsb": MAX_INPUT_LSB, "max_abs_diff_without_int8_input": MAX_ABS_DIFF,
                  "why": "float path: compilers, -ffast-math in the Python build and libm's logf differ at "
                         "the 1e-6 level, which may move a feature across one int8 rounding boundary"},
        "runners": {name: compare(run.outputs, reference, frames, coefficients, quant)
                    for name, run in runs.runs.items()},
        "skipped": dict(runs.skipped),
        "runners_agree_bit_for_bit": not runs.differences, "runner_differences": list(runs.differences)}


def macs_estimate(c) -> int:
    """Float multiplies per clip: scale + window, the real FFT (N/2-point complex FFT, ~ (N/2) log2(N/2)
    butterflies of 4 multiplies, plus the split stage), magnitude, mel filters, DCT, normalisation."""
    n = c.fft_length
    half = n // 2
    fft = half * int(np.log2(half)) * 2 + 4 * half
    per_frame = 2 * n + fft + 2 * half + int(np.sum(c.filter_lengths)) + c.coefficients * c.mel_filters \
        + 2 * c.coefficients
    return int(per_frame * c.frames)


def estimated_memory(c) -> tuple[Figure, Figure]:
    """Flash and RAM when no runner measured the image: the C's constants and static buffers only."""
    tables = 4 * (c.window.size + c.filter_positions.size + c.filter_lengths.size + c.filter_coefs.size
                  + c.dct.size + c.mean.size + c.std.size)
    fft_tables = 4 * c.fft_length * 2 + 2 * c.fft_length  # twiddles (N/2 complex + N rfft) + bit reversal (< N halfwords)
    from edgeml_kws.mfcc_c import shares_scratch

    ram = 4 * (2 if shares_scratch(c) else 3) * c.fft_length
    return (Figure(tables + fft_tables, "estimate: kws_features.c constants + CMSIS-DSP FFT tables for this "
                                        "length; code not counted (no runner measured the image)"),
            Figure(ram, "estimate: the static frame and arm_mfcc_f32 scratch buffers; stack not counted "
                        "(no runner measured the image)"))


def device_code(ctx: StageContext, model: CompressedModel, features: FeatureSet) -> DeviceCode:
    """Write the feature extractor, run it on every test clip with the configured runners, check it."""
    from edgeml_kws.mfcc_c import constants_from_spec, features_program, frame_inputs, write_sources
    from edgeml_kws.raw_dataset import RawDataset

    c = constants_from_spec(features.spec)
    files = write_sources(ctx.out_dir, c)
    # One call per frame, as a 20 KB-RAM device runs it (streaming); outputs regroup into clips.
    program = features_program(c, per="frame")
    clips = RawDataset.load(ctx.input_dir("sense")).audio["test"]
    reference = np.asarray(features.x["test"], np.float32).reshape(len(clips), -1)
    if reference.shape[1] != c.frames * c.coefficients:
        raise DataError(f"the test features have {reference.shape[1]} values per clip, the C computes "
                        f"{c.frames} x {c.coefficients}: re-run preprocess and export together")
    runs = ctx.run_program(program, frame_inputs(clips, c))
    for run in runs.runs.values():
        run.outputs = run.outputs.reshape(-1, c.frames * c.coefficients)   # whole clips (Program.group)
    parity = parity_report(runs, reference, c.frames, c.coefficients, model.input_quant)
    (ctx.out_dir / PARITY_FILE).write_text(json.dumps(parity, indent=2, sort_keys=True) + "\n")
    files.append(PARITY_FILE)
    for name, result in parity["runners"].items():
        check_bound(name, result)

    measured = runs.measured()
    new_frames, why = frames_per_inference(ctx.config, features.spec, c.frames)
    device = runs.device
    flash, ram = device.flash_bytes, device.ram_bytes
    if flash is None or ram is None:
        est_flash, est_ram = estimated_memory(c)
        flash, ram = flash or est_flash, ram or est_ram
    macs = macs_estimate(c)
    info = {"program": program.to_json(), "programs": {program.name: runs.summary()}, "parity": parity,
            "macs_method": "estimate: float multiplies per frame (scale, window, real FFT ~ (N/2) log2(N/2) x 2 "
                           "+ 2N, magnitude, mel filters, DCT, normalisation) x frames per clip",
            "api": "int kws_features_frame(const int16_t *window, float *coefficients) per hop (streaming); "
                   "int kws_features(const int16_t *clip, float *features) for a whole clip",
            "per_inference": why, "frames_per_inference": new_frames, "frames_per_clip": c.frames,
            "measured_by": measured.runner if measured is not None else None}
    return DeviceCode(files=files, flash_bytes=flash, ram_bytes=ram, macs=macs, macs_by_kind={"float_dsp": macs},
                      info=info, cycles=per_clip(measured.cycles if measured else None, new_frames, why),
                      instructions=per_clip(measured.instructions if measured else None, new_frames, why))


def frames_per_inference(config: Any, spec: dict, frames: int) -> tuple[int, str]:
    """MFCC frames the device computes per inference: streaming, only the frames that are new since the
    previous inference (one per hop of audio) at the deployment's rate (``validate.rate_hz``, else the
    app's ``requirements.rate_hz``); every frame of the clip when no rate is set."""
    rate = (config.get("validate") or {}).get("rate_hz")
    if rate is None:
        rate = ((config.get("app") or {}).get("requirements") or {}).get("rate_hz")
    if rate is None:
        return frames, f"no rate set: all {frames} frames of a clip per inference"
    hop_s = float(spec["hop_samples"]) / float(spec["sample_rate"])
    new = min(frames, int(np.ceil(1.0 / float(rate) / hop_s - 1e-9)))
    return new, (f"streaming at {float(rate):g} inferences/s: {new} new frames of {hop_s * 1000:g} ms hop per "
                 f"inference (of {frames} in the clip's window)")


def per_clip(per_frame: Figure | None, frames: int, why: str) -> Figure | None:
    """A per-call (per-frame) figure as per inference: ``frames`` calls."""
    if per_frame is None:
        return None
    return Figure(round(float(per_frame.value) * frames, 2),
                  f"{frames} x {float(per_frame.value):.2f} per kws_features_frame call ({why}; "
                  f"{per_frame.method})")
