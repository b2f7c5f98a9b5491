"""Tiny ECG configs and a MIT-BIH-layout folder written with wfdb, for the ecg app's tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from omegaconf import OmegaConf

TINY_ECG_OVERRIDES = [
    "app.sense.synth.records.train=6", "app.sense.synth.records.val=2", "app.sense.synth.records.test=3",
    "app.sense.synth.record_seconds=90", "app.train.epochs=4", "validate.max_int8_drop=0.2",
]

ECG_CONF = Path(__file__).resolve().parents[1] / "plugins" / "edgeml_ecg" / "conf" / "app" / "ecg.yaml"


def ecg_app_config(**synth):
    cfg = OmegaConf.load(ECG_CONF)
    cfg.sense.synth.records = {"train": 2, "val": 1, "test": 1}
    cfg.sense.synth.record_seconds = 60
    for k, v in synth.items():
        cfg.sense.synth[k] = v
    return cfg


def write_mitbih_folder(folder: Path, names: list[str], seconds: float = 60, fs: int = 360, seed: int = 0,
                        leads: tuple[str, str] = ("MLII", "V1")) -> Path:
    """Generated records written as WFDB files (format 212, two leads, .atr annotations) plus RECORDS."""
    import wfdb

    from edgeml_ecg.synth import EcgGenerator

    folder.mkdir(parents=True, exist_ok=True)
    cfg = ecg_app_config(record_seconds=seconds)
    cfg.sense.fs = fs
    gen = EcgGenerator(cfg.sense, seed)
    for i, name in enumerate(names):
        rec = gen.record(name, "train", np.random.default_rng([seed, 99, i]))
        second = (0.3 * rec.signal + 0.05).astype(np.float64)
        # A 12-bit ADC at 200 units/mV saturates at about +-10 mV, as a real front end would.
        sig = np.clip(np.column_stack([rec.signal.astype(np.float64), second]), -9.5, 9.5)
        wfdb.wrsamp(name, fs=fs, units=["mV", "mV"], sig_name=list(leads), p_signal=sig, fmt=["212", "212"],
                    adc_gain=[200.0, 200.0], baseline=[0, 0], write_dir=str(folder))
        symbols = list(rec.symbols)
        samples = rec.peaks.copy()
        # A rhythm annotation and a noise annotation, as MIT-BIH has: the reader must skip them.
        samples = np.r_[samples[:1] - 5, samples, samples[-1:] + 5]
        symbols = ["+", *symbols, "~"]
        wfdb.wrann(name, "atr", samples, symbol=symbols, fs=fs, write_dir=str(folder))
    (folder / "RECORDS").write_text("\n".join(names) + "\n")
    return folder
