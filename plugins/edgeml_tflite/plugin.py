"""Hook implementations of the built-in ``tflite`` plugin: the ``tflite-int8`` compressor."""

from __future__ import annotations

import os

import edgeml

from edgeml_tflite.compressor import TfliteInt8Compressor


# TensorFlow's C++ logging (oneDNN, CUDA probes, converter chatter) drowns the
# progress display; set TF_CPP_MIN_LOG_LEVEL yourself to see it.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@edgeml.hookimpl
def edgeml_register_compressors() -> list[edgeml.Compressor]:
    return [TfliteInt8Compressor()]
