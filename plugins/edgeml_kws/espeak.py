"""espeak-ng speech synthesis through ctypes, run in a child process of its own.

espeak-ng (via the ``espeakng-loader`` wheel, GPL-3.0, an optional dependency)
is reproducible only under two conditions, both measured: the random seed is
set before every utterance (``espeak_ng_SetRandSeed``), and the engine starts
fresh, because it carries hidden state from one utterance to the next inside a
process. So :class:`SpeechWorker` starts a new Python process
(``python -m edgeml_kws.espeak``) for each dataset and feeds it the
utterances in a fixed order: the same jobs give the same bytes whatever the
parent process synthesised before.

Protocol on the child's stdin/stdout: the parent writes one JSON line
``{"jobs": [[text, voice, rate_wpm, pitch, pitch_range, seed], ...]}``; the
child answers one JSON line ``{"lengths": [...]}`` (or ``{"error": "..."}``)
followed by the int16 little-endian samples of every utterance, concatenated.
An empty line ends the child.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import astuple, dataclass

import numpy as np

from edgeml import DataError

#: espeak-ng's output rate with its default voices.
ESPEAK_RATE_HZ = 22050

# espeak_AUDIO_OUTPUT and espeak_PARAMETER values from speak_lib.h.
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_PARAM_RATE, _PARAM_PITCH, _PARAM_RANGE = 1, 3, 4


@dataclass(frozen=True)
class Utterance:
    """One word to say: the voice is ``language+variant`` (e.g. ``en-us+f2``)."""

    text: str
    voice: str
    rate_wpm: int
    pitch: int
    pitch_range: int
    seed: int


class _Engine:
    """The espeak-ng library in this process (only ever used in the child)."""

    def __init__(self) -> None:
        import ctypes

        import espeakng_loader

        self._lib = lib = ctypes.CDLL(espeakng_loader.get_library_path())
        callback_type = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)
        self._chunks: list[np.ndarray] = []

        def collect(wav, n, _events):
            if n > 0:
                self._chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
            return 0

        self._callback = callback_type(collect)  # keep a reference: espeak holds the pointer
        rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, espeakng_loader.get_data_path().encode(), 0)
        if rate != ESPEAK_RATE_HZ:
            raise RuntimeError(f"espeak_Initialize returned {rate}, expected {ESPEAK_RATE_HZ} Hz")
        lib.espeak_SetSynthCallback(self._callback)
        self._voice = ""

    def say(self, u: Utterance) -> np.ndarray:
        lib = self._lib
        if u.voice != self._voice:
            if lib.espeak_SetVoiceByName(u.voice.encode()) != 0:
                raise RuntimeError(f"espeak-ng has no voice '{u.voice}'")
            self._voice = u.voice
        lib.espeak_SetParameter(_PARAM_RATE, int(u.rate_wpm), 0)
        lib.espeak_SetParameter(_PARAM_PITCH, int(u.pitch), 0)
        lib.espeak_SetParameter(_PARAM_RANGE, int(u.pitch_range), 0)
        lib.espeak_ng_SetRandSeed(int(u.seed))
        text = u.text.encode()
        self._chunks = []
        lib.espeak_Synth(text, len(text) + 1, 0, 0, 0, 0, None, None)
        lib.espeak_Synchronize()
        return np.concatenate(self._chunks).astype("<i2") if self._chunks else np.zeros(0, "<i2")


def _serve() -> None:
    """Child main loop: read job lines, write lengths + samples."""
    out = sys.stdout.buffer
    try:
        engine = _Engine()
    except Exception as exc:  # reported to the parent, which raises a DataError
        engine, init_error = None, f"{type(exc).__name__}: {exc}"
    for line in sys.stdin.buffer:
        if not line.strip():
            break
        try:
            if engine is None:
                raise RuntimeError(init_error)
            jobs = [Utterance(*j) for j in json.loads(line)["jobs"]]
            waves = [engine.say(u) for u in jobs]
        except Exception as exc:
            out.write((json.dumps({"error": f"{type(exc).__name__}: {exc}"}) + "\n").encode())
            out.flush()
            continue
        out.write((json.dumps({"lengths": [len(w) for w in waves]}) + "\n").encode())
        for w in waves:
            out.write(w.tobytes())
        out.flush()


class SpeechWorker:
    """A fresh espeak-ng process; use as a context manager and call :meth:`say` in a fixed order."""

    def __enter__(self) -> "SpeechWorker":
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        try:
            self._proc = subprocess.Popen([sys.executable, "-m", "edgeml_kws.espeak"], stdin=subprocess.PIPE,
                                          stdout=subprocess.PIPE, env=env)
        except OSError as exc:
            raise DataError(f"cannot start the espeak-ng worker ({exc}): check the Python install") from exc
        return self

    def __exit__(self, *exc_info) -> None:
        try:
            self._proc.stdin.write(b"\n")
            self._proc.stdin.close()
        except OSError:
            pass
        self._proc.wait(timeout=30)
        self._proc.stdout.close()

    def say(self, utterances: list[Utterance]) -> list[np.ndarray]:
        """Synthesise ``utterances`` in order; int16 arrays at :data:`ESPEAK_RATE_HZ`."""
        proc = self._proc
        try:
            proc.stdin.write((json.dumps({"jobs": [astuple(u) for u in utterances]}) + "\n").encode())
            proc.stdin.flush()
            header = json.loads(proc.stdout.readline() or b"{}")
        except (OSError, ValueError) as exc:
            raise DataError(f"the espeak-ng worker died ({exc}): check that espeakng-loader is installed "
                            "(pip install espeakng-loader) or set app.data_dir to a Speech Commands folder") from exc
        if "lengths" not in header:
            reason = header.get("error", "no answer")
            raise DataError(f"espeak-ng synthesis failed ({reason}): install espeakng-loader (pip install "
                            "espeakng-loader), check app.sense.synth voices/variants, or set app.data_dir")
        waves = []
        for n in header["lengths"]:
            raw = proc.stdout.read(2 * n)
            waves.append(np.frombuffer(raw, dtype="<i2").astype(np.int16))
        return waves


if __name__ == "__main__":
    _serve()
