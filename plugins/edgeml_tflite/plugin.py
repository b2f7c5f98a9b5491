"""Hook implementations of the built-in ``tflite`` plugin: the ``tflite-int8`` compressor."""

from __future__ import annotations

import edgeml

from edgeml_tflite.compressor import TfliteInt8Compressor


@edgeml.hookimpl
def edgeml_register_compressors() -> list[edgeml.Compressor]:
    return [TfliteInt8Compressor()]
