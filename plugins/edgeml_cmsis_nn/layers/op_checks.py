"""Checks shared by the lowerings of the non-convolution ops, each failing with the one-line
IncompatibleError the backend shows users ("op X (layer N): why: use backend=tflm")."""

from __future__ import annotations

import numpy as np

import edgeml
from edgeml_cmsis_nn.graph import Op, Tensor


def refuse(op: Op, why: str) -> edgeml.IncompatibleError:
    """The error for an op variant this backend cannot run bit-exactly with TFLM."""
    return edgeml.IncompatibleError(f"op {op.name} (layer {op.index}): {why}: use backend=tflm")


def require_int8(op: Op, *tensors: Tensor) -> None:
    for t in tensors:
        if np.dtype(t.dtype) != np.int8:
            raise refuse(op, f"tensor '{t.name}' is {np.dtype(t.dtype).name}, this lowering is int8 only")


def per_tensor(op: Op, t: Tensor) -> tuple[float, int]:
    """(scale, zero point) of a per-tensor quantized tensor."""
    if t.scale.size != 1 or t.zero_point.size != 1:
        raise refuse(op, f"tensor '{t.name}' is not quantized per tensor")
    return float(t.scale[0]), int(t.zero_point[0])


def require_constant(op: Op, t: Tensor, what: str) -> np.ndarray:
    if not t.is_constant:
        raise refuse(op, f"the {what} ('{t.name}') is computed at run time, not a constant")
    return np.asarray(t.data)


def c_int_list(values) -> str:
    return ", ".join(str(int(v)) for v in np.asarray(values).reshape(-1))


def padding_and_out_size(padding: int, in_size: int, filter_size: int, stride: int,
                         dilation: int = 1) -> tuple[int, int]:
    """(output size, leading padding) along one axis, as TFLM's ``ComputePaddingHeightWidth``
    (tensorflow/lite/kernels/padding.h) computes them; ``padding`` is the schema's code (0 SAME, 1 VALID).
    The odd extra padding (``offset``) goes at the end, which kernels get for free by clipping windows."""
    eff = (filter_size - 1) * dilation + 1
    if padding == 0:
        out = (in_size + stride - 1) // stride
    elif padding == 1:
        out = (in_size + stride - eff) // stride
    else:
        raise ValueError(f"padding code {padding}")
    total = max((out - 1) * stride + eff - in_size, 0)
    return out, total // 2
