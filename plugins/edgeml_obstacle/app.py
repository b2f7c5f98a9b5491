"""The ``obstacle`` app: from one low-resolution grayscale frame, which sectors of the view are blocked
closer than a set distance, and the probability of a collision straight ahead.

sense: a seeded 2.5D ray caster (corridors, rooms, clearings, woods) with
exact per-column depth, or collision sequences in DroNet's layout
(``app.data_dir``); preprocess: the integer resize of :mod:`edgeml_imaging`
to the model's frame size, pixel / 255; train: a depthwise-separable CNN
with one sigmoid head of ``sectors + 1`` units. export adds the frame
preprocessing as C (8-bit gray, RGB565 or RGB888 in, the int8 input tensor
out) and the int8 decision, both run on the target through the runners and
checked bit for bit against Python (every test frame, every test output).
"""

from __future__ import annotations

from typing import Any

from edgeml import App, CompressedModel, DeviceCode, FeatureSet, StageContext, TrainedModel
from edgeml_obstacle.dataset import SPLITS

APP_DIR = "obstacle"


def frame_spec(preprocess: Any):
    from edgeml import ConfigError
    from edgeml_imaging.frames import FrameSpec

    try:
        return FrameSpec(width=int(preprocess.width), height=int(preprocess.height), channels=1,
                         resize=str(preprocess.resize), letterbox=bool(preprocess.letterbox))
    except ValueError as exc:
        raise ConfigError(f"app.preprocess: {exc}") from exc


class ObstacleApp(App):
    name = "obstacle"
    version = "0.1.0"
    description = ("drone obstacle detection: blocked sectors + collision from a 64x64 gray frame "
                   "(ray-cast scenes or DroNet collision folders), DS-CNN, frame preprocessing in C")
    task = "multilabel"
    model_kinds = ("keras",)
    primary_metric = "collision_roc_auc"

    def check(self, config, target) -> None:
        from pathlib import Path

        from edgeml import DataError
        from edgeml_obstacle.dataset import SenseSettings
        from edgeml_obstacle.model import check_model_config

        app = config.app
        if app.data_dir and not Path(str(app.data_dir)).is_dir():
            raise DataError(f"app.data_dir={app.data_dir} is not a directory: point it at a folder of sequences "
                            "(SEQUENCE/images/ + SEQUENCE/labels.txt, DroNet's collision layout)")
        SenseSettings.from_config(app.sense)
        spec = frame_spec(app.preprocess)
        check_model_config(app.train, (spec.height, spec.width))

    def sense(self, ctx: StageContext) -> dict[str, float]:
        if ctx.app.data_dir:
            from edgeml_obstacle.dronet import read_collision_folder

            data = read_collision_folder(ctx.app.data_dir, ctx.app.sense, ctx.seed, ctx.progress)
        else:
            from edgeml_obstacle.dataset import generate

            data = generate(ctx.app.sense, ctx.seed, ctx.progress)
        data.save(ctx.out_dir)
        return data.counts()

    def preprocess(self, ctx: StageContext) -> FeatureSet:
        from edgeml_imaging.frames import prepare_u8, to_model_float
        from edgeml_obstacle.dataset import RawFrames

        data = RawFrames.load(ctx.input_dir("sense"))
        spec = frame_spec(ctx.app.preprocess)
        x = {}
        for i, s in enumerate(SPLITS):
            x[s] = to_model_float(prepare_u8(data.frames[s], spec))
            ctx.progress.update(i + 1, len(SPLITS), "resize frames (splits)")
        cam_h, cam_w = data.frames["train"].shape[1:]
        feature_spec = {
            "frame": spec.to_json(), "camera": {"width": int(cam_w), "height": int(cam_h)},
            "layout": "x[n, row, column, 1] = pixel / 255 (float32); on the device the int8 input is "
                      "table[pixel] from <prefix>_frame.c",
            "outputs": list(data.classes),
            "sectors": "equal-width vertical strips of the view, left to right",
            "sectors_labelled": data.sectors_labelled, "labels": data.provenance.get("labels", {}),
        }
        return FeatureSet(x=x, y={s: data.y[s] for s in SPLITS}, classes=list(data.classes), spec=feature_spec)

    def train(self, ctx: StageContext, features: FeatureSet) -> TrainedModel:
        from edgeml_obstacle.training import train_obstacle

        return train_obstacle(ctx, features)

    def evaluate(self, ev) -> dict[str, Any]:
        from edgeml_obstacle.metrics import obstacle_metrics

        threshold = float(ev.trained.info.get("threshold", 0.5))
        out = obstacle_metrics(ev.features.y[ev.split], ev.outputs, threshold)
        out.pop("selection_score", None)
        return out

    def device_code(self, ctx: StageContext, model: CompressedModel, features: FeatureSet) -> DeviceCode:
        """``export/obstacle/``: frame conversion and decision C, run on the target (see edgeml_obstacle.device)."""
        from edgeml_obstacle.device import write_device_code

        return write_device_code(ctx, model, features, APP_DIR)

    def illustrate(self, ctx: StageContext, ev) -> list[str]:
        from edgeml_obstacle.figures import test_frames_figure

        return [test_frames_figure(ctx, ev)]
