"""The exported C post-processing equals the Python int8 post-processing, object for object, bit for bit:
built by the runners for the host (ASan/UBSan) and the Cortex-M4 emulator."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from edgeml_vision.grid import GridGeometry, decode_int8
from edgeml_vision.postprocess_c import (PostprocessSpec, flat_objects, objects_of, postprocess_program,
                                         write_flat_wrapper, write_postprocess_c)

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")
ROOT = Path(__file__).resolve().parents[3]
#: The project's warning flags (the host runner's), for the one direct build below.
C_FLAGS = ("-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-pedantic")


def _grids(n: int, gh: int, gw: int, classes: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    raw = rng.integers(-128, 128, (n, gh, gw, classes)).astype(np.int8)
    hot = rng.random((n, gh, gw)) < 0.25
    k = rng.integers(1, classes, (n, gh, gw))
    for c in range(1, classes):
        raw[..., c][hot & (k == c)] = rng.integers(0, 128, int((hot & (k == c)).sum()))
    raw[0] = 127  # every cell on, equal scores: one object, ties to the first class
    raw[1] = -128  # nothing on
    return raw


@pytest.mark.parametrize("connectivity, centroid, q_threshold, geo, classes", [
    (8, "score", 0, GridGeometry(96, 96, 12, 12), 3),
    (4, "score", 20, GridGeometry(96, 96, 12, 12), 3),
    (8, "cell", -128, GridGeometry(160, 96, 20, 12), 4),  # threshold at the bottom: weights may all be zero
    (4, "score", 128, GridGeometry(48, 48, 6, 6), 2),     # nothing can be on
])
@pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="needs arm-none-eabi-gcc")
def test_c_equals_python(tmp_path, connectivity, centroid, q_threshold, geo, classes):
    from edgeml.testing import stage_context
    from omegaconf import OmegaConf

    spec = PostprocessSpec(geo=geo, classes=["background", *[f"c{i}" for i in range(1, classes)]],
                           q_threshold=q_threshold, zero_point=-128, scale=1 / 256, threshold=0.5,
                           connectivity=connectivity, centroid=centroid)
    raw = _grids(60, geo.grid_h, geo.grid_w, classes, seed=connectivity + classes)
    write_postprocess_c(tmp_path / "vision", spec, prefix="vision")
    write_flat_wrapper(tmp_path / "vision", prefix="vision")
    config = OmegaConf.create({"target": OmegaConf.load(ROOT / "params" / "target" / "cortex-m4.yaml"),
                               "runners": {"use": ["host", "emulator"], "host": {"sanitize": True},
                                           "emulator": {"profile_examples": 1}}})
    ctx = stage_context("export", config, tmp_path / "build")
    runs = ctx.run_program(postprocess_program(spec, "vision", "vision"), raw.reshape(len(raw), -1), root=tmp_path)
    py_objects = decode_int8(raw, geo, q_threshold, -128, connectivity, centroid)
    assert set(runs.runs) == {"host", "emulator"} and not runs.differences
    for name, run in runs.runs.items():
        # Tolerance: none (class, centroid float32, score and cells, every object of every grid).
        assert run.outputs.tobytes() == flat_objects(py_objects, geo.grid_w * geo.grid_h).tobytes(), name
    c_objects = objects_of(runs.device.outputs)
    assert len(c_objects) == len(py_objects) == 60
    for a, b in zip(c_objects, py_objects):
        np.testing.assert_array_equal(a, b)
    found = sum(len(o) for o in py_objects)
    assert (found == 0) if q_threshold == 128 else (found > 60)
    if q_threshold != 128:
        assert len(py_objects[0]) == 1 and py_objects[0][0][4] == geo.grid_w * geo.grid_h


def test_sources_compile_warning_free_and_cap_the_output(tmp_path):
    spec = PostprocessSpec(geo=GridGeometry(96, 96, 12, 12), classes=["background", "person", "vehicle"],
                           q_threshold=0, zero_point=-128, scale=1 / 256, threshold=0.5, connectivity=8,
                           centroid="score")
    names = write_postprocess_c(tmp_path, spec, prefix="vision")
    assert names == ["vision_postprocess.h", "vision_postprocess.c"]
    main = tmp_path / "main.c"
    main.write_text('#include "vision_postprocess.h"\n#include <string.h>\n'
                    "int main(void) {\n  int8_t g[VISION_GRID_W * VISION_GRID_H * VISION_GRID_CLASSES];\n"
                    "  vision_object_t o[2];\n  int i;\n  memset(g, -128, sizeof g);\n"
                    "  for (i = 0; i < 5; ++i) g[(i * 26) * 3 + 1] = 100; /* five apart person cells */\n"
                    "  return vision_postprocess(g, o, 2) == 2 && o[0].cls == 0 && vision_score(o[0].score_q) > 0.8f"
                    " && vision_class_names[1][0] == 'v' ? 0 : 1;\n}\n")
    exe = tmp_path / "main"
    subprocess.run(["gcc", *C_FLAGS, "-o", str(exe), str(main), str(tmp_path / names[1])], check=True)
    assert subprocess.run([str(exe)]).returncode == 0
