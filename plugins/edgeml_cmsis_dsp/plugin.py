"""Registers CMSIS-DSP's C source as the C library ``cmsis-dsp``
(entry point ``cmsis_dsp = "edgeml_cmsis_dsp.plugin"``)."""

from __future__ import annotations

import edgeml
from edgeml_cmsis_dsp.library import CmsisDsp


@edgeml.hookimpl
def edgeml_register_c_libraries():
    return [CmsisDsp()]
