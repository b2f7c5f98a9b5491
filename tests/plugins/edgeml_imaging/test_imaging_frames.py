"""edgeml_imaging: the integer frame rules, and their C twin equal to them bit for bit."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

import edgeml
from edgeml_imaging.frame_c import write_frame_c
from edgeml_imaging.frames import (FrameSpec, input_table, letterbox_u8, prepare_u8, resize_u8, rgb565_to_gray_u8,
                                   rgb_to_rgb565, to_gray_u8, to_model_float)
from edgeml_imaging.pictures import save_png

QUANT = edgeml.QuantParams(scale=0.003921568859368563, zero_point=-128)
SIZES = [(16, 24), (48, 64), (7, 9), (120, 160), (1, 1), (33, 17)]
ROOT = Path(__file__).resolve().parents[3]


def test_gray_weights_and_rgb565_bit_replication():
    rgb = np.array([[[255, 255, 255], [0, 0, 0], [255, 0, 0], [10, 200, 30]]], np.uint8)
    gray = to_gray_u8(rgb)
    assert gray.tolist() == [[255, 0, (77 * 255 + 128) >> 8, (77 * 10 + 150 * 200 + 29 * 30 + 128) >> 8]]
    assert to_gray_u8(gray) is gray
    full = np.array([[0xFFFF, 0x0000, 0xF800, 0x07E0]], np.uint16)
    assert rgb565_to_gray_u8(full).tolist() == [[255, 0, (77 * 255 + 128) >> 8, (150 * 255 + 128) >> 8]]
    # 5-bit 16 widens to (16 << 3) | (16 >> 2) = 132
    assert rgb565_to_gray_u8(np.array([[16 << 11 | 32 << 5 | 16]], np.uint16)).tolist() == \
        [[(77 * 132 + 150 * 130 + 29 * 132 + 128) >> 8]]


def test_resize_is_close_to_float_bilinear_and_exact_on_identity():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (30, 40), dtype=np.uint8)
    assert np.array_equal(resize_u8(img, 40, 30), img)
    # a smooth ramp: the fixed-point bilinear is within one level of the float one
    ramp = np.add.outer(np.arange(48) * 2, np.arange(64) * 3).clip(0, 255).astype(np.uint8)
    out = resize_u8(ramp, 32, 24)
    xs = np.clip((np.arange(32) + 0.5) * 2 - 0.5, 0, 63)
    ys = np.clip((np.arange(24) + 0.5) * 2 - 0.5, 0, 47)
    expect = np.clip(np.add.outer(ys * 2, xs * 3), 0, 255)
    assert np.abs(out.astype(float) - expect).max() <= 1.0
    # area of an exact 2x2 box is the rounded mean
    box = resize_u8(np.array([[0, 1], [1, 1]], np.uint8), 1, 1, "area")
    assert box.tolist() == [[1]]
    assert resize_u8(img, 10, 5, "nearest").tolist() == img[[3, 9, 15, 21, 27]][:, [2, 6, 10, 14, 18, 22, 26, 30, 34, 38]].tolist()


def test_letterbox_keeps_aspect_and_reports_geometry():
    img = np.full((30, 60), 200, np.uint8)
    frame, (scale, px, py) = letterbox_u8(img, 32, 32, fill=7)
    assert (scale, px, py) == (32 / 60, 0, 8)
    assert (frame[:8] == 7).all() and (frame[24:] == 7).all() and (frame[8:24] == 200).all()


def test_input_table_is_quantized_pixel_over_255():
    table = input_table(QUANT)
    assert table.dtype == np.int8 and table.shape == (256,)
    px = np.arange(256, dtype=np.uint8)
    assert np.array_equal(table, QUANT.quantize(to_model_float(px)[:, 0]))
    assert table[0] == -128 and table[255] == 127


def test_frame_spec_json_and_refusals():
    spec = FrameSpec(64, 48, resize="area", letterbox=True)
    assert spec.to_json()["width"] == 64 and spec.to_json()["letterbox"] is True
    with pytest.raises(ValueError, match="resize"):
        FrameSpec(8, 8, resize="cubic")
    with pytest.raises(ValueError, match="channels"):
        FrameSpec(8, 8, channels=3)


SPECS = [FrameSpec(24, 20, resize=m, letterbox=lb) for m in ("bilinear", "nearest", "area") for lb in (False, True)]
KINDS = ("gray8", "rgb565", "rgb888")

#: A test entry point for every spec and pixel format at once: the camera size rides in the input.
#: input (int16 words): spec index, kind (0 gray8, 1 rgb565, 2 rgb888), width, height, then the pixels.
_ANY_SIZE = """#include <stdint.h>
{includes}
int frames_any_size(const int16_t *in, int8_t *out);

int frames_any_size(const int16_t *in, int8_t *out)
{{
    const int16_t *px = in + 4;
    int w = in[2], h = in[3];
    switch (in[0] * 3 + in[1]) {{
{cases}
    default: return 1;
    }}
    return 0;
}}
"""


def _any_size_program(root, quant) -> edgeml.Program:
    d = root / "frames"
    sources, includes, cases = [], [], []
    for i, spec in enumerate(SPECS):
        _, c = write_frame_c(d, spec, quant, prefix=f"cam{i}")
        sources.append(f"frames/{c}")
        includes.append(f'#include "cam{i}_frame.h"')
        for k, (kind, cast) in enumerate(zip(KINDS, ("const uint8_t", "const uint16_t", "const uint8_t"))):
            cases.append(f"    case {3 * i + k}: cam{i}_frame_{kind}_to_input(({cast} *)px, w, h, out); break;")
    (d / "any_size.c").write_text(_ANY_SIZE.format(includes="\n".join(includes), cases="\n".join(cases)))
    biggest = max(h * w for h, w in SIZES) * 3
    return edgeml.Program(name="frames", entry_point="frames_any_size", sources=[*sources, "frames/any_size.c"],
                          include_dirs=["frames"], input_dtype="int16", input_shape=(4 + (biggest + 1) // 2,),
                          output_dtype="int8", output_shape=(20, 24))


@pytest.mark.skipif(shutil.which("gcc") is None or shutil.which("arm-none-eabi-gcc") is None,
                    reason="needs gcc and arm-none-eabi-gcc")
def test_c_twin_equals_python_on_random_frames_on_host_and_target(tmp_path):
    """Every resize rule, letterboxed or not, gray8 / RGB565 / RGB888 frames of odd sizes: host gcc with
    ASan/UBSan and the Cortex-M4 image in the emulator equal Python bit for bit."""
    from edgeml.testing import stage_context
    from omegaconf import OmegaConf

    quant = edgeml.QuantParams(scale=0.0041, zero_point=-121)
    table = input_table(quant)
    program = _any_size_program(tmp_path, quant)
    rng = np.random.default_rng(7)
    inputs, expected = [], []
    for i, spec in enumerate(SPECS):
        for h, w in SIZES:
            for k, kind in enumerate(KINDS):
                rgb = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
                if kind == "gray8":
                    pixels, gray = rgb[..., 0], rgb[..., 0]
                elif kind == "rgb565":
                    pixels = rgb_to_rgb565(rgb).astype(np.uint16)
                    gray = rgb565_to_gray_u8(pixels)
                else:
                    pixels, gray = rgb, to_gray_u8(rgb)
                row = np.zeros(program.input_size, np.int16)
                row[:4] = (i, k, w, h)
                raw = np.ascontiguousarray(pixels).view(np.uint8).reshape(-1)
                row.view(np.uint8)[8:8 + raw.size] = raw
                inputs.append(row)
                expected.append(table[prepare_u8(gray, spec)])
    config = OmegaConf.create({"target": OmegaConf.load(ROOT / "params" / "target" / "cortex-m4.yaml"),
                               "runners": {"use": ["host", "emulator"], "host": {"sanitize": True},
                                           "emulator": {"profile_examples": 1}}})
    ctx = stage_context("export", config, tmp_path / "build")
    runs = ctx.run_program(program, np.stack(inputs), root=tmp_path)
    assert set(runs.runs) == {"host", "emulator"} and not runs.differences
    want = np.stack(expected).reshape(len(expected), -1)
    for name, run in runs.runs.items():
        bad = np.flatnonzero(np.any(run.outputs != want, axis=1))
        assert not len(bad), (name, [(SPECS[j // 18], SIZES[j % 18 // 3], KINDS[j % 3]) for j in bad[:3]])


def test_frame_c_files_are_deterministic(tmp_path):
    spec = FrameSpec(16, 16)
    a = write_frame_c(tmp_path / "a", spec, QUANT)
    b = write_frame_c(tmp_path / "b", spec, QUANT)
    assert a == b == ["edgeml_frame.h", "edgeml_frame.c"]
    for name in a:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    header = (tmp_path / "a" / a[0]).read_text()
    assert "void edgeml_frame_gray8_to_input(const uint8_t *src, int src_w, int src_h, int8_t *dst);" in header
    assert "void edgeml_frame_rgb888_to_input(const uint8_t *src, int src_w, int src_h, int8_t *dst);" in header


def test_save_png_is_byte_stable(tmp_path):
    rng = np.random.default_rng(1)
    frames = rng.integers(0, 256, (3, 16, 16), dtype=np.uint8)

    def mark(ax, i):
        ax.axvline(4 + i, color="red")

    save_png(tmp_path / "a.png", frames, [mark], titles=["a", "b", "c"])
    save_png(tmp_path / "b.png", frames, [mark], titles=["a", "b", "c"])
    data = (tmp_path / "a.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data == (tmp_path / "b.png").read_bytes()
