"""The ``kws`` app: spot a spoken keyword ("go") in one-second clips at 16 kHz.

sense: synthetic speech from espeak-ng (default) or a Speech Commands folder
(``app.data_dir``); preprocess: CMSIS-DSP MFCC, normalised with train-split
constants; train: a small DS-CNN in Keras. Heavy libraries load inside the
stage methods only.
"""

from __future__ import annotations

from typing import Any

from edgeml import App, CompressedModel, DeviceCode, Evaluation, FeatureSet, StageContext, TrainedModel
from edgeml_kws.raw_dataset import SILENCE, SPLITS, UNKNOWN, RawDataset


class KwsApp(App):
    name = "kws"
    version = "0.2.0"
    description = "keyword spotting ('go'): espeak-ng or Speech Commands audio, CMSIS-DSP MFCC, DS-CNN"
    task = "classification"
    model_kinds = ("keras",)

    def check(self, config, target) -> None:
        """Refuse a bad app config when it is composed, before any audio is made."""
        from pathlib import Path

        from edgeml import DataError
        from edgeml_kws.mfcc import MfccSettings
        from edgeml_kws.model import check_model_config
        from edgeml_kws.synth import SpeechGenerator

        app = config.app
        if app.data_dir:
            if not Path(str(app.data_dir)).is_dir():
                raise DataError(f"app.data_dir={app.data_dir} is not a directory: point it at a Speech Commands "
                                "folder (one subfolder of WAV files per word)")
        else:
            SpeechGenerator(app.sense, int(config.seed))
        MfccSettings.from_config(app.preprocess, int(app.sense.sample_rate))
        check_model_config(app.train)

    def sense(self, ctx: StageContext) -> dict[str, float]:
        if ctx.app.data_dir:
            from edgeml_kws.speech_commands import SpeechCommandsReader

            data = SpeechCommandsReader(ctx.app.data_dir, ctx.app.sense, ctx.seed).read(ctx.progress)
        else:
            from edgeml_kws.synth import SpeechGenerator

            data = SpeechGenerator(ctx.app.sense, ctx.seed).generate(ctx.progress)
        data.save(ctx.out_dir)
        return data.counts()

    def preprocess(self, ctx: StageContext) -> FeatureSet:
        from edgeml_kws.mfcc import CmsisMfcc, MfccSettings, fit_normaliser, normalise

        data = RawDataset.load(ctx.input_dir("sense"))
        mfcc = CmsisMfcc(MfccSettings.from_config(ctx.app.preprocess, data.sample_rate))
        raw = {s: mfcc.clips(data.audio[s], ctx.progress, f"MFCC {s} (CMSIS-DSP)") for s in SPLITS}
        mean, std = fit_normaliser(raw["train"])
        spec = mfcc.spec(int(data.audio["train"].shape[1]))
        spec["normalisation"] = {"formula": "(mfcc[c] - mean[c]) / std[c] in float32, constants from the train split",
                                 "mean": [float(v) for v in mean], "std": [float(v) for v in std]}
        spec["layout"] = "x[n, frame, coefficient, 1]"
        x = {s: normalise(raw[s], mean, std)[..., None] for s in SPLITS}
        return FeatureSet(x=x, y={s: data.labels[s] for s in SPLITS}, classes=data.classes, spec=spec)

    def train(self, ctx: StageContext, features: FeatureSet) -> TrainedModel:
        from edgeml_kws.training import train_dscnn

        return train_dscnn(ctx, features)

    def device_code(self, ctx: StageContext, model: CompressedModel, features: FeatureSet) -> DeviceCode:
        """The MFCC front end as C (``kws/kws_features.{h,c}``, CMSIS-DSP's arm_mfcc_f32 from its C source),
        run on every test clip with the configured runners and checked against the features the model was
        tested on (``kws/feature_parity.json``); flash, RAM and cycles are the measured run's."""
        from edgeml_kws.device_features import device_code

        return device_code(ctx, model, features)

    def evaluate(self, ev: Evaluation) -> dict[str, Any]:
        """Accuracy and per-class figures, and what matters for a rare keyword: its
        precision and recall, and false accepts per hour of the non-keyword test audio
        (a detector that never fires scores a high accuracy when the keyword is rare)."""
        import numpy as np

        from edgeml import metrics

        y, classes = np.asarray(ev.features.y[ev.split]), ev.features.classes
        out = metrics.classification(y, ev.outputs, classes)
        keywords = [i for i, c in enumerate(classes) if c not in (SILENCE, UNKNOWN)]
        pred = np.asarray(ev.outputs).argmax(1)
        background = ~np.isin(y, keywords)
        clip_s = float(ev.features.spec.get("clip_samples", 0)) / float(ev.features.spec.get("sample_rate", 1) or 1)
        hours = background.sum() * clip_s / 3600.0
        out["keywords"] = {}
        for k in keywords:
            false_accepts = int((background & (pred == k)).sum())
            out["keywords"][classes[k]] = {
                "precision": out["per_class"][classes[k]]["precision"],
                "recall": out["per_class"][classes[k]]["recall"],
                "false_accepts": false_accepts,
                "false_accepts_per_hour": false_accepts / hours if hours else None,
                "background_hours": hours}
        return out
