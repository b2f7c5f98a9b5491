"""The preprocess stage: camera frames to model inputs, object boxes to input-pixel centroids.

A frame becomes 8-bit gray with integer weights, is resized (or
letterboxed) to the model's size with the integer rules of
:mod:`edgeml_imaging.frames`, and the model sees ``pixel / 255``. The device
does the same in C (:mod:`edgeml_imaging.frame_c`, written by export), with
one 256-entry table from pixel to int8 input. Ground truth is each object's
centre mapped the same way, in input pixels: ``y`` is float32 (n, k, 3)
``class, cx, cy`` with class -1 as padding.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from edgeml import ConfigError
from edgeml_imaging.frames import RESIZE_METHODS, FrameSpec, letterbox_geometry, prepare_u8, to_gray_u8
from edgeml_vision.frames_store import SPLITS, RawFrames


def frame_spec(pre: Any) -> FrameSpec:
    """``app.preprocess`` as a :class:`FrameSpec`, or a ConfigError naming the bad key."""
    if str(pre.resize) not in RESIZE_METHODS:
        raise ConfigError(f"app.preprocess.resize={pre.resize} is not one of {', '.join(RESIZE_METHODS)}")
    if int(pre.channels) != 1:
        raise ConfigError(f"app.preprocess.channels={pre.channels}: the vision app takes grayscale frames (1); "
                          "colour is converted with integer weights on the device")
    if int(pre.width) < 8 or int(pre.height) < 8:
        raise ConfigError(f"app.preprocess size {pre.width}x{pre.height} is too small: at least 8x8")
    return FrameSpec(width=int(pre.width), height=int(pre.height), channels=1, resize=str(pre.resize),
                     letterbox=bool(pre.letterbox))


def gray_inputs(frames: list[np.ndarray], spec: FrameSpec) -> np.ndarray:
    """uint8 (n, height, width): each frame to gray, then resized or letterboxed (frames of one size at once)."""
    out = np.zeros((len(frames), spec.height, spec.width), np.uint8)
    by_shape: dict[tuple[int, ...], list[int]] = {}
    for i, f in enumerate(frames):
        by_shape.setdefault(tuple(f.shape), []).append(i)
    for idx in by_shape.values():
        gray = np.stack([to_gray_u8(frames[i]) for i in idx])
        out[idx] = prepare_u8(gray, spec)
    return out


def centroids(objects: np.ndarray, shapes: np.ndarray, spec: FrameSpec) -> np.ndarray:
    """Normalised boxes (n, k, 5) of frames with ``shapes`` (n, 3) to input-pixel centroids (n, k, 3)."""
    y = np.zeros((len(objects), objects.shape[1], 3), np.float32)
    y[:, :, 0] = objects[:, :, 0]
    for i, (h, w, _) in enumerate(shapes):
        if spec.letterbox:
            cw, ch, px, py = letterbox_geometry(int(w), int(h), spec.width, spec.height)
        else:
            cw, ch, px, py = spec.width, spec.height, 0, 0
        y[i, :, 1] = objects[i, :, 1] * cw + px
        y[i, :, 2] = objects[i, :, 2] * ch + py
    y[y[:, :, 0] < 0] = (-1, 0, 0)
    return y


def build_features(data: RawFrames, spec: FrameSpec) -> tuple[dict, dict, dict]:
    """``x`` float32 (n, h, w, 1) = pixel / 255, ``y`` centroids, and the gray uint8 inputs, per split."""
    x, y, gray = {}, {}, {}
    for split in SPLITS:
        gray[split] = gray_inputs(data.frames(split), spec)
        x[split] = (gray[split].astype(np.float32) / np.float32(255.0))[..., None]
        y[split] = centroids(data.objects[split], data.shapes[split], spec)
    return x, y, gray
