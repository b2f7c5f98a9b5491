"""The FOMO-style detector: a MobileNet-like depthwise-separable backbone cut at stride 8, a 1x1 head.

Layout: a strided 3x3 convolution, depthwise-separable blocks (3x3
DepthwiseConv2D + BN + ReLU, then 1x1 Conv2D + BN + ReLU; each depthwise
with its stride), an optional 1x1 convolution, and a 1x1 convolution to one
logit per class and cell, then a softmax over the classes of every cell.
The output stride is the first stride times the blocks' strides (2 x 2 x 2 x
1 ... = 8 by default): a 96x96 frame gives a 12x12 grid.

No Dense layer anywhere: TFLM's CONV_2D, DEPTHWISE_CONV_2D and SOFTMAX are
bit-identical to TFLite's reference kernels (DESIGN.md), FULLY_CONNECTED is
not. Keras loads lazily: call these from the train stage only.
"""

from __future__ import annotations

from typing import Any

from edgeml import ConfigError


def output_stride(cfg: Any) -> int:
    """The network's total stride, after checking ``app.train.model`` is consistent."""
    m = cfg.model
    strides = [int(s) for s in m.block_strides]
    if len(strides) != len(m.block_filters):
        raise ConfigError(f"app.train.model.block_strides has {len(strides)} entries for {len(m.block_filters)} "
                          "blocks: give one stride per entry of block_filters")
    if any(s not in (1, 2) for s in strides) or int(m.first_stride) not in (1, 2):
        raise ConfigError("app.train.model strides must be 1 or 2 (first_stride and every block_strides entry)")
    stride = int(m.first_stride)
    for s in strides:
        stride *= s
    return stride


def build_fomo(input_shape: tuple[int, ...], n_classes: int, cfg: Any):
    import keras
    from keras import layers

    m = cfg.model
    output_stride(cfg)
    momentum = float(m.bn_momentum)
    use_bn = bool(m.batch_norm)

    def bn(name: str):
        return layers.BatchNormalization(momentum=momentum, name=name) if use_bn else layers.Identity(name=name)

    inputs = keras.Input(shape=input_shape, name="frame")
    x = layers.Conv2D(int(m.first_filters), (3, 3), strides=int(m.first_stride), padding="same", use_bias=not use_bn,
                      name="conv0")(inputs)
    x = bn("conv0_bn")(x)
    x = layers.ReLU(name="conv0_relu")(x)
    for i, (filters, stride) in enumerate(zip(m.block_filters, m.block_strides), start=1):
        x = layers.DepthwiseConv2D((3, 3), strides=int(stride), padding="same", use_bias=not use_bn, name=f"dw{i}")(x)
        x = bn(f"dw{i}_bn")(x)
        x = layers.ReLU(name=f"dw{i}_relu")(x)
        x = layers.Conv2D(int(filters), (1, 1), use_bias=not use_bn, name=f"pw{i}")(x)
        x = bn(f"pw{i}_bn")(x)
        x = layers.ReLU(name=f"pw{i}_relu")(x)
    if int(m.head_filters or 0) > 0:
        x = layers.Conv2D(int(m.head_filters), (1, 1), use_bias=not use_bn, name="head")(x)
        x = bn("head_bn")(x)
        x = layers.ReLU(name="head_relu")(x)
    if float(m.dropout) > 0:
        x = layers.Dropout(float(m.dropout), name="dropout")(x)
    x = layers.Conv2D(n_classes, (1, 1), name="classifier")(x)
    outputs = layers.Softmax(axis=-1, name="cell_scores")(x)
    return keras.Model(inputs, outputs, name="fomo")


def count_macs(model) -> int:
    """Multiply-accumulates of one inference (:func:`edgeml.keras_macs`)."""
    import edgeml

    return edgeml.keras_macs(model)
