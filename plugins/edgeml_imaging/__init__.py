"""edgeml_imaging: camera frames to model inputs, shared by the vision apps (no plugin registration).

* :mod:`edgeml_imaging.frames`: gray conversion, RGB565, integer resize and
  letterbox, the pixel -> int8 input table, :class:`~edgeml_imaging.frames.FrameSpec`.
* :mod:`edgeml_imaging.frame_c`: the same as C99 for the device (gray8, RGB565, RGB888 in).
* :mod:`edgeml_imaging.frame_program`: that C for one camera as an :class:`edgeml.Program`, run by the
  runners (host, emulator) and compared with Python bit for bit.
* :mod:`edgeml_imaging.device_figures`: flash, RAM, cycles of several device programs together.
* :mod:`edgeml_imaging.pictures`: deterministic PNG figures.

numpy only at import; matplotlib loads inside :func:`edgeml_imaging.pictures.save_png`.
"""

from edgeml_imaging.frames import (FrameSpec, input_table, letterbox_u8, prepare_u8, resize_u8,  # noqa: F401
                                   rgb565_to_gray_u8, to_gray_u8)
