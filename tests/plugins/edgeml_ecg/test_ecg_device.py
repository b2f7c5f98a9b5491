"""The ECG device code as an edgeml.Program: one call per test beat, built by the host compiler (with
ASan/UBSan) and for the Cortex-M4 (emulated), compared with the preprocess stage's features."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf

import edgeml
from ecg_tiny import ecg_app_config
from edgeml import CompressedModel, DataError, QuantParams, testing
from edgeml_ecg import device_check
from edgeml_ecg.app import EcgApp

ROOT = Path(__file__).resolve().parents[3]


def _emulator_here() -> bool:
    try:
        import unicorn  # noqa: F401
    except ImportError:
        return False
    return shutil.which("arm-none-eabi-gcc") is not None


def _config(use: list[str], target: str = "cortex-m4"):
    app = ecg_app_config()
    app.sense.synth.records = {"train": 1, "val": 1, "test": 1}
    return OmegaConf.create({
        "seed": 0, "app": app, "target": OmegaConf.load(ROOT / "params" / "target" / f"{target}.yaml"),
        "runners": {"use": use, "host": {"sanitize": True},
                    "emulator": {"profile_examples": 4, "max_instructions": 200_000_000}}})


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Sense and preprocess of one 60 s test record (plus a train and a val record)."""
    build = tmp_path_factory.mktemp("ecg_device")
    cfg = _config(["host"])
    app = EcgApp()
    ctx = testing.stage_context("sense", cfg, build)
    app.sense(ctx)
    testing.mark_finished(ctx.out_dir)
    return app.preprocess(testing.stage_context("preprocess", cfg, build)), build


def _model(x: np.ndarray) -> CompressedModel:
    """An int8 model input quantization as a converter calibrates it on features like these."""
    lo, hi = min(float(x.min()), 0.0), max(float(x.max()), 0.0)
    scale = (hi - lo) / 255.0
    return CompressedModel(format="tflite-int8", path="model.tflite", test_outputs=np.zeros((len(x), 3), np.int8),
                           reference="test", input_quant=QuantParams(scale=scale, zero_point=round(-128 - lo / scale)))


def test_stagewise_bandpass_is_the_cascade_and_inputs_are_the_raw_windows(built):
    from edgeml_ecg.features import FeatureSettings, bandpass, bandpass_stages, biquad_coefficients, filter_state
    from edgeml_ecg.records import RawEcg

    features, build = built
    data = RawEcg.load(build / "sense")
    s = FeatureSettings.from_config(ecg_app_config().preprocess, data.fs)
    coefs = biquad_coefficients(s)
    rec = data.split("test")[0]
    stages = bandpass_stages(rec.signal, coefs)
    import cmsisdsp as dsp

    inst = dsp.arm_biquad_casd_df1_inst_f32()
    dsp.arm_biquad_cascade_df1_init_f32(inst, len(coefs), coefs.reshape(-1), np.zeros(4 * len(coefs), np.float32))
    cascade = np.asarray(dsp.arm_biquad_cascade_df1_f32(inst, rec.signal.astype(np.float32)), np.float32)
    assert stages[-1].tobytes() == cascade.tobytes() == bandpass(rec.signal, coefs).tobytes()
    assert filter_state(stages, 0).tolist() == [0.0] * 8
    st = filter_state(stages, 500)
    assert st[:4].tolist() == [rec.signal[499], rec.signal[498], stages[1][499], stages[1][498]]

    x, index = device_check.beat_inputs(data.split("test"), s, coefs)
    layout = device_check.features_program(features.spec).info["layout"]
    assert x.shape == (len(features.x["test"]), layout["size"]) == (len(x), 8 + 256 + 12 + 1)
    assert index == [{"record": rec.name, "beats": len(x)}]
    k = 10
    n_prev = int(x[k, layout["n_prev"][0]])
    peaks = x[k, layout["peaks"][0]:layout["peaks"][1]]
    assert 1 <= n_prev <= 10 and peaks[n_prev] == s.before and peaks[n_prev + 1] > s.before
    # The samples are the raw samples of the window around one R peak, the state the filter's before it.
    window = x[k, layout["samples"][0]:layout["samples"][1]]
    starts = [int(p) - s.before for p in rec.peaks
              if np.array_equal(rec.signal[max(0, int(p) - s.before):int(p) + s.after], window)]
    assert len(starts) == 1 and np.array_equal(filter_state(stages, starts[0]), x[k, :8])
    assert layout["output_size"] == s.input_size


@pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")
def test_device_code_runs_every_test_beat_within_the_bound(built):
    """export's device_code: host (ASan/UBSan) and the Cortex-M4 emulator, parity JSON and figures."""
    features, build = built
    use = ["host", "emulator"] if _emulator_here() else ["host"]
    ctx = testing.stage_context("export", _config(use), build)
    code = EcgApp().device_code(ctx, _model(features.x["test"]), features)

    assert isinstance(code, edgeml.DeviceCode)
    assert code.files == ["ecg/ecg_features.h", "ecg/ecg_features.c", "ecg/ecg_features_beat.c",
                          device_check.PARITY_FILE]
    text = (ctx.out_dir / device_check.PARITY_FILE).read_text()
    assert str(build) not in text and "seconds" not in text
    parity = json.loads(text)
    assert parity["runners_agree_bit_for_bit"] and set(parity["runners"]) == set(use)
    n = len(features.x["test"])
    assert parity["examples"]["beats"] == n > 50
    for r in parity["runners"].values():
        assert r["beats"] == n
        assert r["max_abs_diff_rr"] == 0.0                         # RR features: exact
        assert 0 < r["max_abs_diff"] <= device_check.MAX_ABS_DIFF   # band-pass rounding (see the module)
        assert r["int8"]["max_lsb"] <= device_check.MAX_INPUT_LSB
        assert r["int8"]["elements_differing"] < 0.01 * r["elements"]
    programs = code.info["programs"]["features"]
    assert programs["entry_point"] == "ecg_features_beat" and programs["outputs_agree"]
    if "emulator" in use:
        em = programs["runs"]["emulator"]
        assert "cortex-m4" in em["method"] and em["cycles"]["value"] == code.cycles.value
        # One beat: 2 biquads x 256 samples, normalisation with 256 divides, RR: ~15 k instructions.
        assert 5_000 < code.instructions.value < 50_000 < code.cycles.value * 2
        assert code.cycles.value > code.instructions.value
        assert 300 < code.flash_bytes.value < 4096 and "features.elf" in code.flash_bytes.method
        # The stack holds the filtered window (1 KB); the harness's input/output buffers are outside.
        assert 1024 < code.ram_bytes.value < 4096 and "stack" in code.ram_bytes.method
    else:
        assert code.cycles is None and code.flash_bytes is None


def test_a_feature_set_from_other_records_is_refused(built, tmp_path):
    features, build = built
    cut = edgeml.FeatureSet(x={**features.x, "test": features.x["test"][:-1]}, y=features.y,
                            classes=features.classes, spec=features.spec)
    ctx = testing.stage_context("export", _config(["host"]), build)
    ctx.out_dir = tmp_path
    with pytest.raises(DataError, match="re-run preprocess and export together"):
        EcgApp().device_code(ctx, _model(features.x["test"]), cut)


def test_bound_names_the_beat_and_feature():
    ref = np.zeros((3, 259), np.float32)
    out = ref.copy()
    out[2, 257] = 0.05
    quant = QuantParams(scale=0.02, zero_point=0)
    r = device_check.compare(out, ref, 256, quant)
    assert r["int8"]["max_lsb"] == 3 and r["beats_differing"] == 1 and r["max_abs_diff_rr"] == pytest.approx(0.05)
    with pytest.raises(DataError, match=r"3 int8 steps .* test beat 2, RR feature 'post_rr / local_rr'"):
        device_check.check_bound("emulator", r, 256)
    out[2, 257] = 1e-6
    device_check.check_bound("emulator", device_check.compare(out, ref, 256, quant), 256)
    with pytest.raises(DataError, match="bound 0.001"):
        device_check.check_bound("host", device_check.compare(out + 0.01, ref, 256, None), 256)
