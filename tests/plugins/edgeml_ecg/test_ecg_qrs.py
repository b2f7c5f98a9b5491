"""The ecg app's Pan-Tompkins-style QRS detector and the scoring of beats cut at its peaks."""

from __future__ import annotations

import numpy as np
import pytest

import edgeml
from ecg_tiny import ecg_app_config


def _qrs(cfg=None):
    from edgeml_ecg.qrs import QrsSettings

    return QrsSettings.from_config((cfg or ecg_app_config()).preprocess.qrs, 360)


def test_detector_finds_the_annotated_beats_at_high_snr():
    from edgeml_ecg.features import FeatureSettings, bandpass, biquad_coefficients
    from edgeml_ecg.qrs import detect_record, detection_quality, match_peaks
    from edgeml_ecg.synth import EcgGenerator

    cfg = ecg_app_config(record_seconds=120, snr_db=[24, 30])
    cfg.sense.synth.records = {"train": 2, "val": 1, "test": 1}
    data = EcgGenerator(cfg.sense, 3).generate()
    s, qrs = FeatureSettings.from_config(cfg.preprocess, 360), _qrs(cfg)
    tp = fp = fn = 0
    offsets = []
    for rec in data.records:
        found = detect_record(bandpass(rec.signal, biquad_coefficients(s)), qrs)
        assert np.all(np.diff(found) > 0)
        match = match_peaks(rec.peaks, found, qrs.samples(150))
        hit = int((match >= 0).sum())
        tp, fp, fn = tp + hit, fp + len(found) - hit, fn + len(rec.peaks) - hit
        offsets += (found[match >= 0] - rec.peaks[match[match >= 0]]).tolist()
    q = detection_quality(tp, fp, fn)
    assert tp > 400 and q["sensitivity"] >= 0.99 and q["ppv"] >= 0.99, q
    # The R peak lands where the beat windows expect it: within the band-pass's few samples of delay.
    assert abs(float(np.median(offsets))) <= 3


def test_detector_is_causal_after_its_learning_phase():
    """Beats found in a record's first part do not move when more signal follows (a streaming device)."""
    from edgeml_ecg.features import FeatureSettings, bandpass, biquad_coefficients
    from edgeml_ecg.qrs import detect_record
    from edgeml_ecg.synth import EcgGenerator

    cfg = ecg_app_config(record_seconds=60, snr_db=[20, 20])
    rec = EcgGenerator(cfg.sense, 1).generate().records[0]
    s, qrs = FeatureSettings.from_config(cfg.preprocess, 360), _qrs(cfg)
    filtered = bandpass(rec.signal, biquad_coefficients(s))
    full = detect_record(filtered, qrs)
    cut = 30 * 360
    part = detect_record(filtered[:cut], qrs)
    # Up to the look-ahead, the refractory/T-wave window and a searchback before the cut, the same beats.
    settled = cut - qrs.samples(2000)
    assert np.array_equal(part[part < settled], full[full < settled])


def test_matching_is_one_to_one_within_the_tolerance():
    from edgeml_ecg.qrs import match_peaks

    annotated = np.array([100, 400, 700, 1000])
    detected = np.array([95, 110, 460, 760, 1300])
    m = match_peaks(annotated, detected, 54)
    # 95 and 110 both near 100: the nearer (95) wins; 460 is 60 > 54 away; 760 is 60 away; 1300 none.
    assert m.tolist() == [0, -1, -1, -1, -1]
    assert match_peaks(annotated, np.array([398, 702]), 54).tolist() == [1, 2]


def test_detected_scores_count_false_and_missed_beats():
    from edgeml_ecg.detected import FALSE_BEAT, UNSCORED, evaluate_detected

    classes = ["N", "S", "V"]
    eye = np.eye(3, dtype=np.float32)
    # Matched: N->N, N->N, V->V, S->N (wrong); a false beat predicted V; an unscored detection.
    y = np.array([0, 0, 2, 1, FALSE_BEAT, UNSCORED])
    outputs = np.stack([eye[0], eye[0], eye[2], eye[0], eye[2], eye[1]])
    m = evaluate_detected(y, outputs, {"N": 1, "S": 0, "V": 1}, classes, threshold=0.5)
    assert m["beats"] == {"matched": 4, "false": 1, "missed": 2}
    pc = m["per_class"]
    assert pc["N"]["sensitivity"] == pytest.approx(2 / 3) and pc["N"]["ppv"] == pytest.approx(2 / 3)
    assert pc["V"]["sensitivity"] == pytest.approx(1 / 2) and pc["V"]["ppv"] == pytest.approx(1 / 2)
    assert pc["S"]["sensitivity"] == 0.0 and pc["S"]["ppv"] is None
    assert m["macro_f1"] == pytest.approx(np.mean([2 / 3, 0.0, 1 / 2]))
    assert m["confusion"][3] == [0, 0, 1, 0] and [row[3] for row in m["confusion"][:3]] == [1, 0, 1]
    # Alarm: abnormal = S (missed by the classifier), V (caught), V (missed by the detector).
    assert m["alarm"]["sensitivity"] == pytest.approx(1 / 3) and m["alarm"]["false_beat_alarms"] == 1
    assert m["roc_auc"] == pytest.approx(0.75)


def test_bad_detector_settings_name_the_key():
    cfg = ecg_app_config()
    cfg.preprocess.qrs.band_hz = [15.0, 5.0]
    with pytest.raises(edgeml.ConfigError, match="app.preprocess.qrs.band_hz"):
        _qrs(cfg)
