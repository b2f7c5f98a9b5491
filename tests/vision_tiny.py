"""Helpers for the vision tests: the app config with small overrides, tiny datasets written with PIL.

TINY_VISION_OVERRIDES make a whole build take seconds: few small frames, a
narrow network, few epochs (real code paths). A tiny model's F1 moves by
whole objects, so its compression tolerance is loosened (the real build
keeps core's default).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from omegaconf import OmegaConf

ROOT = Path(__file__).resolve().parents[1]
APP_YAML = ROOT / "plugins" / "edgeml_vision" / "conf" / "app" / "vision.yaml"

TINY_VISION_OVERRIDES = [
    "app.sense.per_split.train=48", "app.sense.per_split.val=12", "app.sense.per_split.test=16",
    "app.preprocess.width=48", "app.preprocess.height=48",
    "app.train.epochs=3", "app.train.batch_size=16",
    "app.train.model.first_filters=4", "app.train.model.block_filters=[8,8]",
    "app.train.model.block_strides=[2,2]", "app.train.model.head_filters=0",
    "validate.max_int8_drop=1.0",
]


def vision_config(*overrides: str, seed: int = 0, target: str = "cortex-m7"):
    cfg = OmegaConf.create({"seed": seed, "app": OmegaConf.load(APP_YAML),
                            "target": OmegaConf.load(ROOT / "params" / "target" / f"{target}.yaml")})
    return OmegaConf.merge(cfg, OmegaConf.from_dotlist(list(overrides)))


def write_image(path: Path, w: int, h: int, seed: int = 0, mode: str = "RGB") -> None:
    from PIL import Image

    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    shape = (h, w, 3) if mode == "RGB" else (h, w)
    Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode=mode).save(path)


def yolo_folder(root: Path, names=("person", "car"), splits=("train", "val", "test"), per_split: int = 4) -> Path:
    """A tiny Ultralytics layout: data.yaml, images/<split>/*.png, labels/<split>/*.txt."""
    lines = [f"path: {root}", *[f"{s}: images/{s}" for s in splits], "names:"]
    lines += [f"  {i}: {n}" for i, n in enumerate(names)]
    root.mkdir(parents=True, exist_ok=True)
    (root / "data.yaml").write_text("\n".join(lines) + "\n")
    for s_i, split in enumerate(splits):
        for i in range(per_split):
            write_image(root / "images" / split / f"f{i}.png", 64 + 16 * (i % 2), 48, seed=10 * s_i + i)
            if i == per_split - 1:
                continue  # no label file: a frame with no objects
            label = root / "labels" / split / f"f{i}.txt"
            label.parent.mkdir(parents=True, exist_ok=True)
            label.write_text(f"0 0.25 0.5 0.05 0.1\n1 {0.5 + 0.1 * (i % 3):.2f} 0.75 0.3 0.2\n")
    return root
