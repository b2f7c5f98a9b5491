"""The ``vibration`` app: which bearing fault, if any, from one accelerometer frame.

sense: a physics-based generator of rotating-machinery vibration (default) or
CWRU ``.mat`` files (``app.data_dir``); preprocess: band shares, time
statistics and the envelope spectrum at the bearing's defect orders, computed
by a float32 twin of the device C (:mod:`edgeml_vibration.features`,
:mod:`edgeml_vibration.feature_c`); train: a random forest sized to the
target's flash. scikit-learn, scipy and emlearn load inside the stage methods.
"""

from __future__ import annotations

from pathlib import Path

from edgeml import App, ConfigError, DataError, DeviceCode, FeatureSet, Figure, StageContext, TrainedModel
from edgeml_vibration.raw_dataset import SPLITS

#: How the features are computed on a core without an FPU: said in the feature spec and the deliverable.
NO_FPU_NOTE = ("no FPU (e.g. Cortex-M0+): the same float32 C runs on the compiler's soft-float routines "
               "(libgcc __aeabi_f*, IEEE-754 correctly rounded), so the features equal the build's bit for bit "
               "when compiled with -ffp-contract=off; it costs time, not accuracy: a soft-float multiply or add takes tens of "
               "cycles, so a latency estimate priced per integer MAC understates it")


class VibrationApp(App):
    name = "vibration"
    version = "0.1.0"
    description = "bearing fault diagnosis: accelerometer frames, envelope-spectrum features, random forest (emlearn)"
    task = "classification"
    model_kinds = ("sklearn",)
    primary_metric = "accuracy"
    default_backend = "emlearn"

    def check(self, config, target) -> None:
        """Refuse a bad app config at composition, before any signal is made."""
        from edgeml_vibration.bearing import BearingGeometry
        from edgeml_vibration.features import FeatureSpec
        from edgeml_vibration.training import check_train_config

        app = config.app
        if app.data_dir:
            if not Path(str(app.data_dir)).is_dir():
                raise DataError(f"app.data_dir={app.data_dir} is not a directory: point it at CWRU data "
                                "(one folder of .mat files per class, or a mapping file)")
        else:
            from edgeml_vibration.generator import BearingSignalGenerator

            BearingSignalGenerator(app.sense, int(config.seed))
        if int(app.sense.sample_rate) != int(app.preprocess.sample_rate):
            raise ConfigError(f"app.sense.sample_rate={app.sense.sample_rate} but the feature spec takes "
                              f"app.preprocess.sample_rate={app.preprocess.sample_rate}: set both to the data's rate")
        if int(app.sense.frame_samples) != int(app.preprocess.frame_samples):
            raise ConfigError(f"app.sense.frame_samples={app.sense.frame_samples} but app.preprocess.frame_samples="
                              f"{app.preprocess.frame_samples}: set both to the same frame length")
        orders = BearingGeometry.from_config(app.sense.bearing).orders()
        try:
            FeatureSpec.from_config(app.preprocess, int(app.sense.sample_rate), orders, design=False)
        except DataError as exc:
            raise ConfigError(str(exc)) from exc
        check_train_config(app.train)

    def sense(self, ctx: StageContext) -> dict[str, float]:
        if ctx.app.data_dir:
            from edgeml_vibration.cwru import CwruReader

            data = CwruReader(ctx.app.data_dir, ctx.app.sense, ctx.seed).read(ctx.progress)
        else:
            from edgeml_vibration.generator import BearingSignalGenerator

            data = BearingSignalGenerator(ctx.app.sense, ctx.seed).generate(ctx.progress)
        data.save(ctx.out_dir)
        return data.counts()

    def preprocess(self, ctx: StageContext) -> FeatureSet:
        from edgeml_vibration.features import FeatureSpec, compute_features
        from edgeml_vibration.raw_dataset import RawDataset

        data = RawDataset.load(ctx.input_dir("sense"))
        spec = FeatureSpec.from_config(ctx.app.preprocess, data.sample_rate, data.orders)
        length = int(data.x["train"].shape[1])
        if length != spec.frame_samples:
            raise DataError(f"{ctx.input_dir('sense')}: frames have {length} samples but the feature spec takes "
                            f"{spec.frame_samples}: set app.preprocess.frame_samples={length} (and envelope_decimation)")
        x = {s: compute_features(spec, data.x[s], data.shaft_hz[s], ctx.progress, f"features {s} (eml_fft twin)")
             for s in SPLITS}
        out = spec.to_json()
        out["device"] = device_cost(spec)
        return FeatureSet(x=x, y={s: data.y[s] for s in SPLITS}, classes=data.classes, spec=out)

    def train(self, ctx: StageContext, features: FeatureSet) -> TrainedModel:
        from edgeml_vibration.training import train_forest

        return train_forest(ctx, features)

    def device_code(self, ctx: StageContext, model, features: FeatureSet) -> DeviceCode:
        """The feature extractor's C (header + sources) in ``export/vibration/``, run on the target.

        Every runner in ``runners.use`` builds it and feeds it every test frame of the sense stage;
        its features must equal the ones the model was trained and tested on bit for bit
        (``vibration/feature_parity.json`` records it), else export fails naming the difference.
        The emulator's run gives the extractor's flash, RAM and cycles on the target.
        """
        from edgeml_vibration.feature_check import check_device_features

        files = write_device_code(ctx.out_dir, features)
        parity_file, runs = check_device_features(ctx, features)
        files.append(parity_file)
        cost = features.spec.get("device") or device_cost(spec_from_features(features))
        fpu = str((ctx.target.features or {}).get("fpu", "")).lower()
        on_target = (NO_FPU_NOTE if fpu in ("", "none", "false", "no")
                     else f"hardware single-precision FPU ({fpu}): the float32 C as verified")
        flash = Figure(int(cost["flash_bytes"]), f"feature extractor: {cost['flash_method']}")
        ram = Figure(int(cost["ram_bytes"]), f"feature extractor: {cost['ram_method']}")
        measured = runs.measured()
        image = next((r for r in reversed(list(runs.runs.values())) if r.flash_bytes is not None), None)
        if image is not None:
            flash = Figure(image.flash_bytes.value, f"feature extractor: {image.flash_bytes.method}")
            ram = Figure(image.ram_bytes.value, f"feature extractor: {image.ram_bytes.method}")
        return DeviceCode(
            files=files, flash_bytes=flash, ram_bytes=ram,
            macs=int(cost["macs"]), macs_by_kind={"float_dsp": int(cost["macs"])},
            cycles=None if measured is None else measured.cycles,
            instructions=None if measured is None else measured.instructions,
            info={"macs_method": cost["macs_method"], "api": cost["api"], "fft": cost["fft"],
                  "compile_flags": cost["compile_flags"], "features_on_this_target": on_target,
                  "programs": {"features": runs.summary()}})


def spec_from_features(features: FeatureSet):
    from edgeml_vibration.features import FeatureSpec

    s = features.spec
    keys = FeatureSpec.__dataclass_fields__
    return FeatureSpec(**{k: s[k] for k in keys})


def write_device_code(out_dir: Path, features: FeatureSet) -> list[str]:
    from edgeml_vibration.feature_c import FRAME_SOURCE, HEADER, SOURCE, c_source, frame_entry_source, header_source

    spec = spec_from_features(features)
    d = Path(out_dir) / "vibration"
    d.mkdir(parents=True, exist_ok=True)
    (d / HEADER).write_text(header_source(spec))
    (d / SOURCE).write_text(c_source(spec))
    (d / FRAME_SOURCE).write_text(frame_entry_source())
    return [f"vibration/{HEADER}", f"vibration/{SOURCE}", f"vibration/{FRAME_SOURCE}"]


def device_cost(spec) -> dict:
    """Flash and RAM of the feature extractor on the device, with how each was obtained."""
    from edgeml.csize import HOST_METHOD as METHOD, host_sizes as object_sizes
    from edgeml_vibration.feature_c import EXACT_FLAGS, HEADER, SOURCE, c_source, header_source, state_bytes

    ram = state_bytes(spec) + 4 * spec.n_features
    try:
        import emlearn

        sizes = object_sizes({SOURCE: c_source(spec), HEADER: header_source(spec)}, [emlearn.includedir])
    except ImportError:
        sizes = None
    if sizes is None:
        n = spec.fft_length
        flash, fmethod = 4 * (n + n) + 3072, "estimate: tables (Hann, sin, cos) + 3 KB code (no C compiler)"
    else:
        flash, fmethod = sizes["flash"], f"vibration_features.c, {METHOD}"
    n, levels = spec.fft_length, spec.fft_length.bit_length() - 1
    per_fft = n + (n // 2) * levels * 4 + 2 * (n // 2 + 1)      # window, butterflies (4 multiplies), power
    macs = spec.frame_samples * (3 + 5 * len(spec.envelope_sos)) + (spec.frame_samples // n + 1) * per_fft + n
    return {"flash_bytes": int(flash), "flash_method": fmethod, "ram_bytes": int(ram), "macs": int(macs),
            "macs_method": "float multiplies per frame: DC blocker and statistics 3 + band-pass 5 per biquad per "
                           "sample; per FFT (Welch blocks + envelope) window, radix-2 butterflies x 4, power",
            "ram_method": "sizeof(vibration_features_state) + the feature vector (float32 members only, "
                          "the same on 32- and 64-bit cores)",
            "c_files": [HEADER, SOURCE], "compile_flags": list(EXACT_FLAGS),
            "api": "vibration_features_init / _push(samples) / _finish(shaft_hz, features)",
            "fft": "emlearn eml_fft_forward (eml_fft.h), twiddle table as constants", "no_fpu": NO_FPU_NOTE}
