"""The real-data path end to end: a folder in the Speech Commands layout through all six stages.

The folder is made here (tones per word, a background-noise recording, the
dataset's list files), so the test needs no download but reads WAV files
exactly as it would read the real dataset.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from blobs_plugin import ROOT

pytestmark = pytest.mark.slow

WORDS = {"go": 440.0, "stop": 1200.0, "yes": 2500.0}


def _speech_commands_folder(root):
    import soundfile as sf

    rng = np.random.default_rng(0)
    t = np.arange(16000) / 16000
    lists = {"validation_list.txt": [], "testing_list.txt": []}
    for word, hz in WORDS.items():
        (root / word).mkdir(parents=True)
        for spk in range(40):
            name = f"{spk:08x}_nohash_0.wav"
            f = hz * rng.uniform(0.9, 1.1)
            wave = 0.3 * np.sin(2 * np.pi * f * t) * np.hanning(16000) + rng.normal(0, 0.02, 16000)
            sf.write(root / word / name, wave.astype(np.float32), 16000, subtype="PCM_16")
            if spk >= 34:
                lists["testing_list.txt"].append(f"{word}/{name}")
            elif spk >= 30:
                lists["validation_list.txt"].append(f"{word}/{name}")
    (root / "_background_noise_").mkdir()
    sf.write(root / "_background_noise_" / "white_noise.wav", rng.normal(0, 0.1, 16000 * 5).astype(np.float32),
             16000, subtype="PCM_16")
    for name, files in lists.items():
        (root / name).write_text("\n".join(files) + "\n")


def test_a_speech_commands_folder_builds_end_to_end(tmp_path):
    data = tmp_path / "speech_commands"
    _speech_commands_folder(data)
    build = tmp_path / "build"
    cmd = [sys.executable, "-m", "edgeml.cli", "run", "app=kws", f"app.data_dir={data}", "app.train.epochs=40", "app.train.batch_size=8",
           "validate.max_int8_drop=0.2", f"build_dir={build}", "tracking.enabled=false", "--no-progress"]
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    sense = json.loads((build / "sense" / "manifest.json").read_text())["metrics"]
    report = json.loads((build / "report.json").read_text())
    assert report["classes"] == ["_silence_", "_unknown_", "go"]
    # 6 test speakers said "go"; "stop" and "yes" are _unknown_, subsampled to the keyword count
    assert {k: v for k, v in sense.items() if k.startswith("test.")} == \
        {"test._silence_": 6.0, "test._unknown_": 6.0, "test.go": 6.0}
    assert sense["train.go"] == 30.0
    assert report["parity"]["bit_exact"] and report["passed"]
    assert report["accuracy"]["float"] > 0.6  # tones per word are easy; chance is 0.33
