"""A Keras model as a chain of layers that can be rewritten: BN folding, channel pruning, QAT copies.

Pruning and quantization-aware training rebuild the model, so they work on
models that are one chain of single-input layers (a DS-CNN, a plain CNN or
MLP); a model with branches is refused with the layer that branches.
A :class:`Link` is one layer as ``(class name, config, weights)``: plain data
that is folded and sliced in NumPy and rebuilt with Keras at the end.

Keras is imported inside the functions only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

import edgeml

MAC_LAYERS = ("Conv2D", "DepthwiseConv2D", "Dense", "Conv1D")
#: Layers that pass channels through unchanged (elementwise, pooling, shape-only on spatial dims).
PASS_THROUGH = ("ReLU", "Activation", "Dropout", "Softmax", "MaxPooling2D", "AveragePooling2D",
                "GlobalAveragePooling2D", "GlobalMaxPooling2D", "ZeroPadding2D", "LeakyReLU", "MaxPooling1D",
                "AveragePooling1D", "GlobalAveragePooling1D")


@dataclass
class Link:
    kind: str
    config: dict[str, Any]
    weights: list[np.ndarray]
    input_shape: tuple[int, ...] = ()   # without the batch dimension
    info: dict[str, Any] = field(default_factory=dict)


@dataclass
class Chain:
    input_shape: tuple[int, ...]
    input_name: str
    links: list[Link]
    name: str


def chain_of(model) -> Chain:
    """The model's layers in order; refuses a model whose graph is not a single chain."""
    layers = list(model.layers)
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise edgeml.IncompatibleError("pruning and QAT take models with one input and one output: "
                                       "turn off compress.prune and compress.qat for this model")
    prev = None
    links = []
    for layer in layers:
        if type(layer).__name__ == "InputLayer":
            continue
        try:
            source = layer.input._keras_history[0]   # the layer that made this layer's (single) input
        except (AttributeError, ValueError, TypeError):
            source = "several"
        if (source is not prev) if prev is not None else type(source).__name__ != "InputLayer":
            raise edgeml.IncompatibleError(
                f"layer '{layer.name}' does not take the previous layer's output (the model branches): pruning "
                "and QAT rewrite single-chain models only; turn off compress.prune and compress.qat")
        links.append(Link(type(layer).__name__, layer.get_config(), [np.asarray(w) for w in layer.get_weights()],
                          tuple(int(d) for d in layer.input.shape[1:])))
        prev = layer
    if prev is None or model.outputs[0]._keras_history[0] is not prev:
        raise edgeml.IncompatibleError("the model's output is not its last layer's: pruning and QAT rewrite "
                                       "single-chain models only")
    return Chain(tuple(int(d) for d in model.inputs[0].shape[1:]), "input", links, model.name)


def fold_batch_norm(chain: Chain) -> Chain:
    """Fold each BatchNormalization that follows a MAC layer into that layer's kernel and bias.

    The TFLite converter does the same fold, so the converted graph is
    unchanged; the folded kernel is what INT8 quantizes, which QAT must see.
    """
    out: list[Link] = []
    for link in chain.links:
        prev = out[-1] if out else None
        if link.kind == "BatchNormalization" and prev is not None and prev.kind in MAC_LAYERS:
            cfg = link.config
            gamma, beta, mean, var = _bn_params(link)
            scale = gamma / np.sqrt(var + float(cfg.get("epsilon", 1e-3)))
            kernel = prev.weights[0]
            bias = prev.weights[1] if prev.config.get("use_bias") else np.zeros(_out_channels(prev), np.float32)
            if prev.kind == "DepthwiseConv2D":      # kernel (kh, kw, C, mult); output channel c*mult + m
                kh, kw, c, mult = kernel.shape
                kernel = kernel * scale.reshape(c, mult)[None, None]
            else:                                   # last axis is the output channel
                kernel = kernel * scale
            prev.weights = [kernel.astype(np.float32), ((bias - mean) * scale + beta).astype(np.float32)]
            prev.config = dict(prev.config, use_bias=True)
            continue
        out.append(Link(link.kind, dict(link.config), list(link.weights), link.input_shape, dict(link.info)))
    return Chain(chain.input_shape, chain.input_name, out, chain.name)


def _bn_params(link: Link) -> tuple[np.ndarray, ...]:
    cfg, w = link.config, list(link.weights)
    n = w[-1].shape[0]
    gamma = w.pop(0) if cfg.get("scale", True) else np.ones(n, np.float32)
    beta = w.pop(0) if cfg.get("center", True) else np.zeros(n, np.float32)
    return gamma, beta, w[0], w[1]


def _out_channels(link: Link) -> int:
    k = link.weights[0]
    return int(k.shape[2] * k.shape[3]) if link.kind == "DepthwiseConv2D" else int(k.shape[-1])


def build(chain: Chain, qat: bool = False):
    """A Keras model from the chain: plain layers, or (``qat``) the fake-quantized training copy."""
    import keras

    from edgeml_tflite import qat as qat_layers

    inputs = keras.Input(shape=chain.input_shape, name=chain.input_name)
    x = inputs
    if qat:
        x = qat_layers.ActivationQuant(name="quant_input")(x)
    for i, link in enumerate(chain.links):
        cls = qat_layers.QAT_CLASSES.get(link.kind) if qat else None
        layer = (cls or getattr(keras.layers, link.kind)).from_config(link.config)
        x = layer(x)
        if link.weights:
            layer.set_weights(link.weights)
        nxt = chain.links[i + 1].kind if i + 1 < len(chain.links) else None
        if qat and qat_layers.quantized_after(link.kind, nxt):
            name = f"quant_{link.config['name']}"
            x = qat_layers.ActivationQuant(name=name)(x)
    return keras.Model(inputs, x, name=chain.name)


def weights_of(model, chain: Chain) -> Chain:
    """``chain`` with the (trained) weights of ``model``'s layers of the same names."""
    by_name = {layer.name: layer for layer in model.layers}
    links = [Link(l.kind, dict(l.config), [np.asarray(w) for w in by_name[l.config["name"]].get_weights()],
                  l.input_shape, dict(l.info)) for l in chain.links]
    return Chain(chain.input_shape, chain.input_name, links, chain.name)
