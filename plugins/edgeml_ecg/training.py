"""The train stage: the beat CNN in PyTorch, deterministic, saved as a self-contained ExportedProgram.

Determinism: ``torch.manual_seed``, ``torch.use_deterministic_algorithms``
and a fixed thread count (``app.train.threads``; float sums are ordered
by the thread split), epoch order from a NumPy generator seeded by the
build seed. Same features, config and seed give the same weights, and
``torch.export.save`` writes the same bytes for the same weights (measured).

The model file is ``model.pt2`` (``torch.export``): the graph and the
weights, loadable with ``torch.export.load`` without this package, which is
what lets the compressor convert any torch app's model.
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator

import numpy as np

from edgeml import FeatureSet, StageContext, TrainedModel
from edgeml_ecg import detected
from edgeml_ecg.features import N_RR
from edgeml_ecg.model import architecture, build_model, count_macs
from edgeml_ecg.scoring import alarm_threshold, evaluate

MODEL_FILE = "model.pt2"


@contextlib.contextmanager
def deterministic_torch(seed: int, threads: int) -> Iterator[None]:
    import torch

    before_threads, before_det = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before_threads)
        torch.use_deterministic_algorithms(before_det)


def class_weights(y: np.ndarray, n_classes: int, power: float) -> np.ndarray:
    """(n / (K * n_c)) ** power, classes absent from training given weight 0."""
    counts = np.bincount(y, minlength=n_classes).astype(np.float64)
    w = np.where(counts > 0, (counts.sum() / (n_classes * np.maximum(counts, 1))) ** power, 0.0)
    return (w / w[counts > 0].mean()).astype(np.float32)


def predict(model, x: np.ndarray, batch: int = 1024) -> np.ndarray:
    import torch

    model.eval()
    with torch.no_grad():
        return np.concatenate([model(torch.from_numpy(x[i:i + batch])).numpy() for i in range(0, len(x), batch)]
                              or [np.zeros((0, 1), np.float32)]).astype(np.float32)


def train_beat_cnn(ctx: StageContext, features: FeatureSet) -> TrainedModel:
    import torch

    cfg = ctx.app.train
    classes = features.classes
    x, y = features.x, features.y
    window = int(features.spec["window"]["samples"])
    arch = architecture(cfg.model, window, N_RR, len(classes))
    epochs, batch = int(cfg.epochs), int(cfg.batch_size)
    with deterministic_torch(int(ctx.seed), int(cfg.threads)):
        model = build_model(arch)
        weights = torch.from_numpy(class_weights(y["train"], len(classes), float(cfg.class_weight_power)))
        loss_fn = torch.nn.CrossEntropyLoss(weight=weights)
        opt = torch.optim.AdamW(model.parameters(), lr=float(cfg.learning_rate), weight_decay=float(cfg.weight_decay))
        steps = max(1, epochs * int(np.ceil(len(y["train"]) / batch)))
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=float(cfg.learning_rate), total_steps=steps)
        rng = np.random.default_rng([int(ctx.seed), 5])
        xt, yt = torch.from_numpy(x["train"]), torch.from_numpy(y["train"])
        best, best_state, best_epoch = -1.0, None, 0
        for epoch in range(epochs):
            model.train()
            order = torch.from_numpy(rng.permutation(len(yt)))
            total = 0.0
            for i in range(0, len(order), batch):
                idx = order[i:i + batch]
                xb = xt[idx]
                if float(cfg.augment.noise) > 0:  # small jitter on the window only
                    noise = torch.from_numpy(rng.normal(0, float(cfg.augment.noise), (len(idx), window)).astype(np.float32))
                    xb = torch.cat([xb[:, :window] + noise, xb[:, window:]], dim=1)
                loss = loss_fn(model.logits(xb), yt[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
                sched.step()
                total += float(loss.detach()) * len(idx)
            val = predict(model, x["val"])
            val_f1 = evaluate(y["val"], val, classes, 0.5)["macro_f1"]
            ctx.log_metrics({"train.loss": total / len(yt), "val.macro_f1": val_f1}, step=epoch + 1)
            ctx.progress.update(epoch + 1, epochs, f"train beat CNN (epochs; val macro F1 {val_f1:.3f})")
            if val_f1 > best:
                best, best_epoch = val_f1, epoch + 1
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        model.load_state_dict(best_state)
        model.eval()
        scores = {s: predict(model, x[s]) for s in ("val", "test")}
        threshold = alarm_threshold(y["val"], scores["val"], classes, float(cfg.alarm_sensitivity))
        # The test records cut at the QRS detector's peaks (edgeml_ecg.detected): what a deployed monitor sees.
        det_x, det_y, det_missed = detected.load(ctx.input_dir("preprocess"))
        det_outputs = predict(model, det_x)
        np.save(ctx.out_dir / detected.OUTPUTS_FILE, det_outputs)
        example = torch.zeros((1, features.input_shape[0]), dtype=torch.float32)
        program = torch.export.export(model, (example,))
        torch.export.save(program, str(ctx.out_dir / MODEL_FILE))
    val_metrics = evaluate(y["val"], scores["val"], classes, threshold)
    macs = count_macs(arch)
    info = {"architecture": arch, "classes": classes, "input_shape": list(features.input_shape),
            "macs": macs, "params": int(sum(p.numel() for p in model.parameters())),
            "best_epoch": best_epoch, "torch": torch.__version__,
            "model_file": "torch.export ExportedProgram (torch.export.load(path).module()), input (1, "
                          f"{features.input_shape[0]}) float32, output (1, {len(classes)}) softmax",
            "alarm": {"score": "1 - P(N)", "threshold": threshold, "chosen_on": "val",
                      "target_sensitivity": float(cfg.alarm_sensitivity),
                      "val_sensitivity": val_metrics["alarm"]["sensitivity"],
                      "val_specificity": val_metrics["alarm"]["specificity"]},
            "detected_peaks": detected.evaluate_detected(det_y, det_outputs, det_missed, classes, threshold)}
    metrics = {"val.macro_f1": val_metrics["macro_f1"], "best_epoch": float(best_epoch), "macs": float(macs),
               "params": float(info["params"])}
    return TrainedModel(kind="torch", path=MODEL_FILE, test_outputs=scores["test"], metrics=metrics, info=info)
