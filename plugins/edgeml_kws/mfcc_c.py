"""The device's MFCC front end as C: ``kws/kws_features.h`` and ``kws/kws_features.c``.

The C calls CMSIS-DSP's own ``arm_mfcc_f32`` (built from the library's C
source, see the ``cmsis-dsp`` C library) with the tables the Python side
builds (:class:`edgeml_kws.mfcc.CmsisMfcc`: window, ``cmsisdsp.mfcc``'s mel
filters and DCT matrix), written as C hex float literals so every constant
is the exact float32 value. Per frame it does what :mod:`edgeml_kws.mfcc`
documents: ``sample / 32768`` in float32, ``fft_length`` samples every
``hop_samples``, ``arm_mfcc_f32``, then ``(mfcc[c] - mean[c]) / std[c]``
with the train-split constants of the FeatureSet.

Entry point (an :class:`edgeml.Program`)::

    int kws_features(const int16_t *clip, float *features);

``clip`` is ``clip_samples`` int16, ``features`` is ``frames x
coefficients`` float32 in FeatureSet.x's layout (frame-major);
``kws_features_frame(window, coefficients)`` does one frame, which is how a
device with 20 KB of RAM runs it (streaming: it cannot hold a one-second
clip) and the program the runners measure. Memory: ``arm_mfcc_f32``'s
scratch (``2 x fft_length`` floats: see the note in the C), static, whose
upper half holds the frame when the mel filters allow it
(:func:`shares_scratch`, else a separate frame buffer); the MFCC of a frame
is written straight into the output and normalised in place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from edgeml import DataError, Program

APP_DIR = "kws"
HEADER = "kws_features.h"
SOURCE = "kws_features.c"
ENTRY_POINT = "kws_features"

#: CMSIS-DSP 1.10 sources (relative to the library root) that arm_mfcc_f32 and the
#: length-specific arm_mfcc_init_<N>_f32 need on a Cortex-M and on the host: found by
#: linking kws_features.c against them until no symbol was undefined.
CMSIS_DSP_SOURCES = [
    "Source/TransformFunctions/arm_mfcc_f32.c",
    "Source/TransformFunctions/arm_mfcc_init_f32.c",
    "Source/TransformFunctions/arm_rfft_fast_f32.c",
    "Source/TransformFunctions/arm_rfft_fast_init_f32.c",
    "Source/TransformFunctions/arm_cfft_f32.c",
    "Source/TransformFunctions/arm_cfft_init_f32.c",
    "Source/TransformFunctions/arm_cfft_radix8_f32.c",
    "Source/TransformFunctions/arm_bitreversal2.c",
    "Source/CommonTables/arm_common_tables.c",
    "Source/CommonTables/arm_const_structs.c",
    "Source/StatisticsFunctions/arm_absmax_f32.c",
    "Source/BasicMathFunctions/arm_scale_f32.c",
    "Source/BasicMathFunctions/arm_mult_f32.c",
    "Source/BasicMathFunctions/arm_dot_prod_f32.c",
    "Source/BasicMathFunctions/arm_offset_f32.c",
    "Source/ComplexMathFunctions/arm_cmplx_mag_f32.c",
    "Source/FastMathFunctions/arm_vlog_f32.c",
    "Source/MatrixFunctions/arm_mat_vec_mult_f32.c",
]

#: Compile flags the program needs everywhere: no fused multiply-adds, so a core with an
#: FMA unit (Cortex-M4F/M7) rounds every product like the x86-64 build of cmsisdsp does.
PROGRAM_FLAGS = ["-ffp-contract=off"]


@dataclass(frozen=True)
class FeatureConstants:
    """Everything the C needs, as float32/uint32 arrays exactly as the Python side uses them."""

    clip_samples: int
    frames: int
    fft_length: int
    hop_samples: int
    mel_filters: int
    coefficients: int
    window: np.ndarray           # float32 (fft_length,)
    filter_positions: np.ndarray  # uint32 (mel_filters,)
    filter_lengths: np.ndarray    # uint32 (mel_filters,)
    filter_coefs: np.ndarray      # float32 (sum of lengths,)
    dct: np.ndarray               # float32 (coefficients * mel_filters,)
    mean: np.ndarray              # float32 (coefficients,)
    std: np.ndarray               # float32 (coefficients,)


def constants_from_spec(spec: dict[str, Any]) -> FeatureConstants:
    """Rebuild the tables from a KWS FeatureSet spec with the same helpers the preprocess stage used."""
    from edgeml_kws.mfcc import CmsisMfcc, MfccSettings

    try:
        fields = MfccSettings.__dataclass_fields__
        settings = MfccSettings(**{k: spec[k] for k in fields})
        norm = spec["normalisation"]
        clip_samples, frames = int(spec["clip_samples"]), int(spec["frames"])
    except (KeyError, TypeError) as exc:
        raise DataError(f"the KWS features spec lacks {exc}: re-run `edgeml stage preprocess`") from exc
    mfcc = CmsisMfcc(settings)
    mean = np.asarray(norm["mean"], np.float32)
    std = np.asarray(norm["std"], np.float32)
    if mean.shape != (settings.coefficients,) or std.shape != (settings.coefficients,):
        raise DataError(f"the KWS features spec has {mean.size} means and {std.size} stds for "
                        f"{settings.coefficients} coefficients: re-run `edgeml stage preprocess`")
    if frames != settings.n_frames(clip_samples):
        raise DataError(f"the KWS features spec says {frames} frames but {clip_samples} samples give "
                        f"{settings.n_frames(clip_samples)}: re-run `edgeml stage preprocess`")
    return FeatureConstants(
        clip_samples=clip_samples, frames=frames, fft_length=settings.fft_length,
        hop_samples=settings.hop_samples, mel_filters=settings.mel_filters, coefficients=settings.coefficients,
        window=np.asarray(mfcc.window, np.float32),
        filter_positions=np.asarray(mfcc.filter_positions, np.uint32),
        filter_lengths=np.asarray(mfcc.filter_lengths, np.uint32),
        filter_coefs=np.asarray(mfcc.filter_coefs, np.float32),
        dct=np.asarray(mfcc.dct, np.float32).reshape(-1), mean=mean, std=std)


def hex_float(v: float) -> str:
    """A float32 as a C hex float literal (``0x1.99999ap-4f``): exact, locale- and printf-free."""
    f = float(np.float32(v))
    if not np.isfinite(f):
        raise DataError(f"constant {f} is not finite: the features spec is corrupt; re-run preprocess")
    mantissa, exponent = f.hex().split("p")
    if "." in mantissa:
        mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}p{exponent}f"


def _array(ctype: str, name: str, values, fmt, per_line: int) -> str:
    items = [fmt(v) for v in values]
    lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
    body = ",\n    ".join(lines)
    return f"static const {ctype} {name}[{len(items)}] = {{\n    {body}\n}};\n"


def _floats(name: str, values) -> str:
    return _array("float32_t", name, np.asarray(values, np.float32), hex_float, 4)


def _uints(name: str, values) -> str:
    return _array("uint32_t", name, np.asarray(values, np.uint32), lambda v: f"{int(v)}u", 12)


def top_bin(c: FeatureConstants) -> int:
    """One past the highest FFT bin a mel filter reads."""
    return int(np.max(c.filter_positions.astype(np.int64) + c.filter_lengths.astype(np.int64)))


def shares_scratch(c: FeatureConstants) -> bool:
    """Whether the frame can live in the upper half of arm_mfcc_f32's scratch (saves fft_length floats).

    arm_mfcc_f32 (1.10.3) runs the real FFT from the frame into ``tmp[0:N)`` (the frame is the
    FFT's own scratch), then ``arm_cmplx_mag_f32(tmp, frame, N)`` writes magnitude k into
    ``frame[k]`` after reading ``tmp[2k], tmp[2k+1]``. With ``frame = tmp + N`` the magnitudes of
    bins below N/2 read only ``tmp[0:N)``, the FFT; bins from N/2 up read magnitudes already written
    there, so they are garbage, and the mel filters must not read them. The FFT's packed output
    has no bin N/2 anyway (CMSIS-DSP stores the Nyquist term in ``tmp[1]``, which arm_mfcc_f32 zeroes).
    """
    return top_bin(c) <= c.fft_length // 2


def _buffers(c: FeatureConstants) -> str:
    note = ("/* arm_mfcc_f32's scratch must be 2 x fft_length floats, not the fft_length that\n"
            " * arm_mfcc_tmp_buffer_size() documents: arm_mfcc_f32 (1.10.3) calls\n"
            " * arm_cmplx_mag_f32(pTmp, pSrc, fftLen), which reads fftLen complex values\n"
            " * (AddressSanitizer finds the overflow with a smaller buffer). */\n"
            "static float32_t kws_tmp[2 * KWS_FFT_LENGTH];\n")
    if shares_scratch(c):
        return note + (f"/* The frame (overwritten by arm_mfcc_f32) is the upper half of the scratch: the mel filters\n"
                       f" * read bins below {top_bin(c)} <= fft_length / 2, whose magnitudes come from the lower half\n"
                       f" * only (see edgeml_kws/mfcc_c.py, shares_scratch). */\n"
                       "#define KWS_FRAME (kws_tmp + KWS_FFT_LENGTH)\n")
    return note + ("/* The frame, overwritten by arm_mfcc_f32. */\n"
                   "static float32_t kws_frame[KWS_FFT_LENGTH];\n#define KWS_FRAME kws_frame\n")


def header_source(c: FeatureConstants) -> str:
    return f"""/* KWS feature extraction: CMSIS-DSP MFCC + per-coefficient normalisation.
 * Generated by edgeml_kws (mfcc_c.py); the constants come from the build's features spec. */
#ifndef KWS_FEATURES_H
#define KWS_FEATURES_H

#include <stdint.h>

#define KWS_CLIP_SAMPLES {c.clip_samples}
#define KWS_FFT_LENGTH {c.fft_length}
#define KWS_HOP_SAMPLES {c.hop_samples}
#define KWS_MEL_FILTERS {c.mel_filters}
#define KWS_COEFFICIENTS {c.coefficients}
#define KWS_FRAMES {c.frames}
#define KWS_FEATURES (KWS_FRAMES * KWS_COEFFICIENTS)

#ifdef __cplusplus
extern "C" {{
#endif

/* One frame, for streaming: window is KWS_FFT_LENGTH int16 samples (the last ones received,
 * a new frame every KWS_HOP_SAMPLES), coefficients gets its KWS_COEFFICIENTS normalised MFCCs:
 * one row of the model's input. Returns 0, or -1 when CMSIS-DSP refuses the FFT length. */
int kws_features_frame(const int16_t *window, float *coefficients);

/* A whole clip: KWS_CLIP_SAMPLES int16 samples in, KWS_FRAMES x KWS_COEFFICIENTS floats out
 * (frame-major), the model's input before quantization; KWS_FRAMES calls of kws_features_frame.
 * Neither function is reentrant: they share static buffers. */
int kws_features(const int16_t *clip, float *features);

#ifdef __cplusplus
}}
#endif

#endif /* KWS_FEATURES_H */
"""


def c_source(c: FeatureConstants) -> str:
    n = c.fft_length
    return f"""/* KWS feature extraction: CMSIS-DSP arm_mfcc_f32 frame by frame, then (x - mean) / std.
 * Generated by edgeml_kws (mfcc_c.py). Constants are float32 written as hex float literals.
 * Per frame (as edgeml_kws/mfcc.py documents): x = sample / 32768 in float32,
 * frame i = x[i*{c.hop_samples} .. i*{c.hop_samples} + {n}), arm_mfcc_f32, then normalised.
 * Compile with -ffp-contract=off so cores with fused multiply-add round like the reference. */
#include "kws_features.h"

#include "arm_math.h"

/* Periodic window of the configured length, zero-padded to the FFT length. */
{_floats("kws_window", c.window)}
/* Sparse mel filters (cmsisdsp.mfcc.melFilterMatrix): first FFT bin and length of each. */
{_uints("kws_filter_pos", c.filter_positions)}
{_uints("kws_filter_len", c.filter_lengths)}
{_floats("kws_filter_coefs", c.filter_coefs)}
/* DCT-II matrix, {c.coefficients} x {c.mel_filters} (cmsisdsp.mfcc.dctMatrix). */
{_floats("kws_dct", c.dct)}
/* Per-coefficient normalisation from the train split. */
{_floats("kws_mean", c.mean)}
{_floats("kws_std", c.std)}
static arm_mfcc_instance_f32 kws_mfcc;
static int kws_ready;
{_buffers(c)}
static int kws_init(void)
{{
    if (!kws_ready) {{
        /* The length-specific init references only this FFT length's tables, so the
         * linker (--gc-sections) drops the others from arm_common_tables.c. */
        if (arm_mfcc_init_{n}_f32(&kws_mfcc, KWS_MEL_FILTERS, KWS_COEFFICIENTS, kws_dct, kws_filter_pos,
                                 kws_filter_len, kws_filter_coefs, kws_window) != ARM_MATH_SUCCESS) {{
            return -1;
        }}
        kws_ready = 1;
    }}
    return 0;
}}

int kws_features_frame(const int16_t *window, float *coefficients)
{{
    if (kws_init() != 0) {{
        return -1;
    }}
    for (int i = 0; i < KWS_FFT_LENGTH; i++) {{
        KWS_FRAME[i] = (float32_t)window[i] / 32768.0f;
    }}
    arm_mfcc_f32(&kws_mfcc, KWS_FRAME, coefficients, kws_tmp);
    for (int k = 0; k < KWS_COEFFICIENTS; k++) {{
        coefficients[k] = (coefficients[k] - kws_mean[k]) / kws_std[k];
    }}
    return 0;
}}

int kws_features(const int16_t *clip, float *features)
{{
    for (int f = 0; f < KWS_FRAMES; f++) {{
        if (kws_features_frame(clip + f * KWS_HOP_SAMPLES, features + f * KWS_COEFFICIENTS) != 0) {{
            return -1;
        }}
    }}
    return 0;
}}
"""


def write_sources(out_dir, c: FeatureConstants) -> list[str]:
    """Write ``kws/kws_features.{h,c}`` under ``out_dir``; the paths relative to it."""
    from pathlib import Path

    d = Path(out_dir) / APP_DIR
    d.mkdir(parents=True, exist_ok=True)
    (d / HEADER).write_text(header_source(c))
    (d / SOURCE).write_text(c_source(c))
    return [f"{APP_DIR}/{HEADER}", f"{APP_DIR}/{SOURCE}"]


#: What one call of the features program computes: one frame (streaming, as the device runs it:
#: a 20 KB-RAM target cannot hold a one-second clip) or a whole clip.
UNITS = ("frame", "clip")


def features_program(c: FeatureConstants, per: str = "frame") -> Program:
    """The feature extractor as an :class:`edgeml.Program` over the files :func:`write_sources` writes.

    ``per="frame"``: ``kws_features_frame``, ``fft_length`` int16 in, ``coefficients`` floats out
    (inputs from :func:`frame_inputs`); ``per="clip"``: ``kws_features``, a clip in, the clip's
    ``frames x coefficients`` out.
    """
    if per not in UNITS:
        raise DataError(f"features program per '{per}': choose one of {', '.join(UNITS)}")
    frame = per == "frame"
    return Program(
        name="features", entry_point=ENTRY_POINT + ("_frame" if frame else ""), sources=[f"{APP_DIR}/{SOURCE}"],
        include_dirs=[APP_DIR], libraries={"cmsis-dsp": list(CMSIS_DSP_SOURCES)}, input_dtype="int16",
        input_shape=(c.fft_length,) if frame else (c.clip_samples,), output_dtype="float32",
        output_shape=(c.coefficients,) if frame else (c.frames, c.coefficients), flags=list(PROGRAM_FLAGS),
        group=c.frames if frame else 1,
        info={"what": "KWS MFCC (CMSIS-DSP arm_mfcc_f32) + per-coefficient normalisation", "per": per,
              "frames_per_clip": c.frames, "fft_length": c.fft_length, "hop_samples": c.hop_samples,
              "mel_filters": c.mel_filters, "coefficients": c.coefficients,
              "static_buffers_bytes": 4 * (2 if shares_scratch(c) else 3) * c.fft_length})


def frame_inputs(clips: np.ndarray, c: FeatureConstants) -> np.ndarray:
    """(n * frames, fft_length) int16: every frame of every clip, clip-major, as the per-frame program takes them."""
    clips = np.ascontiguousarray(clips, np.int16)
    if clips.ndim != 2 or clips.shape[1] != c.clip_samples:
        raise DataError(f"clips of shape {clips.shape} are not (n, {c.clip_samples}) int16: re-run sense and "
                        "preprocess together")
    starts = np.arange(c.frames) * c.hop_samples
    idx = starts[:, None] + np.arange(c.fft_length)[None, :]
    return np.ascontiguousarray(clips[:, idx].reshape(-1, c.fft_length))
