"""The obstacle CNN: depthwise-separable blocks, one head of sector + collision sigmoids.

Layout: a strided 3x3 convolution, depthwise-separable blocks (DepthwiseConv2D
+ BN + ReLU, then a 1x1 Conv2D + BN + ReLU), then the head: one Conv2D whose
kernel covers the whole remaining feature map (``valid`` padding, so it is a
dense layer over the map that keeps where in the view each feature is) to
``sectors + 1`` logits, Reshape and a sigmoid.

Why one output tensor: the TFLM backend runs models with one output, so the
"multi-output" model is one head of N sector units and one collision unit.
Why a Conv2D head and no Dense: TFLM's FULLY_CONNECTED rounds differently
from TFLite's reference kernel on rare ties (DESIGN.md), while CONV_2D,
DEPTHWISE_CONV_2D, RESHAPE and LOGISTIC are bit-identical, and the build
requires bit-exact parity.

Imports Keras lazily: call these from the train stage only.
"""

from __future__ import annotations

from typing import Any

from edgeml import ConfigError


def check_model_config(cfg: Any, input_hw: tuple[int, int] | None = None) -> None:
    m = cfg.model
    if int(m.first_filters) < 1 or not list(m.block_filters):
        raise ConfigError("app.train.model needs first_filters >= 1 and at least one entry in block_filters")
    strides = list(m.block_strides)
    if len(strides) != len(m.block_filters):
        raise ConfigError(f"app.train.model.block_strides has {len(strides)} entries for {len(m.block_filters)} "
                          "blocks: give one stride per entry of block_filters")
    if input_hw is not None:
        h, w = input_hw
        for s in [int(m.first_stride), *[int(v) for v in strides]]:
            h, w = -(-h // s), -(-w // s)
        if h < 1 or w < 1:
            raise ConfigError(f"app.train.model strides shrink the {input_hw} input to nothing: use fewer or "
                              "smaller strides")


def build_model(input_shape: tuple[int, ...], n_outputs: int, cfg: Any):
    import keras
    from keras import layers

    m = cfg.model
    check_model_config(cfg)
    momentum = float(m.get("bn_momentum", 0.99))
    bn = lambda name: layers.BatchNormalization(momentum=momentum, name=name)  # noqa: E731
    inputs = keras.Input(shape=input_shape, name="frame")
    x = layers.Conv2D(int(m.first_filters), (3, 3), strides=int(m.first_stride), padding="same", use_bias=False,
                      name="conv0")(inputs)
    x = bn("conv0_bn")(x)
    x = layers.ReLU(name="conv0_relu")(x)
    for i, (filters, stride) in enumerate(zip(m.block_filters, m.block_strides), start=1):
        x = layers.DepthwiseConv2D((3, 3), strides=int(stride), padding="same", use_bias=False, name=f"dw{i}")(x)
        x = bn(f"dw{i}_bn")(x)
        x = layers.ReLU(name=f"dw{i}_relu")(x)
        x = layers.Conv2D(int(filters), (1, 1), use_bias=False, name=f"pw{i}")(x)
        x = bn(f"pw{i}_bn")(x)
        x = layers.ReLU(name=f"pw{i}_relu")(x)
    if float(m.dropout) > 0:
        x = layers.Dropout(float(m.dropout), name="dropout")(x)
    _, h, w, _ = x.shape
    x = layers.Conv2D(n_outputs, (int(h), int(w)), padding="valid", name="head")(x)
    x = layers.Reshape((n_outputs,), name="logits")(x)
    outputs = layers.Activation("sigmoid", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="obstacle_dscnn")


def count_macs(model) -> int:
    """Multiply-accumulates of one inference (:func:`edgeml.keras_macs`)."""
    import edgeml

    return edgeml.keras_macs(model)
