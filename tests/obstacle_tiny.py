"""Overrides that make the obstacle app tiny for tests, and a writer of DroNet-layout folders.

A tiny model trained for a few epochs on a few hundred frames proves the code
paths, not the accuracy; its int8 tolerance is loosened (the real build keeps 2 points).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

TINY_OBSTACLE_OVERRIDES = [
    "app=obstacle", "target=cortex-m4-lp", "app.sense.frames.train=160", "app.sense.frames.val=40",
    "app.sense.frames.test=48", "app.sense.batch=80", "app.sense.camera.width=48", "app.sense.camera.height=40",
    "app.preprocess.width=32", "app.preprocess.height=32", "app.train.epochs=3", "app.train.batch_size=16", "app.train.model.bn_momentum=0.5",
    "app.train.model.block_filters=[8,16]", "app.train.model.block_strides=[2,2]",
    "validate.max_int8_drop=0.5",
]


def write_collision_folder(root: Path, sequences: dict[str, list[int]], size=(40, 30), rgb=True, seed=0) -> Path:
    """``root/SEQ/images/frame_N.png`` + ``labels.txt`` for each sequence; frames differ with the label."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    w, h = size
    for name, labels in sequences.items():
        img_dir = root / name / "images"
        img_dir.mkdir(parents=True)
        for i, lab in enumerate(labels):
            base = rng.integers(40, 200, (h, w, 3 if rgb else 1)).astype(np.uint8)
            if lab:
                base[h // 4: 3 * h // 4, w // 4: 3 * w // 4] = 20
            arr = base if rgb else base[..., 0]
            Image.fromarray(arr).save(img_dir / f"frame_{i}.png")
        (root / name / "labels.txt").write_text("".join(f"{v}\n" for v in labels))
    return root
