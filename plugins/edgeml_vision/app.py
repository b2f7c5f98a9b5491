"""The ``vision`` app: where are the people and vehicles in a low-resolution top-down frame?

FOMO-style centroid detection for a drone or a mast camera on a Cortex-M7
class MCU. sense: generated aerial scenes (default) or a YOLO / COCO folder
(``app.data_dir``); preprocess: integer gray + resize to the model input
(:mod:`edgeml_imaging`); train: a depthwise-separable network to a grid of
per-cell class scores; evaluate: centroid precision / recall / F1 per class
and the count error; export adds the C frame preprocessing and the C
post-processing (grid -> objects) beside the backend's model sources, both
run on the target by the runners and checked bit for bit (edgeml_vision.device).
Heavy libraries load inside the stage methods only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from edgeml import App, CompressedModel, DeviceCode, Evaluation, FeatureSet, StageContext, TrainedModel

BACKGROUND = "background"
PREFIX = "vision"


class VisionApp(App):
    name = "vision"
    version = "0.1.0"
    description = ("people and vehicles in aerial frames: FOMO-style centroid grid, "
                   "generated scenes or YOLO/COCO folders, C frame preprocessing and post-processing")
    task = "detection"
    primary_metric = "f1"
    model_kinds = ("keras",)

    def check(self, config, target) -> None:
        """Refuse a bad app config when it is composed, before any frame is rendered."""
        from edgeml import DataError
        from edgeml_vision.features import frame_spec
        from edgeml_vision.scenes import SceneSettings
        from edgeml_vision.training import check_train_config

        app = config.app
        if app.data_dir:
            if not Path(str(app.data_dir)).is_dir():
                raise DataError(f"app.data_dir={app.data_dir} is not a directory: point it at a YOLO dataset folder "
                                "(data.yaml, images/, labels/) or a folder with COCO JSON annotations")
        else:
            SceneSettings.from_config(app.sense)
        spec = frame_spec(app.preprocess)
        check_train_config(app.train, spec.width, spec.height)

    def sense(self, ctx: StageContext) -> dict[str, float]:
        if ctx.app.data_dir:
            from edgeml_vision.real_data import read_dataset

            data = read_dataset(ctx.app.data_dir, ctx.app.sense.real, ctx.seed, ctx.progress)
        else:
            from edgeml_vision.scenes import SceneGenerator

            data = SceneGenerator(ctx.app.sense, ctx.seed).generate(ctx.progress)
        data.save(ctx.out_dir)
        return data.counts()

    def preprocess(self, ctx: StageContext) -> FeatureSet:
        from edgeml_vision.features import build_features, frame_spec
        from edgeml_vision.frames_store import RawFrames

        data = RawFrames.load(ctx.input_dir("sense"))
        spec = frame_spec(ctx.app.preprocess)
        ctx.progress.message(f"frames to {spec.width}x{spec.height} gray ({spec.resize}"
                             f"{', letterboxed' if spec.letterbox else ''})")
        x, y, _ = build_features(data, spec)
        return FeatureSet(x=x, y=y, classes=[BACKGROUND, *data.classes], spec={
            "frame": spec.to_json(),
            "layout": "x[n, row, column, 1] = gray pixel / 255 (float32)",
            "device": f"{PREFIX}/{PREFIX}_frame.c: {PREFIX}_frame_gray8_to_input / _rgb565_to_input / "
                      "_rgb888_to_input, a 256-entry table from pixel to the int8 input",
            "labels": "y[n, object, (class, cx, cy)]: class 0-based among the object classes (-1: padding), "
                      "centroid in input pixels (x right, y down)",
            "object_classes": list(data.classes)})

    def train(self, ctx: StageContext, features: FeatureSet) -> TrainedModel:
        from edgeml_vision.training import train_fomo

        return train_fomo(ctx, features)

    # ------------------------------------------------------------ scoring

    def evaluate(self, ev: Evaluation) -> dict[str, Any]:
        from edgeml_vision.grid import decode
        from edgeml_vision.scoring import detection_metrics

        geo, settings, radius = detection_setup(ev.trained)
        preds = decode(np.asarray(ev.outputs), geo, settings)
        metrics = detection_metrics(preds, ev.features.y[ev.split], ev.features.classes[1:], radius)
        metrics["threshold"] = settings.threshold
        return metrics

    def illustrate(self, ctx: StageContext, ev: Evaluation) -> list[str]:
        from edgeml_vision.figures import detections_png

        geo, settings, radius = detection_setup(ev.trained)
        return [detections_png(ctx.out_dir / "detections.png", ev, geo, settings, radius)]

    # ------------------------------------------------------------ device

    def device_code(self, ctx: StageContext, model: CompressedModel, features: FeatureSet) -> DeviceCode:
        """``export/vision/``: the camera frame to int8 input C and the grid to objects C, run on the target.

        Both are :class:`edgeml.Program` s every runner in ``runners.use`` builds and runs: the frame
        conversion on the sense stage's raw test frames of the camera's size (the most common test frame
        size; a device has one camera), compared with the Python preprocessing's quantized input; the
        post-processing on every int8 test output of the compressed model, compared with
        :func:`edgeml_vision.grid.decode_int8`. Both bit for bit (``vision/device_parity.json``), else export
        fails. Flash, RAM and cycles are the emulator's (the camera's frame buffer is the application's
        and not counted); without an emulated image, the host-compiled objects' sections and the MAC
        estimate (one add per camera pixel, one lookup per input pixel, one compare per grid score).
        """
        from edgeml_vision.device import device_code

        return device_code(ctx, model, features, PREFIX)

def detection_setup(trained: TrainedModel):
    """Grid geometry, decode settings and match radius that train recorded in the model's info."""
    from edgeml import DataError
    from edgeml_vision.grid import DecodeSettings, GridGeometry

    try:
        g, d = trained.info["grid"], trained.info["detect"]
        geo = GridGeometry(width=int(g["input_width"]), height=int(g["input_height"]), grid_w=int(g["width"]),
                           grid_h=int(g["height"]))
        settings = DecodeSettings(threshold=float(d["threshold"]), connectivity=int(d["connectivity"]),
                                  centroid=str(d["centroid"]))
        return geo, settings, float(d["match_radius_px"])
    except (KeyError, TypeError) as exc:
        raise DataError(f"the trained model's info lacks the detection settings ({exc}): re-run the train stage "
                        "of the vision app") from exc


def postprocess_spec(trained: TrainedModel, model: CompressedModel, features: FeatureSet):
    from edgeml_vision.grid import int8_threshold
    from edgeml_vision.postprocess_c import PostprocessSpec

    geo, settings, _ = detection_setup(trained)
    return PostprocessSpec(geo=geo, classes=list(features.classes),
                           q_threshold=int8_threshold(settings.threshold, model.dequantize),
                           zero_point=int(model.output_quant.zero_point), scale=float(model.output_quant.scale),
                           threshold=settings.threshold, connectivity=settings.connectivity,
                           centroid=settings.centroid)
