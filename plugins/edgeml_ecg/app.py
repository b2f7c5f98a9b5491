"""The ``ecg`` app: per-heartbeat AAMI classes (N, S, V, F, Q) and an "abnormal beat" alarm.

sense: an offline generator of continuous 360 Hz records (default) or a
folder in the MIT-BIH layout (``app.data_dir``, read with ``wfdb``), split
by record; preprocess: CMSIS-DSP biquad band-pass, beat windows around the R
peaks and RR features (:mod:`edgeml_ecg.features`); train: a 1D CNN in
PyTorch saved as a ``torch.export`` program. Heavy libraries load inside the
stage methods only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from edgeml import App, CompressedModel, DataError, DeviceCode, Evaluation, FeatureSet, StageContext, TrainedModel


class EcgApp(App):
    name = "ecg"
    version = "0.1.0"
    description = "ECG heartbeat classes (AAMI N/S/V/F/Q) + anomaly alarm: generator or WFDB, biquad band-pass, torch 1D CNN"
    task = "classification"
    model_kinds = ("torch",)
    primary_metric = "macro_f1"

    def check(self, config: Any, target: Any) -> None:
        from edgeml_ecg.features import FeatureSettings, N_RR
        from edgeml_ecg.model import architecture
        from edgeml_ecg.qrs import QrsSettings
        from edgeml_ecg.synth import _settings

        app = config.app
        if app.data_dir:
            if not Path(str(app.data_dir)).is_dir():
                raise DataError(f"app.data_dir={app.data_dir} is not a directory: point it at a folder in the "
                                "MIT-BIH layout (RECORDS, NAME.hea, NAME.dat, NAME.atr)")
        else:
            _settings(app.sense)
        s = FeatureSettings.from_config(app.preprocess, int(app.sense.fs))
        QrsSettings.from_config(app.preprocess.qrs, int(app.sense.fs))
        architecture(app.train.model, s.window, N_RR, 5)

    def sense(self, ctx: StageContext) -> dict[str, float]:
        if ctx.app.data_dir:
            from edgeml_ecg.wfdb_reader import read_folder

            data = read_folder(Path(str(ctx.app.data_dir)), ctx.app.sense, ctx.seed, ctx.progress)
        else:
            from edgeml_ecg.synth import EcgGenerator

            data = EcgGenerator(ctx.app.sense, ctx.seed).generate(ctx.progress)
        data.save(ctx.out_dir)
        return data.counts()

    def preprocess(self, ctx: StageContext) -> FeatureSet:
        from edgeml_ecg.detected import DetectedBeats
        from edgeml_ecg.features import FeatureSettings, bandpass, beat_features, biquad_coefficients, labelled_beats, spec
        from edgeml_ecg.qrs import QrsSettings
        from edgeml_ecg.records import AAMI_CLASSES, AAMI_MAP, SPLITS, RawEcg

        data = RawEcg.load(ctx.input_dir("sense"))
        s = FeatureSettings.from_config(ctx.app.preprocess, data.fs)
        qrs = QrsSettings.from_config(ctx.app.preprocess.qrs, data.fs)
        coefs = biquad_coefficients(s)
        xs = {sp: [] for sp in SPLITS}
        labels = {sp: [] for sp in SPLITS}
        records = {sp: [] for sp in SPLITS}
        detected = DetectedBeats(s, qrs)
        for k, rec in enumerate(data.records):
            filtered = bandpass(rec.signal, coefs)
            beats = labelled_beats(rec.symbols, rec.peaks, len(filtered), s)
            xs[rec.split].append(beat_features(filtered, rec.peaks, beats, s))
            labels[rec.split].append([AAMI_MAP[rec.symbols[i]] for i in beats])
            records[rec.split].append(len(beats))
            if rec.split == "test":  # what a deployed monitor sees: beats cut at the QRS detector's peaks
                detected.add(rec, filtered, beats)
            ctx.progress.update(k + 1, len(data.records), "band-pass (CMSIS-DSP biquads), QRS detector, beat features")
        present = {c for sp in SPLITS for lab in labels[sp] for c in lab}
        classes = [c for c in AAMI_CLASSES if c in present]
        if "N" not in classes or len(classes) < 2:
            raise DataError(f"the records hold beats of classes {classes} only: the ECG app needs N and at least "
                            "one abnormal class; check app.data_dir or the generator's ectopy rates")
        index = {c: i for i, c in enumerate(classes)}
        x, y = {}, {}
        for sp in SPLITS:
            if not sum(records[sp]):
                raise DataError(f"the {sp} split has no usable beats: give it more or longer records")
            x[sp] = np.concatenate(xs[sp]).astype(np.float32)
            y[sp] = np.array([index[c] for lab in labels[sp] for c in lab], dtype=np.int64)
        feature_spec = spec(s, coefs)
        feature_spec["classes"] = {"AAMI": list(AAMI_CLASSES), "present": classes,
                                   "codes": {c: sorted(k for k, v in AAMI_MAP.items() if v == c) for c in classes}}
        feature_spec["records"] = {sp: [r.name for r in data.split(sp)] for sp in SPLITS}
        feature_spec["source"] = data.provenance.get("source")
        feature_spec["qrs_detector"] = detected.save(ctx.out_dir, classes)
        return FeatureSet(x=x, y=y, classes=classes, spec=feature_spec)

    def train(self, ctx: StageContext, features: FeatureSet) -> TrainedModel:
        from edgeml_ecg.training import train_beat_cnn

        return train_beat_cnn(ctx, features)

    def evaluate(self, ev: Evaluation) -> dict[str, Any]:
        from edgeml_ecg.scoring import evaluate

        threshold = float(ev.trained.info.get("alarm", {}).get("threshold", 0.5))
        result = evaluate(ev.features.y[ev.split], ev.outputs, ev.features.classes, threshold)
        detector = ev.features.spec.get("qrs_detector")
        if detector and ev.split == "test":
            from edgeml_ecg.detected import level_block

            result["detected_peaks"] = level_block(ev.level, detector, ev.trained.info.get("detected_peaks"))
        return result

    def device_code(self, ctx: StageContext, model: CompressedModel, features: FeatureSet) -> DeviceCode:
        """The band-pass, beat window and RR features as C in ``export/ecg/``, run on the target.

        Every runner in ``runners.use`` builds the one-beat entry point ``ecg_features_beat`` and
        puts every test beat of the sense stage's records through it; the outputs must stay within
        the stated bound of the features the model was tested on (``ecg/feature_parity.json``,
        :mod:`edgeml_ecg.device_check`), and the emulator's run gives flash, RAM and cycles per beat."""
        from edgeml_ecg.device_check import device_code

        return device_code(ctx, model, features)
