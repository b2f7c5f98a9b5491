"""Hook implementations of the built-in ``tflm`` plugin: the TensorFlow Lite for Microcontrollers backend."""

from __future__ import annotations

import edgeml

from edgeml_tflm.backend import TflmBackend


@edgeml.hookimpl
def edgeml_register_backends() -> list[edgeml.Backend]:
    return [TflmBackend()]
