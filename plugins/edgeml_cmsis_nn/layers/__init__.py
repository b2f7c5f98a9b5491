"""Which lowering turns each TFLite builtin op into C. An op missing here is refused at export, by name."""

from __future__ import annotations

from typing import Callable

from edgeml_cmsis_nn.layers.base import Layer, Lowering
from edgeml_cmsis_nn.layers.convolution import lower_conv, lower_depthwise
from edgeml_cmsis_nn.layers.data_movement import lower_concatenation, lower_pad, lower_strided_slice
from edgeml_cmsis_nn.layers.elementwise import lower_add
from edgeml_cmsis_nn.layers.fully_connected import lower_fully_connected
from edgeml_cmsis_nn.layers.lookup import ELEMENTWISE_UNARY, lower_lut
from edgeml_cmsis_nn.layers.pooling import lower_average_pool, lower_max_pool
from edgeml_cmsis_nn.layers.reduce import lower_mean
from edgeml_cmsis_nn.layers.reshape import lower_reshape
from edgeml_cmsis_nn.layers.softmax import lower_softmax

LOWERINGS: dict[str, Callable[[Lowering], Layer]] = {
    "CONV_2D": lower_conv,
    "DEPTHWISE_CONV_2D": lower_depthwise,
    "FULLY_CONNECTED": lower_fully_connected,
    "AVERAGE_POOL_2D": lower_average_pool,
    "MAX_POOL_2D": lower_max_pool,
    "MEAN": lower_mean,
    "SOFTMAX": lower_softmax,
    "RESHAPE": lower_reshape,
    "SQUEEZE": lower_reshape,
    "EXPAND_DIMS": lower_reshape,
    "ADD": lower_add,
    "CONCATENATION": lower_concatenation,
    "STRIDED_SLICE": lower_strided_slice,
    "PAD": lower_pad,
    "PADV2": lower_pad,
} | {name: lower_lut for name in ELEMENTWISE_UNARY}
