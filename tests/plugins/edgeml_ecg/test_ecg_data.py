"""The ECG generator and the WFDB (MIT-BIH layout) reader, on small real data."""

from __future__ import annotations

import numpy as np
import pytest

import edgeml
from ecg_tiny import ecg_app_config, write_mitbih_folder


def test_generator_is_seeded_and_splits_by_record():
    from edgeml_ecg.synth import EcgGenerator

    cfg = ecg_app_config()
    a, b = EcgGenerator(cfg.sense, 0).generate(), EcgGenerator(cfg.sense, 0).generate()
    c = EcgGenerator(cfg.sense, 1).generate()
    assert [r.name for r in a.records] == ["train000", "train001", "val000", "test000"]
    for ra, rb in zip(a.records, b.records):
        assert np.array_equal(ra.signal, rb.signal) and ra.symbols == rb.symbols
    assert not np.array_equal(a.records[0].signal, c.records[0].signal)
    assert a.fs == 360 and len(a.records[0].signal) == 60 * 360


def test_generated_beats_follow_their_physiology():
    """V: early with a full compensatory pause; S (code A): early, non-compensatory; all kinds present."""
    from edgeml_ecg.synth import EcgGenerator

    cfg = ecg_app_config(record_seconds=300, ectopy={"V": [0.08, 0.1], "S": [0.06, 0.08], "F": [0.02, 0.03]})
    rec = EcgGenerator(cfg.sense, 3).generate().records[0]
    rr = np.diff(rec.peaks) / 360.0
    sym = np.array(list(rec.symbols))
    normal = np.isin(sym[1:], ["N", "L", "R"]) & np.isin(sym[:-1], ["N", "L", "R"])
    sinus = np.median(rr[normal])
    v = [i for i in range(1, len(sym) - 1) if sym[i] == "V" and sym[i - 1] in "NLR"]
    s = [i for i in range(1, len(sym) - 1) if sym[i] == "A" and sym[i - 1] in "NLR"]
    assert len(v) > 10 and len(s) > 10 and "F" in rec.symbols
    assert np.median(rr[np.array(v) - 1]) < 0.8 * sinus                          # premature
    assert np.median(rr[np.array(v) - 1] + rr[np.array(v)]) > 1.85 * sinus        # compensatory pause
    assert np.median(rr[np.array(s) - 1]) < 0.85 * sinus
    assert np.median(rr[np.array(s) - 1] + rr[np.array(s)]) < 1.85 * sinus        # sinus node reset


def test_wfdb_folder_reads_with_ds1_ds2_split_and_resampling(tmp_path):
    from edgeml_ecg.wfdb_reader import read_folder, read_record

    folder = write_mitbih_folder(tmp_path / "mitdb", ["100", "101", "106", "103"], seconds=30, fs=250)
    cfg = ecg_app_config()
    data = read_folder(folder, cfg.sense, seed=0)
    splits = {r.name: r.split for r in data.records}
    assert splits["100"] == splits["103"] == "test"                      # DS2
    assert {splits["101"], splits["106"]} == {"train", "val"}            # DS1
    assert "DS1/DS2" in data.provenance["split"]
    rec = next(r for r in data.records if r.name == "101")
    assert data.fs == 360 and abs(len(rec.signal) - 30 * 360) <= 1       # resampled from 250 Hz
    assert "+" not in rec.symbols and "~" not in rec.symbols              # non-beat annotations skipped
    signal, peaks, symbols = read_record(folder, "101", "V1", 250)
    assert len(peaks) == len(symbols) and abs(signal.mean() - 0.05) < 0.1


def test_other_record_names_get_a_seeded_record_split(tmp_path):
    from edgeml_ecg.wfdb_reader import assign_splits

    names = [f"p{i:02d}" for i in range(10)]
    a, rule = assign_splits(names, 0, 0.2, 0.3)
    assert a == assign_splits(names, 0, 0.2, 0.3)[0] and "seeded" in rule
    assert sorted(a.values()).count("test") == 3 and sorted(a.values()).count("val") == 2


def test_bad_records_name_the_record_and_the_fix(tmp_path):
    from edgeml_ecg.wfdb_reader import read_record

    folder = write_mitbih_folder(tmp_path / "bad", ["100", "101", "103"], seconds=20)
    with pytest.raises(edgeml.DataError, match=r"record 100 has no lead 'II'.*MLII, V1.*app.sense.lead"):
        read_record(folder, "100", "II", 360)
    (folder / "101.atr").unlink()
    with pytest.raises(edgeml.DataError, match=r"record 101: .*101.atr .* is missing"):
        read_record(folder, "101", "MLII", 360)
    dat = folder / "103.dat"
    dat.write_bytes(dat.read_bytes()[:1000])
    with pytest.raises(edgeml.DataError, match=r"record 103: 103.dat has 1000 bytes but its header says .* truncated"):
        read_record(folder, "103", "MLII", 360)
