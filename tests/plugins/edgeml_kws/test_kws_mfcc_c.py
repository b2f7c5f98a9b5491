"""The KWS MFCC as device C: generated tables equal cmsisdsp.mfcc's, and the C built from CMSIS-DSP's source
(host compiler with sanitizers, Cortex-M4 emulator) stays within the stated bound of the Python features."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf

import edgeml
from edgeml import CompressedModel, QuantParams
from kws_fixtures import app, finish, kws_config, noise_dataset, stage_context  # noqa: F401
from edgeml_kws import device_features, mfcc_c

EXPLORED = Path("/tmp/cmsisdsp_sdist/cmsisdsp-1.10.3")


@pytest.fixture
def cmsis_dsp(monkeypatch) -> Path:
    """CMSIS-DSP's tree: $EDGEML_CMSIS_DSP_ROOT, the fetch cache, or the copy unpacked for exploring."""
    from edgeml_cmsis_dsp import library

    env = os.environ.get(library.ENV_ROOT)
    for root in ([Path(env)] if env else []) + [library.cache_dir(), EXPLORED]:
        if library.is_tree(root):
            monkeypatch.setenv(library.ENV_ROOT, str(root))
            return root
    pytest.skip("CMSIS-DSP's C source is not here: set EDGEML_CMSIS_DSP_ROOT or run `python -m edgeml_cmsis_dsp.fetch`")


def registry():
    """The installed plugins, plus the cmsis-dsp library while its entry point is not installed."""
    from edgeml import testing
    from edgeml.plugins import load_registry

    reg = load_registry()
    if "cmsis-dsp" in reg.c_libraries:
        return reg
    import edgeml_cmsis_dsp.plugin

    return testing.registry_with(edgeml_cmsis_dsp.plugin)


def emulator_available() -> bool:
    try:
        import unicorn  # noqa: F401
    except ImportError:
        return False
    return shutil.which("arm-none-eabi-gcc") is not None


@pytest.fixture
def features(tmp_path, app):  # noqa: F811
    """Three test tones clips per class through the real preprocess stage; the build dir."""
    cfg = kws_config()
    sense = stage_context(tmp_path, "sense", cfg)
    noise_dataset(n_per_class=2).save(sense.out_dir)
    finish(sense)
    return app.preprocess(stage_context(tmp_path, "preprocess", cfg)), tmp_path


def _c_array(source: str, name: str) -> list[str]:
    m = re.search(rf"static const \w+ {name}\[(\d+)\] = {{(.*?)}};", source, re.DOTALL)
    assert m, name
    items = [v.strip() for v in m.group(2).split(",") if v.strip()]
    assert len(items) == int(m.group(1))
    return items


def _floats(items: list[str]) -> np.ndarray:
    return np.array([float.fromhex(v[:-1]) for v in items], np.float64).astype(np.float32)


def test_hex_floats_are_exact():
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.standard_normal(1000).astype(np.float32) * 10.0 ** rng.integers(-30, 30, 1000),
                             np.float32([0.0, -0.0, 1.0, np.finfo(np.float32).tiny, np.finfo(np.float32).max])])
    back = _floats([mfcc_c.hex_float(v) for v in values.astype(np.float32)])
    np.testing.assert_array_equal(back.view(np.uint32), values.astype(np.float32).view(np.uint32))


def test_generated_tables_are_cmsisdsp_mfcc_tables(features):
    import cmsisdsp.mfcc
    from cmsisdsp.datatype import F32

    fs, _ = features
    s = fs.spec
    c = mfcc_c.constants_from_spec(s)
    source = mfcc_c.c_source(c)
    lengths, positions, coefs = cmsisdsp.mfcc.melFilterMatrix(F32, s["fmin_hz"], s["fmax_hz"], s["mel_filters"],
                                                               s["sample_rate"], s["fft_length"])
    dct = cmsisdsp.mfcc.dctMatrix(F32, s["coefficients"], s["mel_filters"])
    exact = {"kws_filter_coefs": coefs, "kws_dct": dct, "kws_mean": s["normalisation"]["mean"],
             "kws_std": s["normalisation"]["std"]}
    for name, want in exact.items():
        got = _floats(_c_array(source, name))
        np.testing.assert_array_equal(got.view(np.uint32), np.asarray(want, np.float32).view(np.uint32), name)
    from scipy.signal import get_window

    window = np.zeros(s["fft_length"], np.float32)
    window[:s["window_samples"]] = get_window(s["window"], s["window_samples"], fftbins=True)
    np.testing.assert_array_equal(_floats(_c_array(source, "kws_window")), window)
    assert [int(v[:-1]) for v in _c_array(source, "kws_filter_pos")] == list(positions)
    assert [int(v[:-1]) for v in _c_array(source, "kws_filter_len")] == list(lengths)
    assert f"arm_mfcc_init_{s['fft_length']}_f32(" in source
    header = mfcc_c.header_source(c)
    assert f"#define KWS_FRAMES {s['frames']}" in header and f"#define KWS_CLIP_SAMPLES {s['clip_samples']}" in header


def test_frame_inputs_are_the_python_framing(features):
    fs, build = features
    from edgeml_kws.raw_dataset import RawDataset

    c = mfcc_c.constants_from_spec(fs.spec)
    clips = RawDataset.load(build / "sense").audio["test"][:2]
    frames = mfcc_c.frame_inputs(clips, c)
    assert frames.shape == (2 * c.frames, c.fft_length) and frames.dtype == np.int16
    np.testing.assert_array_equal(frames[c.frames + 3], clips[1, 3 * c.hop_samples:3 * c.hop_samples + c.fft_length])


def _runs_config(cfg, use: list[str]):
    return OmegaConf.merge(cfg, {"runners": {"use": use, "host": {"sanitize": True},
                                             "emulator": {"profile_examples": 4, "max_instructions": 200_000_000}}})


def test_device_code_runs_the_c_and_checks_it_against_python(features, app, cmsis_dsp):  # noqa: F811
    """export's device_code on the test clips: host with ASan/UBSan, and the Cortex-M4 emulator when here."""
    fs, build = features
    use = ["host", "emulator"] if emulator_available() else ["host"]
    cfg = _runs_config(kws_config(), use)
    ctx = stage_context(build, "export", cfg)
    ctx.registry = registry()
    x = np.asarray(fs.x["test"], np.float32)
    # The input quantization a TFLite converter calibrates from features like these.
    lo, hi = min(float(x.min()), 0.0), max(float(x.max()), 0.0)
    scale = (hi - lo) / 255.0
    quant = QuantParams(scale=scale, zero_point=round(-128 - lo / scale))
    model = CompressedModel(format="tflite-int8", path="model.tflite", test_outputs=np.zeros((len(x), 3), np.int8),
                            reference="test", input_quant=quant)

    code = app.device_code(ctx, model, fs)

    assert isinstance(code, edgeml.DeviceCode)
    assert code.files == ["kws/kws_features.h", "kws/kws_features.c", "kws/feature_parity.json"]
    parity = json.loads((ctx.out_dir / "kws" / "feature_parity.json").read_text())
    assert set(parity["runners"]) == set(use)
    for name, r in parity["runners"].items():
        assert r["clips"] == len(x)
        assert r["max_abs_diff"] < device_features.MAX_ABS_DIFF, name
        assert r["int8"]["max_lsb"] <= device_features.MAX_INPUT_LSB, name
    program = edgeml.Program.from_json(code.info["program"])
    assert program.entry_point == "kws_features_frame" and program.libraries["cmsis-dsp"] == mfcc_c.CMSIS_DSP_SOURCES
    assert code.macs_by_kind == {"float_dsp": code.macs} and code.macs > 0
    if "emulator" in use:
        c = mfcc_c.constants_from_spec(fs.spec)
        assert "linked image" in code.flash_bytes.method and "linked image" in code.ram_bytes.method
        # 16 KB of the Cortex-M4's RAM is the model's share: the streaming extractor fits in it.
        assert code.ram_bytes.value < 16384
        # Streaming at the app's rate (4 inferences/s): 25 new 10 ms frames per inference, not the clip's 97.
        new = code.info["frames_per_inference"]
        assert (new, code.info["frames_per_clip"]) == (25, c.frames) and f"{new} new frames" in code.cycles.method
        assert code.instructions.value > new * 10_000
    else:
        assert code.cycles is None and code.flash_bytes.method.startswith("estimate")


def test_a_wrong_feature_fails_export_naming_clip_and_coefficient(features):
    fs, _ = features
    x = np.asarray(fs.x["test"], np.float32).reshape(len(fs.x["test"]), -1)
    c = mfcc_c.constants_from_spec(fs.spec)
    moved = x.copy()
    moved[1, 3 * c.coefficients + 4] += 0.5
    quant = QuantParams(scale=0.05, zero_point=0)
    result = device_features.compare(moved, x, c.frames, c.coefficients, quant)
    assert result["int8"]["max_lsb"] == 10 and result["int8"]["clips_differing"] == 1
    with pytest.raises(edgeml.DataError, match="by 10 int8 steps .* at test clip 1, frame 3, coefficient 4"):
        device_features.check_bound("emulator", result)
    device_features.check_bound("host", device_features.compare(x, x, c.frames, c.coefficients, quant))


def test_frame_in_the_scratch_gives_the_same_features(features, cmsis_dsp, tmp_path, monkeypatch):
    """The frame shares arm_mfcc_f32's scratch when the mel filters stay below fft_length/2; the
    outputs are bit for bit those of a separate frame buffer (host build with ASan and UBSan)."""
    from edgeml.runners import run_program
    from edgeml_kws.raw_dataset import RawDataset

    fs, build = features
    c = mfcc_c.constants_from_spec(fs.spec)
    assert mfcc_c.shares_scratch(c) and mfcc_c.top_bin(c) <= c.fft_length // 2
    # cmsisdsp's filters stop below bin fft_length/2 even at fmax = Nyquist; one reaching it gets its own buffer.
    nyquist = mfcc_c.constants_from_spec({**fs.spec, "fmax_hz": fs.spec["sample_rate"] / 2})
    assert mfcc_c.top_bin(nyquist) == c.fft_length // 2 and mfcc_c.shares_scratch(nyquist)
    lengths = nyquist.filter_lengths.copy()
    lengths[-1] += 1
    beyond = dataclasses.replace(nyquist, filter_lengths=lengths)
    assert not mfcc_c.shares_scratch(beyond) and "static float32_t kws_frame[" in mfcc_c.c_source(beyond)
    cfg = _runs_config(kws_config(), ["host"])
    ctx = stage_context(build, "export", cfg)
    clips = RawDataset.load(build / "sense").audio["test"][:2]
    frames = mfcc_c.frame_inputs(clips, c)
    outputs = []
    for share in (True, False):
        monkeypatch.setattr(mfcc_c, "shares_scratch", lambda _c, s=share: s)
        mfcc_c.write_sources(tmp_path / str(share), c)
        runs = run_program(mfcc_c.features_program(c), frames, root=tmp_path / str(share), work_dir=tmp_path / "fw" / str(share),
                           config=cfg, registry=registry(), target=ctx.target)
        outputs.append(runs.device.outputs)
    np.testing.assert_array_equal(outputs[0].view(np.uint32), outputs[1].view(np.uint32))
    # The whole-clip entry point (kws_features) is the per-frame one in a loop.
    whole = run_program(mfcc_c.features_program(c, per="clip"), clips, root=tmp_path / "False",
                        work_dir=tmp_path / "fw" / "clip", config=cfg, registry=registry(), target=ctx.target)
    np.testing.assert_array_equal(whole.device.outputs.reshape(outputs[1].shape).view(np.uint32),
                                  outputs[1].view(np.uint32))
