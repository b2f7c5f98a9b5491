"""The vision app built end to end (tiny): report metrics per level, the picture, and the device C.

The exported C frame preprocessing equals the Python preprocessing on every
test frame (the build checks the camera's RGB888 frames with every runner;
the RGB565 path is checked here), and the exported C post-processing finds
the same objects as the Python post-processing on the whole test split, from
the int8 grids; their emulated cycles are the app code's latency. On the 20 KB cortex-m4 the 96x96 input does not
fit and the build stops with core's budget message.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from edgeml import BudgetError
from edgeml.artifacts import CompressedModel, FeatureSet, TrainedModel
from edgeml.testing import build
from edgeml_imaging.frame_c import frame_source
from edgeml_imaging.frame_program import frame_program, write_camera_wrapper
from edgeml_imaging.frames import FrameSpec, prepare_u8, rgb565_to_gray_u8, rgb_to_rgb565
from edgeml_vision.app import postprocess_spec, detection_setup
from edgeml_vision.frames_store import RawFrames
from edgeml_vision.grid import decode, decode_int8, int8_threshold
from edgeml_vision.postprocess_c import source as postprocess_source

from vision_tiny import ROOT, TINY_VISION_OVERRIDES

pytestmark = [pytest.mark.slow, pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")]

LEVEL_KEYS = {"f1", "precision", "recall", "count_mae", "per_class"}


@pytest.fixture(scope="module")
def tiny_build(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("vision") / "b"
    _, report = build(["app=vision", "target=cortex-m7", f"build_dir={d}", *TINY_VISION_OVERRIDES])
    assert report is not None
    return d


def test_report_carries_detection_metrics_per_level_and_the_picture(tiny_build):
    report = json.loads((tiny_build / "report.json").read_text())
    assert report["fits"] and report["passed"], report["checks"]
    assert report["task"] == "detection" and report["primary_metric"] == "f1"
    metrics = report["metrics"]
    assert metrics["primary"] == "f1"
    for level in ("float", "int8", "device"):
        assert LEVEL_KEYS <= set(metrics[level]), level
        assert set(metrics[level]["per_class"]) == {"person", "vehicle"}
        assert {"precision", "recall", "f1"} <= set(metrics[level]["per_class"]["person"])
    assert metrics["int8"] == metrics["device"]  # bit-exact device: the same objects
    assert report["parity"]["bit_exact"] and report["parity"]["compared"] == 16
    assert report["figures"] == ["validate/detections.png"]
    assert (tiny_build / "validate" / "detections.png").read_bytes()[:4] == b"\x89PNG"
    deliverable = json.loads((tiny_build / "export" / "deliverable.json").read_text())
    assert {"vision/vision_frame.c", "vision/vision_frame.h", "vision/vision_frame_camera.c",
            "vision/vision_postprocess.c", "vision/vision_postprocess.h", "vision/vision_postprocess_flat.c",
            "vision/device_parity.json"} <= set(deliverable["files"])
    app_code = report["memory"]["parts"]["app_code"]
    assert app_code["flash_bytes"]["value"] > 0 and app_code["ram_bytes"]["value"] > 0
    assert "linked image export/firmware/frame/emulator/frame.elf" in app_code["flash_bytes"]["method"]
    assert report["memory"]["flash_bytes"] == \
        report["memory"]["parts"]["model"]["flash_bytes"] + app_code["flash_bytes"]["value"]
    assert app_code["macs"] == 160 * 120 + 48 * 48 + 6 * 6 * 3
    # The app code's latency is the emulated frame conversion + post-processing, not the MAC estimate.
    part = report["latency"]["parts"]["app_code"]
    programs = app_code["info"]["programs"]
    cycles = [programs[k]["runs"]["emulator"]["cycles"]["value"] for k in ("frame", "postprocess")]
    assert part["measured"] and part["cycles"] == pytest.approx(sum(cycles)) and min(cycles) > 0
    assert app_code["info"]["camera"] == {**app_code["info"]["camera"], "width": 160, "height": 120,
                                          "format": "rgb888"}


def test_exported_frame_c_equals_python_preprocessing_on_every_test_frame(tiny_build, tmp_path):
    """The build ran the camera's RGB888 frames through host and emulator; the RGB565 path of the same
    C on the same frames, through the runners (host with ASan/UBSan, Cortex-M7 emulator)."""
    from edgeml.testing import stage_context
    from omegaconf import OmegaConf

    features = FeatureSet.load(tiny_build / "preprocess")
    model = CompressedModel.load(tiny_build / "compress")
    frame = {k: features.spec["frame"][k] for k in ("width", "height", "channels", "resize", "letterbox")}
    spec = FrameSpec(**frame)
    export = tiny_build / "export" / "vision"
    assert (export / "vision_frame.c").read_text() == frame_source(spec, model.input_quant, prefix="vision")
    parity = json.loads((export / "device_parity.json").read_text())
    assert parity["bit_exact"] and parity["frame"]["frames"] == 16
    assert parity["frame"]["camera"] == {"width": 160, "height": 120, "format": "rgb888"}
    assert {k: r["bit_exact"] for k, r in parity["frame"]["runners"].items()} == {"host": True, "emulator": True}

    frames = RawFrames.load(tiny_build / "sense").frames("test")
    rgb565 = np.stack([rgb_to_rgb565(f) for f in frames]).astype(np.uint16)
    python_565 = model.input_quant.quantize(
        prepare_u8(np.stack([rgb565_to_gray_u8(f) for f in rgb565]), spec)[..., None] / np.float32(255))[..., 0]
    d = tmp_path / "vision"
    d.mkdir()
    (d / "vision_frame.c").write_text((export / "vision_frame.c").read_text())
    (d / "vision_frame.h").write_text((export / "vision_frame.h").read_text())
    write_camera_wrapper(d, "vision", 160, 120, "rgb565")
    config = OmegaConf.create({"target": OmegaConf.load(ROOT / "params" / "target" / "cortex-m7.yaml"),
                               "runners": {"use": ["host", "emulator"], "host": {"sanitize": True},
                                           "emulator": {"profile_examples": 1}}})
    ctx = stage_context("export", config, tmp_path / "build")
    runs = ctx.run_program(frame_program("vision", "vision", spec, 160, 120, "rgb565"),
                           rgb565.view(np.int16).reshape(len(rgb565), -1), root=tmp_path)
    assert set(runs.runs) == {"host", "emulator"}
    for name, run in runs.runs.items():
        assert run.outputs.tobytes() == python_565.tobytes(), name


def test_exported_postprocessing_finds_the_python_objects_on_the_whole_test_split(tiny_build):
    features = FeatureSet.load(tiny_build / "preprocess")
    model = CompressedModel.load(tiny_build / "compress")
    trained = TrainedModel.load(tiny_build / "train")
    spec = postprocess_spec(trained, model, features)
    assert (tiny_build / "export" / "vision" / "vision_postprocess.c").read_text() == \
        postprocess_source(spec, "vision")
    parity = json.loads((tiny_build / "export" / "vision" / "device_parity.json").read_text())["postprocess"]
    assert parity["grids"] == 16 and set(parity["runners"]) == {"host", "emulator"}
    assert all(r["bit_exact"] for r in parity["runners"].values())
    assert parity["versus_evaluate"]["grids_with_the_same_objects"] == 16
    # The int8 twin the C equals finds what App.evaluate scores on the device's grids.
    raw = np.load(tiny_build / "validate" / "device_outputs.npy")
    geo, settings, _ = detection_setup(trained)
    q_thr = int8_threshold(settings.threshold, model.dequantize)
    exact = decode_int8(raw, geo, q_thr, int(model.output_quant.zero_point), settings.connectivity,
                        settings.centroid)
    evaluated = decode(model.dequantize(raw), geo, settings)
    assert len(exact) == len(raw) == 16
    for e, v in zip(exact, evaluated):
        np.testing.assert_array_equal(e[:, [0, 4]], v[:, [0, 4]])
        np.testing.assert_allclose(e[:, 1:3], v[:, 1:3], atol=1e-3)


def test_cortex_m4_refuses_the_96x96_input_with_the_fit_message_and_takes_a_48x48_one(tmp_path):
    overrides = [o for o in TINY_VISION_OVERRIDES if "preprocess" not in o]
    with pytest.raises(BudgetError, match=r"RAM: model needs [\d.]+ KB, cortex-m4 allows 16.0 KB"):
        build(["app=vision", "target=cortex-m4", f"build_dir={tmp_path / 'm4'}", *overrides])
    report = json.loads((tmp_path / "m4" / "report.json").read_text())
    assert not report["fits"] and report["memory"]["ram_bytes"] > report["memory"]["ram_budget_bytes"]
    # The user's smaller input (48x48, the tiny network) fits the same part.
    _, report = build(["app=vision", "target=cortex-m4", f"build_dir={tmp_path / 'm4-48'}", *TINY_VISION_OVERRIDES])
    assert report["fits"] and report["memory"]["ram_bytes"] <= report["memory"]["ram_budget_bytes"]


def test_a_yolo_layout_folder_builds_through_the_cli(tmp_path):
    """`edgeml run app=vision app.data_dir=YOLO_FOLDER`: data.yaml's names become the classes, the build verifies."""
    import subprocess
    import sys

    from vision_tiny import yolo_folder

    root = yolo_folder(tmp_path / "ds", names=("person", "car"), per_split=8)
    cmd = [sys.executable, "-m", "edgeml.cli", "run", "app=vision", "target=cortex-m7", f"app.data_dir={root}",
           f"build_dir={tmp_path / 'b'}", "tracking.enabled=false", "--no-progress", *TINY_VISION_OVERRIDES]
    result = subprocess.run(cmd, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads((tmp_path / "b" / "report.json").read_text())
    assert report["passed"] and report["classes"] == ["background", "person", "car"]
    assert set(report["metrics"]["device"]["per_class"]) == {"person", "car"}
    assert report["parity"]["bit_exact"] and report["parity"]["compared"] == 8
