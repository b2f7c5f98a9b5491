"""Hook implementations of the built-in ``tflm`` plugin: the TensorFlow Lite for Microcontrollers backend, and
TFLM's C++ source as the C library ``tflm`` (for programs that build the deliverable into firmware)."""

from __future__ import annotations

import edgeml

from edgeml_tflm.backend import TflmBackend


@edgeml.hookimpl
def edgeml_register_backends() -> list[edgeml.Backend]:
    return [TflmBackend()]


@edgeml.hookimpl
def edgeml_register_c_libraries():
    from edgeml_tflm.library import Tflm

    return [Tflm()]
