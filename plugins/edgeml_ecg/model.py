"""The beat classifier: a small 1D CNN in PyTorch, shaped for a full-integer TFLM graph.

Input: one vector per beat, the normalised window then the RR features
(the device runtime has one input tensor). Inside: the window goes through
Conv1d + BatchNorm + ReLU blocks (a max-pool after the first); an "embed"
convolution whose kernel spans the whole remaining length turns it into a
(batch, embed, 1) vector; the RR features go through a 1x1 convolution and
are joined on the channel axis, and two 1x1 convolutions make the head,
then softmax.

Why the RR features pass a convolution before the join: TFLite's quantizer
gives CONCATENATION, STRIDED_SLICE and RESHAPE one scale for all their
tensors, so a slice of the input joined directly would give the *input*
the concatenation's range (measured: a ReLU range [0, 13] that clipped
every negative sample of the beat window and cost 29 points of macro F1).
A convolution requantizes, which breaks that chain.

Why convolutions and not Flatten + Linear: flattening an NCW tensor is the
one place where the NCW -> NWC layout change of the TFLite conversion
leaves a TRANSPOSE in the graph, and TFLM's FULLY_CONNECTED rounds ties
differently from TFLite's reference kernel (DESIGN.md), while CONV_2D is
bit-exact. With every tensor of length 1 before the head, the converted
graph has no TRANSPOSE and no FULLY_CONNECTED.

torch is imported inside the functions.
"""

from __future__ import annotations

from typing import Any

from edgeml import ConfigError


def architecture(model_cfg: Any, window: int, n_rr: int, n_classes: int) -> dict[str, Any]:
    """The architecture as plain data (stored in TrainedModel.info); refuses a window the convs cannot take."""
    arch = {"window": int(window), "n_rr": int(n_rr), "n_classes": int(n_classes),
            "channels": [int(c) for c in model_cfg.channels], "kernels": [int(k) for k in model_cfg.kernels],
            "strides": [int(s) for s in model_cfg.strides], "pool": int(model_cfg.pool),
            "embed": int(model_cfg.embed), "rr_channels": int(model_cfg.rr_channels), "hidden": int(model_cfg.hidden), "dropout": float(model_cfg.dropout)}
    if not (len(arch["channels"]) == len(arch["kernels"]) == len(arch["strides"]) >= 1):
        raise ConfigError("app.train.model.channels, kernels and strides must have the same length (>= 1)")
    lengths = conv_lengths(arch)
    if lengths[-1] < 1:
        raise ConfigError(f"the window of {window} samples is too short for app.train.model's convolutions "
                          f"(lengths {lengths}): widen app.preprocess.window or use fewer/smaller strides")
    return arch


def conv_lengths(arch: dict[str, Any]) -> list[int]:
    """Sequence length after each conv block (valid padding), the pool applied after the first."""
    n, out = arch["window"], []
    for i, (k, s) in enumerate(zip(arch["kernels"], arch["strides"])):
        n = (n - k) // s + 1
        if i == 0 and arch["pool"] > 1:
            n //= arch["pool"]
        out.append(n)
    return out


def count_macs(arch: dict[str, Any]) -> int:
    """Multiply-accumulates of one inference (convolutions; BatchNorm folds into them)."""
    n, c_in, macs = arch["window"], 1, 0
    for i, (c, k, s) in enumerate(zip(arch["channels"], arch["kernels"], arch["strides"])):
        n = (n - k) // s + 1
        macs += n * c * k * c_in
        if i == 0 and arch["pool"] > 1:
            n //= arch["pool"]
        c_in = c
    macs += arch["embed"] * n * c_in
    macs += arch["rr_channels"] * arch["n_rr"]
    macs += arch["hidden"] * (arch["embed"] + arch["rr_channels"]) + arch["n_classes"] * arch["hidden"]
    return int(macs)


def build_model(arch: dict[str, Any]):
    import torch
    from torch import nn

    class BeatNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            blocks, c_in = [], 1
            for i, (c, k, s) in enumerate(zip(arch["channels"], arch["kernels"], arch["strides"])):
                layers = [nn.Conv1d(c_in, c, k, stride=s, bias=False), nn.BatchNorm1d(c), nn.ReLU()]
                if i == 0 and arch["pool"] > 1:
                    layers.append(nn.MaxPool1d(arch["pool"]))
                blocks += layers
                c_in = c
            self.features = nn.Sequential(*blocks)
            self.embed = nn.Conv1d(c_in, arch["embed"], conv_lengths(arch)[-1])
            self.dropout = nn.Dropout(arch["dropout"])
            self.rr = nn.Conv1d(arch["n_rr"], arch["rr_channels"], 1)
            self.hidden = nn.Conv1d(arch["embed"] + arch["rr_channels"], arch["hidden"], 1)
            self.classifier = nn.Conv1d(arch["hidden"], arch["n_classes"], 1)
            self.window, self.n_rr = arch["window"], arch["n_rr"]

        def logits(self, x: torch.Tensor) -> torch.Tensor:
            w = x[:, :self.window].reshape(-1, 1, self.window)
            rr = x[:, self.window:].reshape(-1, self.n_rr, 1)
            h = torch.relu(self.embed(self.features(w)))
            h = self.dropout(torch.cat([h, torch.relu(self.rr(rr))], dim=1))
            h = torch.relu(self.hidden(h))
            return self.classifier(h).flatten(1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.softmax(self.logits(x), dim=1)

    return BeatNet()
