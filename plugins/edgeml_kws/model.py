"""The DS-CNN keyword model, sized for a 48 MHz Cortex-M4F with 16 KB for the model.

Layout (after Zhang et al., "Hello Edge", 2017, shrunk): a strided first
convolution over the MFCC "image", depthwise-separable blocks (DepthwiseConv2D
+ BN + ReLU, then a 1x1 Conv2D + BN + ReLU), global average pooling, and a
1x1 Conv2D classifier followed by Reshape and Softmax.

The classifier is a 1x1 convolution on the pooled 1x1xC tensor on purpose:
TFLM's FULLY_CONNECTED kernel rounds differently from TFLite's reference one
(rare 1-LSB ties), while CONV_2D, DEPTHWISE_CONV_2D, MEAN and SOFTMAX are bit
identical, and the build requires bit-exact parity.

Imports Keras lazily: call these functions from the train stage only.
"""

from __future__ import annotations

from typing import Any

from edgeml import ConfigError


def check_model_config(cfg: Any) -> list:
    """The per-block depthwise strides, after checking ``app.train.model`` is consistent."""
    m = cfg.model
    strides = list(m.get("block_strides") or [[1, 1]] * len(m.block_filters))
    if len(strides) != len(m.block_filters):
        raise ConfigError(f"app.train.model.block_strides has {len(strides)} entries for {len(m.block_filters)} "
                          "blocks: give one [h, w] stride per entry of block_filters")
    return strides


def build_dscnn(input_shape: tuple[int, ...], n_classes: int, cfg: Any):
    """A Keras DS-CNN from ``app.train.model`` (filters, kernels, strides, dropout).

    ``block_strides`` (optional) gives each depthwise layer's stride; it must be
    as long as ``block_filters``.
    """
    import keras
    from keras import layers

    m = cfg.model
    inputs = keras.Input(shape=input_shape, name="mfcc")
    x = layers.Conv2D(int(m.first_filters), tuple(int(v) for v in m.first_kernel),
                      strides=tuple(int(v) for v in m.first_strides), padding="same", use_bias=False,
                      name="conv0")(inputs)
    x = layers.BatchNormalization(name="conv0_bn")(x)
    x = layers.ReLU(name="conv0_relu")(x)
    strides = check_model_config(cfg)
    for i, (filters, stride) in enumerate(zip(m.block_filters, strides), start=1):
        x = layers.DepthwiseConv2D((3, 3), strides=tuple(int(v) for v in stride), padding="same", use_bias=False,
                                   name=f"dw{i}")(x)
        x = layers.BatchNormalization(name=f"dw{i}_bn")(x)
        x = layers.ReLU(name=f"dw{i}_relu")(x)
        x = layers.Conv2D(int(filters), (1, 1), use_bias=False, name=f"pw{i}")(x)
        x = layers.BatchNormalization(name=f"pw{i}_bn")(x)
        x = layers.ReLU(name=f"pw{i}_relu")(x)
    x = layers.GlobalAveragePooling2D(keepdims=True, name="pool")(x)
    if float(m.dropout) > 0:
        x = layers.Dropout(float(m.dropout), name="dropout")(x)
    x = layers.Conv2D(n_classes, (1, 1), name="classifier")(x)
    x = layers.Reshape((n_classes,), name="logits")(x)
    outputs = layers.Softmax(name="scores")(x)
    return keras.Model(inputs, outputs, name="kws_dscnn")


def count_macs(model) -> int:
    """Multiply-accumulates of one inference (:func:`edgeml.keras_macs`)."""
    import edgeml

    return edgeml.keras_macs(model)
