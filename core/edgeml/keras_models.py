"""Keras helpers every Keras app needs; Keras itself is never imported here.

:func:`keras_macs` counts a model's multiply-accumulates; :func:`save_keras`
writes a byte-stable ``.keras`` file (same weights, same bytes).

A ``.keras`` file is a zip of ``metadata.json`` (which records the save time),
``config.json`` and ``model.weights.h5``. Three things vary from save to save
with identical weights (measured, Keras 3.15): the zip entries' times, the
save date, and config.json's ``shared_object_id`` values, which are Python
``id()``s (memory addresses). They are rewritten: fixed times and date, and
shared object ids renumbered 1, 2, 3... in order of appearance (loading only
needs equal ids to stay equal). The HDF5 weights file was byte-identical
across processes already. Same config + seed -> identical bytes.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
FIXED_SAVE_DATE = "1980-01-01@00:00:00"


def _renumber_shared_ids(node: Any, ids: dict[int, int]) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "shared_object_id" and isinstance(value, int):
                out[key] = ids.setdefault(value, len(ids) + 1)
            else:
                out[key] = _renumber_shared_ids(value, ids)
        return out
    if isinstance(node, list):
        return [_renumber_shared_ids(v, ids) for v in node]
    return node


def save_keras(model: Any, path: Path) -> None:
    """``model.save(path)``, then normalise timestamps and ids in the archive in place.

    Keras is not imported here: ``model`` is any Keras 3 model, saved by its own ``save``."""
    tmp = path.with_name(path.name + ".tmp.keras")
    model.save(tmp)
    with zipfile.ZipFile(tmp) as src, zipfile.ZipFile(path, "w") as dst:
        for name in sorted(src.namelist()):
            data = src.read(name)
            if name == "metadata.json":
                meta = json.loads(data)
                meta["date_saved"] = FIXED_SAVE_DATE
                data = json.dumps(meta, sort_keys=True).encode()
            elif name == "config.json":
                data = json.dumps(_renumber_shared_ids(json.loads(data), {})).encode()
            info = zipfile.ZipInfo(name, date_time=FIXED_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            dst.writestr(info, data)
    tmp.unlink()


def keras_macs(model: Any) -> int:
    """Multiply-accumulates of one inference: Conv2D, DepthwiseConv2D and Dense layers (BN folds away)."""
    macs = 0
    for layer in model.layers:
        kind = type(layer).__name__
        if kind == "DepthwiseConv2D":
            _, h, w, c = layer.output.shape
            kh, kw = layer.kernel_size
            macs += h * w * c * kh * kw
        elif kind == "Conv2D":
            _, h, w, c = layer.output.shape
            kh, kw = layer.kernel_size
            macs += h * w * c * kh * kw * layer.input.shape[-1]
        elif kind == "Dense":
            macs += layer.input.shape[-1] * layer.units
    return int(macs)

