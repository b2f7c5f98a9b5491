"""Reading a Speech Commands folder (``app.data_dir``) into one-second clips.

Layout (Warden 2018): one subfolder of 16 kHz mono WAVs per word, an optional
``_background_noise_/`` of long noise recordings, and optional
``validation_list.txt`` / ``testing_list.txt`` naming files as ``word/file.wav``.
Without the lists, files are split by the dataset's own rule: a SHA-1 hash of
the speaker id (the file name before ``_nohash_``), so one speaker's
recordings never straddle two splits.

Words that are not keywords become ``_unknown_``, subsampled (seeded) to
``unknown_ratio`` x the mean keyword count of the split; ``_silence_`` clips
are cut from the background recordings (or seeded synthetic noise without
them) at a random level.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import numpy as np

from edgeml import DataError, Progress
from edgeml_kws.clips import pad_or_trim, resample, to_int16
from edgeml_kws.noise import make_noise
from edgeml_kws.raw_dataset import SILENCE, SPLITS, UNKNOWN, ClipFormat, RawDataset

BACKGROUND = "_background_noise_"
_MAX_NUM_WAVS_PER_CLASS = 2**27 - 1  # the constant of the dataset's reference split function
_LIST_SPLIT = {"validation_list.txt": "val", "testing_list.txt": "test"}


def hash_split(filename: str, validation_percent: float, testing_percent: float) -> str:
    """The Speech Commands split of a file from its speaker id (the reference ``which_set``)."""
    speaker = re.sub(r"_nohash_.*$", "", Path(filename).name)
    h = int(hashlib.sha1(speaker.encode()).hexdigest(), 16)
    percent = (h % (_MAX_NUM_WAVS_PER_CLASS + 1)) * (100.0 / _MAX_NUM_WAVS_PER_CLASS)
    if percent < validation_percent:
        return "val"
    if percent < validation_percent + testing_percent:
        return "test"
    return "train"


def read_wav(path: Path, sample_rate: int) -> np.ndarray:
    """A WAV file as float64 mono at ``sample_rate``; a corrupt file is a DataError naming it."""
    import soundfile

    try:
        data, rate = soundfile.read(str(path), dtype="float64", always_2d=True)
    except Exception as exc:  # soundfile raises LibsndfileError, RuntimeError or TypeError on bad files
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{path} is not a readable WAV file ({reason}): delete or replace it, "
                        "then re-run the sense stage") from exc
    if data.shape[0] == 0:
        raise DataError(f"{path} holds no samples: delete or replace it, then re-run the sense stage")
    return resample(data.mean(axis=1), int(rate), sample_rate)


class SpeechCommandsReader:
    def __init__(self, data_dir: str | Path, sense: Any, seed: int):
        self.root = Path(str(data_dir)).expanduser()
        self.cfg = sense
        self.seed = int(seed)
        fmt = ClipFormat.from_sense(sense)
        self.keywords, self.classes = fmt.keywords, fmt.classes
        self.sample_rate, self.clip_samples = fmt.sample_rate, fmt.clip_samples
        self.real = sense.speech_commands

    def _words(self) -> dict[str, list[Path]]:
        if not self.root.is_dir():
            raise DataError(f"app.data_dir={self.root} is not a directory: point it at a Speech Commands folder "
                            "(one subfolder of WAVs per word), or set app.data_dir=null for synthetic speech")
        words = {d.name: sorted(d.glob("*.wav")) for d in sorted(self.root.iterdir())
                 if d.is_dir() and not d.name.startswith("_")}
        words = {w: files for w, files in words.items() if files}
        if not words:
            raise DataError(f"{self.root} has no word folders with .wav files: point app.data_dir at the folder "
                            "that holds one subfolder per word (e.g. go/, no/, ...)")
        missing = [k for k in self.keywords if k not in words]
        if missing:
            raise DataError(f"{self.root} has no WAVs for keyword(s) {', '.join(missing)}: add a folder "
                            f"{self.root / missing[0]}/ or change app.sense.keywords")
        return words

    def _split_of(self, words: dict[str, list[Path]]) -> dict[Path, str]:
        listed: dict[str, str] = {}
        for name, split in _LIST_SPLIT.items():
            lst = self.root / name
            if lst.is_file():
                for line in lst.read_text().splitlines():
                    if line.strip():
                        listed[line.strip()] = split
        out = {}
        for files in words.values():
            for f in files:
                rel = f.relative_to(self.root).as_posix()
                if listed:
                    out[f] = listed.get(rel, "train")
                else:
                    out[f] = hash_split(f.name, float(self.real.validation_percent), float(self.real.testing_percent))
        return out

    def _background(self) -> list[np.ndarray]:
        folder = self.root / BACKGROUND
        files = sorted(folder.glob("*.wav")) if folder.is_dir() else []
        return [x for x in (read_wav(f, self.sample_rate) for f in files) if len(x) >= self.clip_samples]

    def _silence(self, rng: np.random.Generator, background: list[np.ndarray]) -> np.ndarray:
        n = self.clip_samples
        if background:
            rec = background[int(rng.integers(len(background)))]
            start = int(rng.integers(0, len(rec) - n + 1))
            x = rec[start:start + n]
            peak = np.abs(x).max()
            x = x / peak if peak > 0 else x
        else:
            kind = ("white", "pink", "brown", "hum")[int(rng.integers(4))]
            x = make_noise(kind, rng, n, self.sample_rate)
            x = x / (np.abs(x).max() + 1e-12)
        return x * rng.uniform(*[float(v) for v in self.real.silence_gain])

    def read(self, progress: Progress) -> RawDataset:
        words = self._words()
        split_of = self._split_of(words)
        rng = np.random.default_rng([self.seed, 0x5C])
        limit = self.real.max_per_class
        chosen: dict[str, list[tuple[Path, int]]] = {}
        n_silence: dict[str, int] = {}
        for split in SPLITS:
            picks: list[tuple[Path, int]] = []
            counts = []
            for k, word in enumerate(self.keywords):
                files = [f for f in words[word] if split_of[f] == split]
                if limit is not None and len(files) > int(limit):
                    files = [files[i] for i in sorted(rng.choice(len(files), int(limit), replace=False))]
                picks += [(f, self.classes.index(word)) for f in files]
                counts.append(len(files))
            mean = float(np.mean(counts)) if counts else 0.0
            others = [f for w, files in words.items() if w not in self.keywords for f in files if split_of[f] == split]
            n_unknown = min(len(others), int(round(float(self.real.unknown_ratio) * mean)))
            picks += [(others[i], self.classes.index(UNKNOWN))
                      for i in sorted(rng.choice(len(others), n_unknown, replace=False))]
            chosen[split] = picks
            n_silence[split] = int(round(float(self.real.silence_ratio) * mean))
        background = self._background()
        total = sum(len(p) for p in chosen.values())
        done = 0
        audio, labels = {}, {}
        for split in SPLITS:
            clips, ys = [], []
            for path, label in chosen[split]:
                clips.append(to_int16(pad_or_trim(read_wav(path, self.sample_rate), self.clip_samples)))
                ys.append(label)
                done += 1
                if done % 200 == 0 or done == total:
                    progress.update(done, total, "read Speech Commands WAVs")
            for _ in range(n_silence[split]):
                clips.append(to_int16(self._silence(rng, background)))
                ys.append(self.classes.index(SILENCE))
            order = rng.permutation(len(ys))
            audio[split] = np.stack(clips)[order] if clips else np.zeros((0, self.clip_samples), np.int16)
            labels[split] = np.array(ys, np.int64)[order]
        if not len(labels["train"]):
            raise DataError(f"{self.root} gave no training clips: check validation_list.txt/testing_list.txt "
                            "or the split percentages in app.sense.speech_commands")
        provenance = {"source": "speech_commands", "data_dir": str(self.root), "seed": self.seed,
                      "split": "lists" if any((self.root / n).is_file() for n in _LIST_SPLIT) else "speaker hash",
                      "background_files": len(background),
                      "words": {w: len(f) for w, f in sorted(words.items())}}
        return RawDataset(audio=audio, labels=labels, classes=self.classes, sample_rate=self.sample_rate,
                          provenance=provenance)
