"""Camera frames to model inputs in integer arithmetic that a C twin reproduces bit for bit.

Every function here takes and returns ``uint8`` images and uses only integer
operations, so :mod:`edgeml_imaging.frame_c` can emit C that equals it on
every pixel. The rules, exactly (``sw, sh`` source size, ``dw, dh`` output
size, ``//`` floor division, all sums in 64-bit):

* gray from RGB: ``(77*R + 150*G + 29*B + 128) >> 8`` (weights sum to 256,
  ITU-R BT.601 luma rounded to 1/256).
* RGB565 channels widen by bit replication: ``r8 = (r5 << 3) | (r5 >> 2)``,
  ``g8 = (g6 << 2) | (g6 >> 4)``, ``b8 = (b5 << 3) | (b5 >> 2)``; then gray as above.
* ``nearest``: output pixel ``x`` takes source column ``((2x+1)*sw) // (2*dw)``
  (the pixel under the output pixel's centre), rows the same way.
* ``bilinear``: half-pixel centres in 16.16 fixed point,
  ``s = (((2x+1)*sw) << 16) // (2*dw) - 32768`` clamped to ``[0, (sw-1) << 16]``;
  ``x0 = s >> 16``, ``x1 = min(x0+1, sw-1)``, weight ``wx = (s & 0xFFFF) >> 8``
  (1/256 steps); rows the same; then
  ``(p00*(256-wx)*(256-wy) + p01*wx*(256-wy) + p10*(256-wx)*wy + p11*wx*wy + 32768) >> 16``.
* ``area``: output pixel ``x`` averages source columns ``[x*sw // dw, (x+1)*sw // dw)``
  (at least one column), rows the same; ``(sum + count // 2) // count``.
* letterbox: the image keeps its aspect ratio: if ``sw*dh <= sh*dw`` the
  content is ``dh`` high and ``max(1, (sw*dh + sh//2) // sh)`` wide, else
  ``dw`` wide and ``max(1, (sh*dw + sw//2) // sw)`` high; it is resized as
  above and placed at ``((dw - cw) // 2, (dh - ch) // 2)`` on a ``fill`` background.

The model sees ``pixel / 255`` as float32 in [0, 1]; on the device one
256-entry int8 table (:func:`input_table`) maps a pixel straight to the
quantized input, which equals quantizing ``pixel / 255`` by construction.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

RESIZE_METHODS = ("bilinear", "nearest", "area")
GRAY_WEIGHTS = (77, 150, 29)


@dataclass
class FrameSpec:
    """The model's input frame: size, channels (1: grayscale), resize method, letterbox or stretch."""

    width: int
    height: int
    channels: int = 1
    resize: str = "bilinear"
    letterbox: bool = False

    def __post_init__(self) -> None:
        if self.resize not in RESIZE_METHODS:
            raise ValueError(f"resize '{self.resize}' is not one of {', '.join(RESIZE_METHODS)}")
        if int(self.width) < 1 or int(self.height) < 1:
            raise ValueError(f"frame size {self.width}x{self.height} must be at least 1x1")
        if int(self.channels) != 1:
            raise ValueError(f"channels={self.channels}: only grayscale (1) model inputs are supported")
        self.width, self.height, self.channels = int(self.width), int(self.height), int(self.channels)
        self.letterbox = bool(self.letterbox)

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["rules"] = {
            "gray": "(77*R + 150*G + 29*B + 128) >> 8",
            "rgb565": "bit replication to 8 bits per channel, then gray",
            "resize": _RULES[self.resize],
            "letterbox": "aspect kept, centred, fill 0" if self.letterbox else "stretched to width x height",
            "model_input": "pixel / 255 as float32; on the device a 256-entry int8 table",
        }
        return d

    def dumps(self) -> str:
        return json.dumps(self.to_json(), sort_keys=True)


_RULES = {
    "nearest": "source index ((2x+1)*sw) // (2*dw)",
    "bilinear": "16.16 half-pixel centres, weights in 1/256, (sum + 32768) >> 16",
    "area": "mean of source [x*sw//dw, (x+1)*sw//dw), (sum + n//2) // n",
}


def to_gray_u8(img: np.ndarray) -> np.ndarray:
    """uint8 HxW (returned as is) or HxWx3 RGB to uint8 HxW gray with integer weights."""
    a = np.asarray(img)
    if a.dtype != np.uint8:
        raise ValueError(f"to_gray_u8 takes uint8 images, got {a.dtype}")
    if a.ndim == 2:
        return a
    if a.ndim == 3 and a.shape[2] == 1:
        return a[:, :, 0]
    if a.ndim == 3 and a.shape[2] in (3, 4):
        c = a[:, :, :3].astype(np.int32)
        wr, wg, wb = GRAY_WEIGHTS
        return ((wr * c[:, :, 0] + wg * c[:, :, 1] + wb * c[:, :, 2] + 128) >> 8).astype(np.uint8)
    raise ValueError(f"to_gray_u8 takes HxW or HxWx3 images, got shape {a.shape}")


def rgb565_to_gray_u8(buf: np.ndarray) -> np.ndarray:
    """uint16 HxW RGB565 (red in the top 5 bits) to uint8 HxW gray."""
    v = np.asarray(buf)
    if v.dtype != np.uint16 or v.ndim != 2:
        raise ValueError(f"rgb565_to_gray_u8 takes a uint16 HxW array, got {v.dtype} {v.shape}")
    v = v.astype(np.int32)
    r5, g6, b5 = (v >> 11) & 31, (v >> 5) & 63, v & 31
    rgb = np.stack([(r5 << 3) | (r5 >> 2), (g6 << 2) | (g6 >> 4), (b5 << 3) | (b5 >> 2)], axis=-1)
    return to_gray_u8(rgb.astype(np.uint8))


def rgb_to_rgb565(img: np.ndarray) -> np.ndarray:
    """uint8 HxWx3 to uint16 RGB565 by truncation (what a camera's RGB565 mode holds)."""
    c = np.asarray(img).astype(np.uint16)
    return ((c[..., 0] >> 3) << 11) | ((c[..., 1] >> 2) << 5) | (c[..., 2] >> 3)


def _nearest_index(dst: int, src: int) -> np.ndarray:
    x = np.arange(dst, dtype=np.int64)
    return np.minimum(((2 * x + 1) * src) // (2 * dst), src - 1)


def _bilinear_taps(dst: int, src: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = np.arange(dst, dtype=np.int64)
    s = (((2 * x + 1) * src) << 16) // (2 * dst) - 32768
    s = np.clip(s, 0, (src - 1) << 16)
    i0 = s >> 16
    i1 = np.minimum(i0 + 1, src - 1)
    w = (s & 0xFFFF) >> 8
    return i0, i1, w


def _area_bounds(dst: int, src: int) -> tuple[np.ndarray, np.ndarray]:
    x = np.arange(dst, dtype=np.int64)
    lo = (x * src) // dst
    hi = np.maximum(((x + 1) * src) // dst, lo + 1)
    return lo, np.minimum(hi, src)


def resize_u8(gray: np.ndarray, width: int, height: int, method: str = "bilinear") -> np.ndarray:
    """Resize a uint8 HxW image (or a stack NxHxW) to ``height x width`` with the integer rules above."""
    g = np.asarray(gray)
    if g.dtype != np.uint8 or g.ndim not in (2, 3):
        raise ValueError(f"resize_u8 takes uint8 HxW or NxHxW images, got {g.dtype} {g.shape}")
    if method not in RESIZE_METHODS:
        raise ValueError(f"resize method '{method}' is not one of {', '.join(RESIZE_METHODS)}")
    width, height = int(width), int(height)
    sh, sw = g.shape[-2:]
    if (sh, sw) == (height, width):
        return g.copy()
    if method == "nearest":
        return g[..., _nearest_index(height, sh)[:, None], _nearest_index(width, sw)[None, :]]
    if method == "bilinear":
        y0, y1, wy = _bilinear_taps(height, sh)
        x0, x1, wx = _bilinear_taps(width, sw)
        p = g.astype(np.int64)
        wy, wx = wy[:, None], wx[None, :]
        acc = (p[..., y0[:, None], x0[None, :]] * ((256 - wx) * (256 - wy))
               + p[..., y0[:, None], x1[None, :]] * (wx * (256 - wy))
               + p[..., y1[:, None], x0[None, :]] * ((256 - wx) * wy)
               + p[..., y1[:, None], x1[None, :]] * (wx * wy))
        return ((acc + 32768) >> 16).astype(np.uint8)
    # area: box sums through a 2-D cumulative sum (exact integers)
    ylo, yhi = _area_bounds(height, sh)
    xlo, xhi = _area_bounds(width, sw)
    c = np.zeros(g.shape[:-2] + (sh + 1, sw + 1), dtype=np.int64)
    c[..., 1:, 1:] = g.astype(np.int64).cumsum(-2).cumsum(-1)
    total = (c[..., yhi[:, None], xhi[None, :]] - c[..., ylo[:, None], xhi[None, :]]
             - c[..., yhi[:, None], xlo[None, :]] + c[..., ylo[:, None], xlo[None, :]])
    count = (yhi - ylo)[:, None] * (xhi - xlo)[None, :]
    return ((total + count // 2) // count).astype(np.uint8)


def letterbox_geometry(src_w: int, src_h: int, width: int, height: int) -> tuple[int, int, int, int]:
    """Content width, height and the x, y offset of a letterboxed ``src_w x src_h`` image."""
    if src_w * height <= src_h * width:
        ch, cw = height, max(1, (src_w * height + src_h // 2) // src_h)
    else:
        cw, ch = width, max(1, (src_h * width + src_w // 2) // src_w)
    cw, ch = min(cw, width), min(ch, height)
    return cw, ch, (width - cw) // 2, (height - ch) // 2


def letterbox_u8(gray: np.ndarray, width: int, height: int, fill: int = 0,
                 method: str = "bilinear") -> tuple[np.ndarray, tuple[float, int, int]]:
    """Resize keeping the aspect ratio, centred on a ``fill`` background.

    Returns the frame and ``(scale, pad_x, pad_y)``: a source point ``(u, v)``
    lands at ``(u * scale + pad_x, v * scale + pad_y)``.
    """
    g = np.asarray(gray)
    sh, sw = g.shape[-2:]
    cw, ch, px, py = letterbox_geometry(sw, sh, int(width), int(height))
    out = np.full(g.shape[:-2] + (int(height), int(width)), int(fill), dtype=np.uint8)
    out[..., py:py + ch, px:px + cw] = resize_u8(g, cw, ch, method)
    return out, (cw / sw, px, py)


def prepare_u8(gray: np.ndarray, spec: FrameSpec) -> np.ndarray:
    """A gray frame (or stack) resized or letterboxed to ``spec`` -- what the C twin computes before its table."""
    if spec.letterbox:
        return letterbox_u8(gray, spec.width, spec.height, 0, spec.resize)[0]
    return resize_u8(gray, spec.width, spec.height, spec.resize)


def input_table(input_quant: Any) -> np.ndarray:
    """int8 model input for every pixel value 0..255: ``input_quant.quantize(pixel / 255)``."""
    return np.asarray(input_quant.quantize(np.arange(256, dtype=np.float32) / np.float32(255.0)), dtype=np.int8)


def to_model_float(frames_u8: np.ndarray) -> np.ndarray:
    """uint8 frames to the float32 ``pixel / 255`` the model is trained on (a trailing channel axis added)."""
    return (np.asarray(frames_u8, dtype=np.float32) / np.float32(255.0))[..., None]
