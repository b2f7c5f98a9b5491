"""Quantization-aware training layers for Keras 3 (TensorFlow backend).

tensorflow-model-optimization 0.8 refuses Keras 3 models (``quantize_model``:
"`to_quantize` can only either be a keras Sequential or Functional model",
checked with Keras 3.15 / TF 2.21), so QAT is done here with TensorFlow's
fake-quant ops and straight-through gradients, simulating exactly what the
full-integer TFLite conversion does:

* weights: symmetric per-output-channel INT8 (scale = max|w| / 127, range
  -127..127), of the BN-folded kernel, as the converter quantizes them;
* activations: asymmetric INT8 over the min/max of the calibration set,
  exactly as the converter calibrates them (recomputed at every epoch as the
  weights move), after each tensor the INT8 graph materializes: the input,
  each MAC layer's output after its fused ReLU, each pooling and the softmax.

The trained weights go back into the plain model (:func:`keras_chain.build`),
which the normal INT8 conversion then quantizes: the same graph, ops and
structure as post-training quantization, with weights that have learnt to
live on the INT8 grid.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

#: Layers fused into the MAC layer before them by the converter (no INT8 tensor between).
FUSED_ACTIVATIONS = ("ReLU", "Activation")
NOT_QUANTIZED = ("Dropout", "Reshape", "Flatten", "BatchNormalization")


def quantized_after(kind: str, next_kind: str | None) -> bool:
    """Whether the INT8 graph materializes (and so quantizes) the output of a layer of ``kind``."""
    if kind in NOT_QUANTIZED:
        return False
    if kind in ("Conv2D", "DepthwiseConv2D", "Dense", "Conv1D") and next_kind in FUSED_ACTIVATIONS:
        return False
    return True


def fake_quant_per_channel(kernel, depthwise: bool = False):
    """Symmetric INT8 per output channel (the last axis; depthwise: the last two), straight-through."""
    import tensorflow as tf

    shape = ops.shape(kernel)
    flat = ops.reshape(kernel, (-1, shape[-2] * shape[-1])) if depthwise else ops.reshape(kernel, (-1, shape[-1]))
    bound = tf.stop_gradient(ops.maximum(ops.max(ops.abs(flat), axis=0), 1e-8))
    q = tf.quantization.fake_quant_with_min_max_vars_per_channel(flat, -bound, bound, num_bits=8, narrow_range=True)
    return ops.reshape(q, shape)


@keras.saving.register_keras_serializable(package="edgeml_qat")
class QatConv2D(keras.layers.Conv2D):
    def convolution_op(self, inputs, kernel):
        return super().convolution_op(inputs, fake_quant_per_channel(kernel))


@keras.saving.register_keras_serializable(package="edgeml_qat")
class QatDepthwiseConv2D(keras.layers.DepthwiseConv2D):
    def call(self, inputs):
        outputs = ops.depthwise_conv(inputs, fake_quant_per_channel(self.kernel, depthwise=True),
                                     strides=self.strides, padding=self.padding, dilation_rate=self.dilation_rate,
                                     data_format=self.data_format)
        if self.use_bias:
            outputs = ops.add(outputs, self.bias)
        return self.activation(outputs) if self.activation is not None else outputs


@keras.saving.register_keras_serializable(package="edgeml_qat")
class QatDense(keras.layers.Dense):
    def call(self, inputs, training=None):
        outputs = ops.matmul(inputs, fake_quant_per_channel(self.kernel))
        if self.use_bias:
            outputs = ops.add(outputs, self.bias)
        return self.activation(outputs) if self.activation is not None else outputs


QAT_CLASSES = {"Conv2D": QatConv2D, "DepthwiseConv2D": QatDepthwiseConv2D, "Dense": QatDense}


@keras.saving.register_keras_serializable(package="edgeml_qat")
class ActivationQuant(keras.layers.Layer):
    """Asymmetric INT8 fake-quant over a fixed [min, max] (TFLite's activation scheme); the
    ranges are set from the calibration set by :func:`edgeml_tflite.refine.set_ranges`."""

    def __init__(self, init: tuple[float, float] | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.init = (float(init[0]), float(init[1])) if init else (-6.0, 6.0)

    def build(self, input_shape):
        self.range_min = self.add_weight(name="range_min", shape=(), trainable=False,
                                         initializer=keras.initializers.Constant(min(self.init[0], 0.0)))
        self.range_max = self.add_weight(name="range_max", shape=(), trainable=False,
                                         initializer=keras.initializers.Constant(max(self.init[1], 0.0)))

    def set_range(self, low: float, high: float) -> None:
        self.range_min.assign(min(float(low), 0.0))
        self.range_max.assign(max(float(high), 0.0))

    def call(self, x):
        import tensorflow as tf

        return tf.quantization.fake_quant_with_min_max_vars(x, self.range_min, self.range_max, num_bits=8)

    def get_config(self):
        return super().get_config() | {"init": list(self.init)}
