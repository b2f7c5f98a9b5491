"""Structured channel pruning: drop each layer's weakest output channels, then fine-tune.

On a BN-folded chain (:mod:`keras_chain`), every MAC layer except the last
(the classifier) keeps the ``1 - fraction`` share of its output channels with
the largest L1 norm of their kernel (at least one); the channels removed are
removed downstream too (BatchNormalization parameters, depthwise kernels, the
next layer's input weights, a Dense after Flatten). The result is a smaller
model of the same layer structure, so every figure (flash, RAM, MACs) drops
and the TFLite graph keeps its ops. The model is then fine-tuned
(:func:`edgeml_tflite.fine_tune.fine_tune`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

import edgeml

from edgeml_tflite.keras_chain import MAC_LAYERS, PASS_THROUGH, Chain, Link


def prune_channels(chain: Chain, fraction: float) -> tuple[Chain, dict[str, Any]]:
    """The narrower chain and a record of ``{layer: [kept of total]}``."""
    if not 0.0 <= fraction < 1.0:
        raise edgeml.ConfigError(f"compress.prune.fraction={fraction} must be in [0, 1): e.g. 0.25 removes a "
                                 "quarter of each layer's channels")
    macs = [i for i, l in enumerate(chain.links) if l.kind in MAC_LAYERS]
    last_mac = macs[-1] if macs else -1
    keep: np.ndarray | None = None        # indices of the surviving channels of the current tensor
    flatten_shape: tuple[int, ...] | None = None
    links, record = [], {}
    for i, link in enumerate(chain.links):
        w = [np.array(v) for v in link.weights]
        cfg = dict(link.config)
        name = cfg["name"]
        if link.kind in ("Conv2D", "Conv1D", "Dense"):
            if keep is not None:
                if link.kind == "Dense" and flatten_shape is not None:
                    units = w[0].shape[-1]
                    w[0] = w[0].reshape(*flatten_shape, units)[..., keep, :].reshape(-1, units)
                else:
                    w[0] = w[0][..., keep, :]
            flatten_shape = None
            n_out = w[0].shape[-1]
            if i != last_mac and fraction > 0 and link.kind != "DepthwiseConv2D":
                n_keep = max(1, int(math.ceil(n_out * (1.0 - fraction))))
                l1 = np.abs(w[0]).reshape(-1, n_out).sum(0)
                keep = np.sort(np.argsort(-l1, kind="stable")[:n_keep])
                w[0] = w[0][..., keep]
                if len(w) > 1:
                    w[1] = w[1][keep]
                cfg["filters" if "filters" in cfg else "units"] = int(n_keep)
                record[name] = f"{n_keep} of {n_out}"
            else:
                keep = None
        elif link.kind == "DepthwiseConv2D":
            if keep is not None:
                mult = w[0].shape[3]
                w[0] = w[0][:, :, keep, :]
                if len(w) > 1:
                    w[1] = w[1].reshape(-1, mult)[keep].reshape(-1)
                keep = (keep[:, None] * mult + np.arange(mult)[None]).reshape(-1)
        elif link.kind == "BatchNormalization":
            if keep is not None:
                w = [v[keep] for v in w]
        elif link.kind == "Flatten":
            if keep is not None:
                flatten_shape = tuple(link.input_shape)
        elif link.kind in PASS_THROUGH:
            pass
        elif keep is not None:
            raise edgeml.IncompatibleError(
                f"layer '{name}' ({link.kind}) sits between pruned channels and the next weighted layer: "
                "pruning cannot follow channels through it; set compress.prune.fraction=0")
        links.append(Link(link.kind, cfg, w, link.input_shape, dict(link.info)))
    return Chain(chain.input_shape, chain.input_name, links, chain.name), record
