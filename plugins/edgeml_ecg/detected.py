"""The test records as a deployed monitor sees them: beats cut at the QRS detector's peaks.

Preprocess runs :func:`edgeml_ecg.qrs.detect_record` on every test record,
matches the detections to the annotations (one to one, 150 ms) and writes,
beside the feature set (whose test split stays the annotated beats):

* ``detected_x_test.npy``: float32 model inputs cut at the detected peaks
  (window and RR features from the detected peak sequence, as on the device);
* ``detected_y_test.npy``: int64 class index of the matched annotation, ``-1``
  for a detection that matches no annotated beat (a false beat);
* ``detected_test.json``: the annotated test beats no usable detection
  matched (missed beats, per class) and the detector's quality.

Train runs the float model on these beats and keeps the outputs
(``train/detected_test_outputs.npy``) and their figures (``info["detected_peaks"]``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from edgeml import DataError, metrics
from edgeml.artifacts import read_json, write_json
from edgeml_ecg.features import FeatureSettings, beat_features, usable_beats
from edgeml_ecg.qrs import QrsSettings, detect_record, detection_quality, match_peaks
from edgeml_ecg.records import AAMI_MAP, EcgRecord
from edgeml_ecg.scoring import anomaly_score

X_FILE, Y_FILE, META_FILE = "detected_x_test.npy", "detected_y_test.npy", "detected_test.json"
OUTPUTS_FILE = "detected_test_outputs.npy"
FALSE_BEAT = -1
#: A detection matched to an annotated beat of no AAMI class: left out of the scores.
UNSCORED = -2


class DetectedBeats:
    """Collects, record by record, the beats cut at detected peaks and the matching."""

    def __init__(self, s: FeatureSettings, qrs: QrsSettings):
        self.s, self.qrs = s, qrs
        self.x: list[np.ndarray] = []
        self.labels: list[str | None] = []       # AAMI class of the match, "" for a false beat, None unscored
        self.missed: list[str] = []               # AAMI class of each annotated (scored) beat not detected
        self.tp = self.fp = self.fn = 0
        self.offsets: list[int] = []
        self.records: dict[str, dict[str, Any]] = {}

    def add(self, rec: EcgRecord, filtered: np.ndarray, annotated_beats: np.ndarray) -> None:
        """``annotated_beats``: the indices of ``rec.peaks`` that are rows of the annotated test split."""
        found = detect_record(filtered, self.qrs)
        match = match_peaks(rec.peaks, found, self.qrs.samples(self.qrs.match_ms))
        tp = int((match >= 0).sum())
        quality = detection_quality(tp, len(found) - tp, len(rec.peaks) - tp)
        self.records[rec.name] = quality
        self.tp, self.fp, self.fn = self.tp + tp, self.fp + quality["fp"], self.fn + quality["fn"]
        self.offsets += (found[match >= 0] - rec.peaks[match[match >= 0]]).tolist()
        usable = usable_beats(found, len(filtered), self.s)
        self.x.append(beat_features(filtered, found, usable, self.s))
        for j in usable:
            i = int(match[j])
            self.labels.append("" if i < 0 else AAMI_MAP.get(rec.symbols[i]))
        seen = set(match[usable][match[usable] >= 0].tolist())
        self.missed += [AAMI_MAP[rec.symbols[i]] for i in annotated_beats if int(i) not in seen]

    def save(self, out_dir: Path, classes: list[str]) -> dict[str, Any]:
        """Write the three files; return the summary that goes into the feature spec."""
        index = {c: i for i, c in enumerate(classes)}
        x = (np.concatenate(self.x) if self.x else np.zeros((0, self.s.input_size))).astype(np.float32)
        y = np.array([FALSE_BEAT if lab == "" else index.get(lab, UNSCORED) if lab else UNSCORED
                      for lab in self.labels], dtype=np.int64)
        np.save(out_dir / X_FILE, np.ascontiguousarray(x))
        np.save(out_dir / Y_FILE, y)
        missed = {c: self.missed.count(c) for c in classes}
        offsets = np.asarray(self.offsets, dtype=np.int64)
        quality = detection_quality(self.tp, self.fp, self.fn)
        quality["records"] = len(self.records)
        quality["worst_record"] = min(({"record": k, **v} for k, v in self.records.items()),
                                      key=lambda r: (r["sensitivity"] or 0) + (r["ppv"] or 0), default=None)
        if len(offsets):
            quality["offset_samples"] = {"median": float(np.median(offsets)), "p5": float(np.percentile(offsets, 5)),
                                         "p95": float(np.percentile(offsets, 95))}
        write_json(out_dir / META_FILE, {"schema": "edgeml_ecg.detected/1", "classes": classes,
                                         "missed": missed, "quality": quality, "records": self.records})
        return {"algorithm": "Pan-Tompkins (1985) style, edgeml_ecg/qrs.py: QRS band-pass, derivative, squaring, "
                             "moving-window integration, adaptive thresholds with searchback, refractory "
                             "period and T-wave check; R peak at the largest |x| of the band-passed signal",
                "settings": self.qrs.to_json(), "test": quality,
                "beats": {"detected_usable": int(len(y)), "matched": int((y >= 0).sum()),
                          "false": int((y == FALSE_BEAT).sum()), "unscored": int((y == UNSCORED).sum()),
                          "missed": missed},
                "files": [X_FILE, Y_FILE, META_FILE]}


def load(preprocess_dir: Path) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    try:
        x = np.load(preprocess_dir / X_FILE, allow_pickle=False)
        y = np.load(preprocess_dir / Y_FILE, allow_pickle=False)
    except (FileNotFoundError, ValueError) as exc:
        raise DataError(f"the detected-peak test beats in {preprocess_dir} are missing or corrupt ({exc}): "
                        "re-run the preprocess stage") from exc
    meta = read_json(preprocess_dir / META_FILE)
    if len(x) != len(y):
        raise DataError(f"{preprocess_dir / X_FILE} and {Y_FILE} differ in length: re-run the preprocess stage")
    return x, y, {str(k): int(v) for k, v in meta["missed"].items()}


def evaluate_detected(y: np.ndarray, outputs: np.ndarray, missed: dict[str, int], classes: list[str],
                      threshold: float) -> dict[str, Any]:
    """The classifier on beats cut at detected peaks, with false and missed beats counted against it.

    Sensitivity of class c: beats of c detected and classified c over all beats
    of c (detected or missed). PPV of c: over every detection classified c,
    false beats included. ROC AUC (1 - P(N) against abnormal) over the matched
    beats; the alarm's sensitivity counts missed abnormal beats as not alarmed.
    """
    y = np.asarray(y, dtype=np.int64)
    keep = y != UNSCORED
    y, outputs = y[keep], np.asarray(outputs, dtype=np.float64)[keep]
    pred = outputs.argmax(axis=1) if len(outputs) else np.zeros(0, dtype=np.int64)
    matched = y >= 0
    k = len(classes)
    confusion = np.zeros((k + 1, k + 1), dtype=np.int64)     # rows: classes + false beat; cols: classes + missed
    np.add.at(confusion, (np.where(matched, y, k), pred), 1)
    for c, name in enumerate(classes):
        confusion[c, k] = int(missed.get(name, 0))
    per_class, f1s = {}, []
    for c, name in enumerate(classes):
        tp, n_true, n_pred = int(confusion[c, c]), int(confusion[c].sum()), int(confusion[:, c].sum())
        sens = tp / n_true if n_true else None
        ppv = tp / n_pred if n_pred else None
        f1 = 2 * tp / (n_true + n_pred) if n_true + n_pred else None
        if f1 is not None:
            f1s.append(f1)
        per_class[name] = {"sensitivity": sens, "ppv": ppv, "f1": f1, "support": n_true}
    n_missed = int(confusion[:k, k].sum())
    normal = classes.index("N") if "N" in classes else -1
    score = anomaly_score(outputs, classes)
    abnormal = matched & (y != normal)
    alarm = score >= threshold
    missed_abnormal = sum(v for name, v in missed.items() if name != "N")
    n_abnormal = int(abnormal.sum()) + missed_abnormal
    normal_beats = matched & (y == normal)
    false_beats = ~matched
    total = int(len(y)) + n_missed
    return {
        "macro_f1": float(np.mean(f1s)) if f1s else 0.0,
        "accuracy": float(np.trace(confusion[:k, :k]) / total) if total else 0.0,
        "roc_auc": metrics.roc_auc(abnormal[matched], score[matched]) if matched.any() else None,
        "per_class": per_class,
        "confusion": confusion.tolist(),
        "confusion_labels": {"rows": [*classes, "(false beat)"], "columns": [*classes, "(missed)"]},
        "beats": {"matched": int(matched.sum()), "false": int(false_beats.sum()), "missed": n_missed},
        "alarm": {"threshold": float(threshold),
                  "sensitivity": float((abnormal & alarm).sum() / n_abnormal) if n_abnormal else None,
                  "specificity": float((normal_beats & ~alarm).sum() / normal_beats.sum()) if normal_beats.any() else None,
                  "false_beat_alarms": int((false_beats & alarm).sum())},
    }


def level_block(level: str, detector: dict[str, Any], float_figures: dict[str, Any] | None) -> dict[str, Any]:
    """The ``detected_peaks`` sub-block of one level's metrics."""
    block: dict[str, Any] = {"qrs_detector": {k: detector["test"][k] for k in ("sensitivity", "ppv", "tp", "fp", "fn")},
                             "match_tolerance_ms": detector["settings"]["match_tolerance_ms"]}
    if level == "float" and float_figures:
        block.update(float_figures)
        block["model"] = "torch float model, run by the train stage"
    else:
        block["model"] = ("not run at this level: core runs the compressed and device models on the test split "
                          "only (see the float level, and the ECG README section)")
    return block
