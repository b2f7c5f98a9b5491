"""edgeml_imaging: the integer frame rules, and their C twin equal to them bit for bit."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

import edgeml
from edgeml_imaging.frame_c import compile_frame_c, run_frame_binary, write_frame_c
from edgeml_imaging.frames import (FrameSpec, input_table, letterbox_u8, prepare_u8, resize_u8, rgb565_to_gray_u8,
                                   rgb_to_rgb565, to_gray_u8, to_model_float)
from edgeml_imaging.pictures import save_png

QUANT = edgeml.QuantParams(scale=0.003921568859368563, zero_point=-128)
SIZES = [(16, 24), (48, 64), (7, 9), (120, 160), (1, 1), (33, 17)]


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


@pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")
@pytest.mark.parametrize("method", ["bilinear", "nearest", "area"])
@pytest.mark.parametrize("letterbox", [False, True])
def test_c_twin_equals_python_on_random_frames(tmp_path, method, letterbox):
    spec = FrameSpec(24, 20, resize=method, letterbox=letterbox)
    quant = edgeml.QuantParams(scale=0.0041, zero_point=-121)
    exe = compile_frame_c(spec, quant, tmp_path, prefix="cam")
    table = input_table(quant)
    rng = np.random.default_rng([["bilinear", "nearest", "area"].index(method), int(letterbox)])
    for h, w in SIZES:
        gray = rng.integers(0, 256, (4, h, w), dtype=np.uint8)
        assert np.array_equal(run_frame_binary(exe, gray, spec), table[prepare_u8(gray, spec)]), (h, w)
        rgb = rng.integers(0, 256, (3, h, w, 3), dtype=np.uint8)
        packed = rgb_to_rgb565(rgb).astype(np.uint16)
        expect = table[prepare_u8(np.stack([rgb565_to_gray_u8(f) for f in packed]), spec)]
        assert np.array_equal(run_frame_binary(exe, packed, spec), expect), ("rgb565", h, w)


def test_frame_c_files_are_deterministic(tmp_path):
    spec = FrameSpec(16, 16)
    a = write_frame_c(tmp_path / "a", spec, QUANT)
    b = write_frame_c(tmp_path / "b", spec, QUANT)
    assert a == b == ["edgeml_frame.h", "edgeml_frame.c"]
    for name in a:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert "void edgeml_frame_gray8_to_input(const uint8_t *src, int src_w, int src_h, int8_t *dst);" in \
        (tmp_path / "a" / a[0]).read_text()


def test_save_png_is_byte_stable(tmp_path):
    rng = np.random.default_rng(1)
    frames = rng.integers(0, 256, (3, 16, 16), dtype=np.uint8)

    def mark(ax, i):
        ax.axvline(4 + i, color="red")

    save_png(tmp_path / "a.png", frames, [mark], titles=["a", "b", "c"])
    save_png(tmp_path / "b.png", frames, [mark], titles=["a", "b", "c"])
    data = (tmp_path / "a.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data == (tmp_path / "b.png").read_bytes()
