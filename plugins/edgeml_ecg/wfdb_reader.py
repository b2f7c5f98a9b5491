"""Reads a folder in the MIT-BIH layout: a RECORDS file and WFDB ``.hea``/``.dat``/``.atr`` per record.

The lead is chosen by name (``app.sense.lead``, default MLII); a record at
another sampling rate is resampled to ``app.sense.fs`` (polyphase, SciPy)
and its annotation samples scaled. Splits are by record, never by beat:
with the real MIT-BIH record names, the inter-patient split of de Chazal et
al. (2004), DS1 for training (a seeded share of its records held out for
validation) and DS2 for test, the four paced records left out; for other
names a seeded split of records.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from edgeml import DataError, Progress
from edgeml_ecg.records import AAMI_MAP, EcgRecord, RawEcg

DS1 = ("101", "106", "108", "109", "112", "114", "115", "116", "118", "119", "122", "124", "201", "203",
       "205", "207", "208", "209", "215", "220", "223", "230")
DS2 = ("100", "103", "105", "111", "113", "117", "121", "123", "200", "202", "210", "212", "213", "214",
       "219", "221", "222", "228", "231", "232", "233", "234")
PACED = ("102", "104", "107", "217")
#: Every MIT-BIH annotation code that marks a beat (the others mark rhythm, noise or signal quality).
BEAT_CODES = set(AAMI_MAP)


def record_names(folder: Path) -> list[str]:
    if not folder.is_dir():
        raise DataError(f"app.data_dir={folder} is not a directory: point it at a folder in the MIT-BIH layout "
                        "(RECORDS, NAME.hea, NAME.dat, NAME.atr)")
    listing = folder / "RECORDS"
    if listing.is_file():
        names = [ln.strip() for ln in listing.read_text().splitlines() if ln.strip()]
    else:
        names = sorted(p.stem for p in folder.glob("*.hea"))
    if not names:
        raise DataError(f"{folder} has no RECORDS file and no .hea headers: it is not a WFDB folder")
    return names


def assign_splits(names: list[str], seed: int, val_fraction: float, test_fraction: float) -> tuple[dict[str, str], str]:
    """Record -> split, and the rule used. MIT-BIH names get DS1/DS2; others a seeded record split."""
    mitbih = set(DS1) | set(DS2) | set(PACED)
    if set(names) <= mitbih and set(names) & set(DS1) and set(names) & set(DS2):
        ds1 = [n for n in names if n in DS1]
        rng = np.random.default_rng([seed, 7])
        n_val = max(1, int(round(val_fraction * len(ds1)))) if len(ds1) > 1 else 0
        val = set(rng.choice(sorted(ds1), size=n_val, replace=False)) if n_val else set()
        out = {n: ("val" if n in val else "train") for n in ds1}
        out.update({n: "test" for n in names if n in DS2})
        return out, ("inter-patient DS1/DS2 (de Chazal et al. 2004): DS1 train (a seeded "
                     f"{val_fraction:.0%} of its records for val), DS2 test, paced records 102, 104, 107, 217 left out")
    if len(names) < 3:
        raise DataError(f"only {len(names)} records: a split by record needs at least 3 (train, val, test)")
    rng = np.random.default_rng([seed, 7])
    order = [names[i] for i in rng.permutation(len(names))]
    n_test = max(1, int(round(test_fraction * len(names))))
    n_val = max(1, int(round(val_fraction * len(names))))
    out = {n: "test" for n in order[:n_test]}
    out.update({n: "val" for n in order[n_test:n_test + n_val]})
    out.update({n: "train" for n in order[n_test + n_val:]})
    return out, f"seeded split of records (seed {seed}): {n_test} test, {n_val} val, the rest train"


def read_folder(folder: Path, sense: Any, seed: int, progress: Progress | None = None) -> RawEcg:
    folder = Path(str(folder))
    names = record_names(folder)
    splits, rule = assign_splits(names, seed, float(sense.wfdb.val_fraction), float(sense.wfdb.test_fraction))
    fs, lead = int(sense.fs), str(sense.lead)
    records = []
    for k, name in enumerate(sorted(splits)):
        signal, peaks, symbols = read_record(folder, name, lead, fs)
        records.append(EcgRecord(name=name, split=splits[name], signal=signal, peaks=peaks, symbols=symbols))
        if progress is not None:
            progress.update(k + 1, len(splits), "WFDB records")
    return RawEcg(records=records, fs=fs, lead=lead,
                  provenance={"source": str(folder.resolve()), "split": rule, "records": len(records)})


def read_record(folder: Path, name: str, lead: str, fs: int) -> tuple[np.ndarray, np.ndarray, str]:
    """One record's lead (float32 mV at ``fs``), beat samples and beat codes; errors name the record and the fix."""
    import wfdb

    base = folder / name
    if not base.with_suffix(".hea").is_file():
        raise DataError(f"record {name}: {base}.hea is missing: remove {name} from {folder / 'RECORDS'} or add its header")
    header = wfdb.rdheader(str(base))
    if lead not in (header.sig_name or []):
        raise DataError(f"record {name} has no lead '{lead}' (it has {', '.join(header.sig_name or [])}): "
                        f"set app.sense.lead to one of them")
    _check_dat_length(folder, name, header)
    if not base.with_suffix(".atr").is_file():
        raise DataError(f"record {name}: {base}.atr (the beat annotations) is missing: add it, or remove {name} "
                        f"from {folder / 'RECORDS'}")
    try:
        rec = wfdb.rdrecord(str(base), channel_names=[lead])
        ann = wfdb.rdann(str(base), "atr")
    except Exception as exc:  # wfdb raises assorted errors on a damaged file
        raise DataError(f"record {name} in {folder} does not read ({type(exc).__name__}: {exc}): "
                        "replace its .hea/.dat/.atr files with intact copies") from exc
    signal = np.nan_to_num(rec.p_signal[:, 0].astype(np.float64))
    samples = np.asarray(ann.sample, dtype=np.int64)
    keep = np.array([s in BEAT_CODES for s in ann.symbol], dtype=bool)
    samples, symbols = samples[keep], "".join(s for s, k in zip(ann.symbol, keep) if k)
    if float(rec.fs) != fs:
        from scipy.signal import resample_poly

        ratio = Fraction(fs, 1) / Fraction(float(rec.fs)).limit_denominator(1000)
        signal = resample_poly(signal, ratio.numerator, ratio.denominator)
        samples = np.round(samples * float(ratio)).astype(np.int64)
    inside = (samples >= 0) & (samples < len(signal))
    symbols = "".join(s for s, k in zip(symbols, inside) if k)
    return signal.astype(np.float32), samples[inside], symbols


_BITS = {"212": 12, "16": 16, "61": 16, "80": 8, "160": 16, "24": 24, "32": 32, "310": 10, "311": 10, "8": 8}


def _check_dat_length(folder: Path, name: str, header: Any) -> None:
    """A .dat shorter than the header's signal length stops the build (wfdb would read garbage or fail later)."""
    files = {}
    for fname, fmt, offset in zip(header.file_name, header.fmt, header.byte_offset or [0] * header.n_sig):
        entry = files.setdefault(fname, {"bits": 0, "offset": int(offset or 0)})
        entry["bits"] += _BITS.get(str(fmt), 16)
    for fname, entry in files.items():
        path = folder / fname
        if not path.is_file():
            raise DataError(f"record {name}: its signal file {path} is missing: add it or remove {name} from RECORDS")
        need = entry["offset"] + (int(header.sig_len) * entry["bits"] + 7) // 8
        have = path.stat().st_size
        if have < need:
            raise DataError(f"record {name}: {path.name} has {have} bytes but its header says {header.sig_len} "
                            f"samples ({need} bytes): the file is truncated; download it again")
