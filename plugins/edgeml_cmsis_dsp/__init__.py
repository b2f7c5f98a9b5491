"""CMSIS-DSP's C source as the edgeml C library ``cmsis-dsp`` (from the cmsisdsp sdist on PyPI)."""
