"""Reading a Speech Commands folder: splits, resampling, background noise, and bad files."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile

from edgeml import DataError
from edgeml_kws.raw_dataset import RawDataset
from edgeml_kws.speech_commands import hash_split

from kws_fixtures import app, kws_config, stage_context  # noqa: F401 (fixture)

SPEAKERS = [f"{i:08x}" for i in range(0, 40 * 0x1111, 0x1111)]


def _write(path, seconds=0.8, rate=16000, freq=440.0):
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * rate)) / rate
    soundfile.write(path, (0.5 * np.sin(2 * np.pi * freq * t) * 32767).astype(np.int16), rate, subtype="PCM_16")


def _folder(root):
    for word in ("go", "no", "yes"):
        for s in SPEAKERS:
            _write(root / word / f"{s}_nohash_0.wav")
    _write(root / "go" / "ffffffff_nohash_1.wav", seconds=1.3, rate=8000)  # other rate, too long
    _write(root / "_background_noise_" / "hum.wav", seconds=3.0, freq=60.0)
    return root


def _sense(app, tmp_path, data_dir, *overrides):
    ctx = stage_context(tmp_path / "build", "sense", kws_config(f"app.data_dir={data_dir}", *overrides))
    return app.sense(ctx), RawDataset.load(ctx.out_dir) if (ctx.out_dir / "dataset.json").exists() else None


def test_hash_split_keeps_a_speaker_in_one_split():
    assert hash_split("abc123_nohash_0.wav", 10, 10) == hash_split("abc123_nohash_4.wav", 10, 10)
    splits = {hash_split(f"{s}_nohash_0.wav", 10, 10) for s in SPEAKERS}
    assert splits == {"train", "val", "test"}


def test_reads_words_unknown_and_silence(app, tmp_path):
    metrics, data = _sense(app, tmp_path, _folder(tmp_path / "sc"))
    assert data.classes == ["_silence_", "_unknown_", "go"]
    n_go = sum(metrics[f"{s}.go"] for s in ("train", "val", "test"))
    assert n_go == len(SPEAKERS) + 1
    for split in ("train", "val", "test"):
        assert data.audio[split].shape[1] == 16000
        assert metrics[f"{split}._unknown_"] == metrics[f"{split}._silence_"] == metrics[f"{split}.go"] > 0
    assert data.provenance["split"] == "speaker hash" and data.provenance["background_files"] == 1


def test_lists_decide_the_split_and_resampling_pads_to_one_second(app, tmp_path):
    root = _folder(tmp_path / "sc")
    (root / "testing_list.txt").write_text("go/ffffffff_nohash_1.wav\n")
    (root / "validation_list.txt").write_text(f"go/{SPEAKERS[0]}_nohash_0.wav\nno/{SPEAKERS[1]}_nohash_0.wav\n")
    metrics, data = _sense(app, tmp_path, root)
    assert (metrics["test.go"], metrics["val.go"], metrics["train.go"]) == (1, 1, len(SPEAKERS) - 1)
    clip = data.audio["test"][data.labels["test"] == 2][0]  # 1.3 s at 8 kHz -> trimmed to 1 s at 16 kHz
    assert np.abs(clip[-100:]).max() > 1000


def test_missing_folder_and_corrupt_wav_name_the_file(app, tmp_path):
    with pytest.raises(DataError, match="not a directory"):
        _sense(app, tmp_path, tmp_path / "nowhere")
    (tmp_path / "empty" / "go").mkdir(parents=True)
    with pytest.raises(DataError, match="no word folders"):
        _sense(app, tmp_path, tmp_path / "empty")
    root = _folder(tmp_path / "sc")
    bad = root / "go" / f"{SPEAKERS[3]}_nohash_0.wav"
    bad.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    with pytest.raises(DataError, match=str(bad)):
        _sense(app, tmp_path, root)
