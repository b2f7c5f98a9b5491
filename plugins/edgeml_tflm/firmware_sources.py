"""Which of TFLM's files a model's firmware compiles (paths relative to the ``tflm`` library's root).

The framework (interpreter, allocator, memory planner, flatbuffer parsing,
the shared kernel helpers of tensorflow/lite) is the same for every model;
the kernels are those of the model's ops, and only those, as the generated
op resolver registers only them. With ``kernels="cmsis_nn"`` an op that TFLM
has a CMSIS-NN kernel for (``tensorflow/lite/micro/kernels/cmsis_nn/``) takes
that file instead of the reference one, as TFLM's ``OPTIMIZED_KERNEL_DIR=
cmsis_nn`` build does; the program then also compiles CMSIS-NN's sources.

The op table covers the common int8 ops; an op outside it is refused by name
(its kernel file is not known here) instead of failing at link time.
"""

from __future__ import annotations

import edgeml

MICRO = "tensorflow/lite/micro"
KERNELS = f"{MICRO}/kernels"

FRAMEWORK_SOURCES: tuple[str, ...] = tuple(f"{MICRO}/{n}.cc" for n in (
    "micro_allocation_info", "micro_allocator", "micro_context", "micro_interpreter", "micro_interpreter_context",
    "micro_interpreter_graph", "micro_log", "micro_op_resolver", "micro_profiler", "micro_resource_variable",
    "micro_time", "micro_utils", "memory_helpers", "flatbuffer_utils", "system_setup",
    "arena_allocator/non_persistent_arena_buffer_allocator", "arena_allocator/persistent_arena_buffer_allocator",
    "arena_allocator/single_arena_buffer_allocator", "memory_planner/greedy_memory_planner",
    "memory_planner/linear_memory_planner", "memory_planner/non_persistent_buffer_planner_shim",
    "tflite_bridge/flatbuffer_conversions_bridge", "tflite_bridge/micro_error_reporter",
    "kernels/kernel_util", "kernels/micro_tensor_utils")) + (
    "tensorflow/lite/kernels/kernel_util.cc", "tensorflow/lite/kernels/internal/runtime_shape.cc",
    "tensorflow/lite/kernels/internal/portable_tensor_utils.cc", "tensorflow/lite/kernels/internal/tensor_ctypes.cc",
    "tensorflow/lite/kernels/internal/reference/portable_tensor_utils.cc",
    "tensorflow/lite/kernels/internal/common.cc", "tensorflow/lite/kernels/internal/quantization_util.cc",
    "tensorflow/lite/kernels/internal/tensor_utils.cc", "tensorflow/lite/core/api/flatbuffer_conversions.cc",
    "tensorflow/lite/core/api/tensor_utils.cc", "tensorflow/lite/core/c/common.cc",
    "tensorflow/compiler/mlir/lite/schema/schema_utils.cc",
    "tensorflow/compiler/mlir/lite/core/api/error_reporter.cc")

#: Builtin op -> kernel file stems under tensorflow/lite/micro/kernels (the first is the registering one).
OP_KERNELS: dict[str, tuple[str, ...]] = {
    "CONV_2D": ("conv", "conv_common"), "DEPTHWISE_CONV_2D": ("depthwise_conv", "depthwise_conv_common"),
    "FULLY_CONNECTED": ("fully_connected", "fully_connected_common"),
    "AVERAGE_POOL_2D": ("pooling", "pooling_common"), "MAX_POOL_2D": ("pooling", "pooling_common"),
    "ADD": ("add", "add_common"), "SUB": ("sub", "sub_common"), "MUL": ("mul", "mul_common"),
    "SOFTMAX": ("softmax", "softmax_common"), "LOGISTIC": ("logistic", "logistic_common"),
    "TANH": ("tanh",), "RELU": ("activations", "activations_common"),
    "RELU6": ("activations", "activations_common"), "HARD_SWISH": ("hard_swish", "hard_swish_common"),
    "LEAKY_RELU": ("leaky_relu", "leaky_relu_common"),
    "MEAN": ("reduce", "reduce_common"), "SUM": ("reduce", "reduce_common"),
    "REDUCE_MAX": ("reduce", "reduce_common"), "REDUCE_MIN": ("reduce", "reduce_common"),
    "RESHAPE": ("reshape", "reshape_common"), "SQUEEZE": ("squeeze",), "EXPAND_DIMS": ("expand_dims",),
    "QUANTIZE": ("quantize", "quantize_common"), "DEQUANTIZE": ("dequantize", "dequantize_common"),
    "PAD": ("pad", "pad_common"), "PADV2": ("pad", "pad_common"), "CONCATENATION": ("concatenation",),
    "TRANSPOSE": ("transpose", "transpose_common"), "STRIDED_SLICE": ("strided_slice", "strided_slice_common"),
    "MAXIMUM": ("maximum_minimum",), "MINIMUM": ("maximum_minimum",),
}
#: Kernels TFLM has a CMSIS-NN version of (kernels/cmsis_nn/<stem>.cc replaces kernels/<stem>.cc).
CMSIS_NN_STEMS = frozenset({"add", "batch_matmul", "conv", "depthwise_conv", "fully_connected", "maximum_minimum",
                            "mul", "pad", "pooling", "softmax", "svdf", "transpose", "transpose_conv",
                            "unidirectional_sequence_lstm"})
KERNEL_CHOICES = ("reference", "cmsis_nn")


def kernel_sources(ops: list[str], kernels: str = "reference") -> list[str]:
    """The kernel files of ``ops`` (each once, in a stable order)."""
    if kernels not in KERNEL_CHOICES:
        raise edgeml.ConfigError(f"TFLM kernels '{kernels}' is not one of {', '.join(KERNEL_CHOICES)}")
    unknown = sorted({op for op in ops if op not in OP_KERNELS})
    if unknown:
        raise edgeml.IncompatibleError(
            f"no TFLM kernel file is known here for op {unknown[0]}: add it to edgeml_tflm.firmware_sources."
            "OP_KERNELS (the .cc files under tensorflow/lite/micro/kernels that register it)")
    stems = sorted({stem for op in ops for stem in OP_KERNELS[op]})
    return [f"{KERNELS}/cmsis_nn/{s}.cc" if kernels == "cmsis_nn" and s in CMSIS_NN_STEMS else f"{KERNELS}/{s}.cc"
            for s in stems]


def sources(ops: list[str], kernels: str = "reference") -> list[str]:
    """Framework and kernel files for a model with ``ops``."""
    return [*FRAMEWORK_SOURCES, *kernel_sources(ops, kernels)]
