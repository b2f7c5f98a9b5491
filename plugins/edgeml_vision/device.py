"""The vision app's device code: frame conversion and post-processing C, run on the target and checked.

``vision/vision_frame.{h,c}`` + ``vision_frame_camera.c`` (the build's camera:
size and pixel format of the sense stage's frames) turn a camera frame into
the model's int8 input; ``vision/vision_postprocess.{h,c}`` +
``vision_postprocess_flat.c`` turn the model's int8 grid into objects. Each
is an :class:`edgeml.Program` that every runner in ``runners.use`` builds
and runs (``ctx.run_program``) on real test data: the raw test frames of the
camera's size, and the compressed model's int8 test outputs. Both are integer
paths (the centroid's one float32 division is IEEE, the same everywhere) and
must equal Python bit for bit; ``vision/device_parity.json`` records it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from edgeml import CompressedModel, DataError, DeviceCode, FeatureSet, Figure, StageContext, TrainedModel

PARITY_FILE = "device_parity.json"


def device_code(ctx: StageContext, model: CompressedModel, features: FeatureSet, prefix: str) -> DeviceCode:
    from edgeml_imaging.device_figures import memory, summed
    from edgeml_imaging.frame_c import write_frame_c
    from edgeml_imaging.frame_program import (camera_of, check_frame_program, format_of, frame_program,
                                              write_camera_wrapper)
    from edgeml_imaging.frames import FrameSpec
    from edgeml_vision.app import detection_setup, postprocess_spec
    from edgeml_vision.frames_store import RawFrames
    from edgeml_vision.grid import decode, decode_int8
    from edgeml_vision.postprocess_c import (flat_objects, objects_of, postprocess_program, write_flat_wrapper,
                                             write_postprocess_c)

    if model.input_quant is None or model.output_quant is None:
        raise DataError("the compressed model has no input/output quantization: the vision device code needs "
                        "an INT8 model (re-run compress with the tflite-int8 compressor)")
    trained = TrainedModel.load(ctx.input_dir("train"))
    frame = {k: v for k, v in features.spec["frame"].items() if k in ("width", "height", "channels", "resize",
                                                                     "letterbox")}
    spec = FrameSpec(**frame)
    app_dir = prefix
    out = Path(ctx.out_dir) / app_dir
    raw = RawFrames.load(ctx.input_dir("sense"))
    test_frames = raw.frames("test")
    (cam_h, cam_w, channels), idx = camera_of(raw.shapes["test"])
    fmt = format_of(channels)

    files = write_frame_c(out, spec, model.input_quant, prefix=prefix)
    files.append(write_camera_wrapper(out, prefix, cam_w, cam_h, fmt))
    pp = postprocess_spec(trained, model, features)
    files += write_postprocess_c(out, pp, prefix=prefix)
    files.append(write_flat_wrapper(out, prefix))

    # The frame conversion: every test frame the build's camera delivers.
    frames = np.stack([test_frames[i] for i in idx])
    if channels == 1:
        frames = frames[..., 0]
    expected = model.input_quant.quantize(np.asarray(features.x["test"])[idx])[..., 0]
    frame_prog = frame_program(prefix, app_dir, spec, cam_w, cam_h, fmt)
    frame_parity, frame_runs = check_frame_program(ctx, frame_prog, frames, expected,
                                                   f"{cam_w}x{cam_h} {fmt} test frames")

    # The post-processing: every int8 output grid of the test split.
    geo, settings, _ = detection_setup(trained)
    grids = np.asarray(model.test_outputs, np.int8).reshape(-1, geo.grid_h, geo.grid_w, len(pp.classes))
    pp_prog = postprocess_program(pp, prefix, app_dir)
    ctx.progress.message(f"{pp_prog.entry_point}: {len(grids)} int8 test grids through the runners")
    pp_runs = ctx.run_program(pp_prog, grids.reshape(len(grids), -1))
    max_objects = geo.grid_w * geo.grid_h
    objects = decode_int8(grids, geo, pp.q_threshold, pp.zero_point, pp.connectivity, pp.centroid)
    reference = flat_objects(objects, max_objects)
    pp_parity = {}
    for name, run in pp_runs.runs.items():
        got = np.asarray(run.outputs, np.float32).reshape(len(grids), -1)
        bad = np.flatnonzero(np.any(got.view(np.uint32) != reference.view(np.uint32), axis=1))
        pp_parity[name] = {"method": run.method, "grids_differing": int(len(bad)), "bit_exact": not len(bad),
                           "first_grid_differing": int(bad[0]) if len(bad) else None,
                           "objects": int(sum(int(n) for n in got[:, 0]))}
        if len(bad):
            raise DataError(f"the post-processing C ({name} runner) finds other objects than "
                            f"edgeml_vision.grid.decode_int8 on {len(bad)} of {len(grids)} test grids (first: "
                            f"{int(bad[0])}): the C twin and the Python post-processing disagree; report it with "
                            "the build dir")
    # What evaluate scores (the float post-processing of the dequantized grids), beside the exact twin.
    evaluated = decode(model.dequantize(grids), geo, settings)
    device_objects = objects_of(pp_runs.device.outputs)
    same = [len(a) == len(b) and np.array_equal(a[:, [0, 4]], b[:, [0, 4]])
            for a, b in zip(device_objects, evaluated)]
    shift = max([float(np.abs(a[:, 1:3] - b[:, 1:3]).max()) for a, b, s in zip(device_objects, evaluated, same)
                 if s and len(a)] or [0.0])

    programs = {"frame": frame_runs, "postprocess": pp_runs}
    report = {
        "schema": "edgeml_vision.device_parity/1",
        "frame": {"program": frame_prog.entry_point, "camera": {"width": cam_w, "height": cam_h, "format": fmt},
                  "frames": int(len(idx)), "test_frames": int(len(test_frames)),
                  "frames_of_other_sizes_not_run": int(len(test_frames) - len(idx)),
                  "camera_rule": "the most common (height, width, channels) of the test frames: a device has "
                                 "one camera",
                  "reference": "model.input_quant.quantize(preprocess x_test): the Python preprocessing",
                  "rule": "bit for bit (integer path)", "runners": frame_parity,
                  "skipped": dict(frame_runs.skipped), "runners_agree": not frame_runs.differences},
        "postprocess": {"program": pp_prog.entry_point, "grids": int(len(grids)),
                        "reference": "edgeml_vision.grid.decode_int8 on the compress stage's int8 test outputs",
                        "rule": "bit for bit (integers; the centroid's float32 division as in C)",
                        "runners": pp_parity, "skipped": dict(pp_runs.skipped),
                        "runners_agree": not pp_runs.differences,
                        "versus_evaluate": {
                            "grids_with_the_same_objects": int(sum(same)), "grids": int(len(grids)),
                            "max_centroid_difference_px": round(shift, 6),
                            "what": "the float post-processing evaluate scores, on the dequantized grids: same "
                                    "classes and cell counts, centroids within float rounding"}},
    }
    report["bit_exact"] = all(r["bit_exact"] for part in ("frame", "postprocess")
                              for r in report[part]["runners"].values())
    (out / PARITY_FILE).write_text(json.dumps(report, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    files.append(PARITY_FILE)

    figs = summed(programs)
    grid_values = int(np.prod(np.asarray(model.test_outputs).shape[1:]))
    macs = cam_w * cam_h + spec.width * spec.height + grid_values
    flash, ram = memory(programs, out, files, "frame + post-processing C",
                        "; the camera frame buffer not included")
    return DeviceCode(
        files=[f"{app_dir}/{f}" for f in files], flash_bytes=flash, ram_bytes=ram,
        cycles=figs["cycles"], instructions=figs["instructions"], macs=macs, macs_by_kind={"int_dsp": macs},
        info={"macs_method": f"estimate: one add per camera pixel ({cam_w}x{cam_h}), one table lookup per input "
                             f"pixel, one compare per grid score ({grid_values})",
              "camera": {"width": cam_w, "height": cam_h, "format": fmt,
                         "frame_bytes": {"gray8": cam_w * cam_h, "rgb565": 2 * cam_w * cam_h,
                                         "rgb888": 3 * cam_w * cam_h},
                         "note": "the camera frame buffer is the application's, outside these figures"},
              "api": [f"{prefix}_frame_gray8_to_input", f"{prefix}_frame_rgb565_to_input",
                      f"{prefix}_frame_rgb888_to_input", frame_prog.entry_point, f"{prefix}_postprocess",
                      f"{prefix}_score", pp_prog.entry_point],
              "q_threshold": pp.q_threshold, "parity": PARITY_FILE,
              "programs": {k: r.summary() for k, r in programs.items()}})
