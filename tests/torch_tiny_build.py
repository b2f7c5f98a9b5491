"""A tiny trained torch model saved as a torch.export program, and a 1D feature set.

For the torch path of the tflite-int8 compressor: no app is involved, so
what it proves holds for any third-party torch app.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from omegaconf import OmegaConf

import edgeml
from edgeml.testing import mark_finished
from tiny_keras_build import ROOT, TinyBuild

LENGTH = 64
CLASSES = ["low", "mid", "high"]


def torch_features(seed: int = 0) -> edgeml.FeatureSet:
    """Random 1D signals whose class is the energy tercile of their first half."""
    rng = np.random.default_rng(seed)
    x, y = {}, {}
    for split, n in (("train", 256), ("val", 32), ("test", 80)):
        xs = rng.normal(size=(n, LENGTH)).astype(np.float32) * rng.uniform(0.3, 2.0, size=(n, 1))
        energy = np.abs(xs[:, :LENGTH // 2]).mean(axis=1)
        x[split], y[split] = xs.astype(np.float32), np.digitize(energy, [0.5, 1.0]).astype(np.int64)
    return edgeml.FeatureSet(x=x, y=y, classes=list(CLASSES), spec={"kind": "random 1D test features"})


def tiny_torch_model():
    """Conv1d -> BN -> ReLU -> max-pool -> full-length Conv1d -> ReLU -> 1x1 Conv1d -> softmax."""
    import torch
    from torch import nn

    class Tiny(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv1d(1, 16, 5, stride=2, bias=False)
            self.bn = nn.BatchNorm1d(16)
            self.pool = nn.MaxPool1d(2)
            self.embed = nn.Conv1d(16, 32, 15)   # (64 - 5) // 2 + 1 = 30 -> pool -> 15
            self.head = nn.Conv1d(32, len(CLASSES), 1)

        def forward(self, x):
            h = self.pool(torch.relu(self.bn(self.conv(x.reshape(-1, 1, LENGTH)))))
            return torch.softmax(self.head(torch.relu(self.embed(h))).flatten(1), dim=1)

    torch.manual_seed(0)
    return Tiny()


def make_torch_build(root: Path) -> TinyBuild:
    import torch

    features = torch_features()
    model = tiny_torch_model()
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    xt, yt = torch.from_numpy(features.x["train"]), torch.from_numpy(features.y["train"])
    for _ in range(30):
        loss = torch.nn.functional.nll_loss(torch.log(model(xt) + 1e-7), yt)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    train_dir = root / "train"
    train_dir.mkdir(parents=True)
    program = torch.export.export(model, (torch.zeros(1, LENGTH),))
    torch.export.save(program, str(train_dir / "model.pt2"))
    mark_finished(train_dir)
    with torch.no_grad():
        test_outputs = model(torch.from_numpy(features.x["test"])).numpy()
    trained = edgeml.TrainedModel(kind="torch", path="model.pt2", test_outputs=test_outputs)
    config = OmegaConf.create({
        "seed": 0, "compress": {"compressor": None, "representative_samples": 64},
        "backend": OmegaConf.load(ROOT / "params" / "backend" / "tflm.yaml")})
    target = edgeml.TargetProfile.from_config(OmegaConf.load(ROOT / "params" / "target" / "cortex-m4.yaml"))
    return TinyBuild(build_dir=root, features=features, trained=trained, config=config, target=target)
