"""Core's side of the six stages: call the selected plugin, persist its typed result.

Each function takes a :class:`StageContext` and the :class:`BuildConfig` and
returns the stage's metrics. Only validate does more than delegate: it
compares runtimes, estimates latency, gathers checks and writes the report.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from edgeml import metrics as scoring
from edgeml.artifacts import (
    CompressedModel, Deliverable, DeviceCode, DeviceRun, FeatureSet, Figure, TrainedModel, write_json,
)
from edgeml.config import BuildConfig
from edgeml.errors import PluginError
from edgeml.report import build_latency, build_report
from edgeml.run import Evaluation, StageContext, ValidationInput

STAGES = ("sense", "preprocess", "train", "compress", "export", "validate")

#: The config each stage reads (besides its upstream artifacts). A change in
#: any of these re-runs the stage; dvc.yaml's ``params`` mirror this table.
STAGE_PARAMS: dict[str, tuple[str, ...]] = {
    "sense": ("seed", "app.name", "app.data_dir", "app.sense"),
    "preprocess": ("app.preprocess",),
    "train": ("seed", "app.train", "target"),
    "compress": ("seed", "compress"),
    # The app's device code may scale its cost to the deployment's rate (streaming features).
    "export": ("backend", "target", "runners", "app.requirements", "validate.rate_hz"),
    "validate": ("validate", "app.requirements", "target", "runners"),
}


def _expect(obj: object, cls: type, who: str, method: str) -> None:
    if not isinstance(obj, cls):
        raise PluginError(f"{who}.{method}() returned {type(obj).__name__}, not edgeml.{cls.__name__}: fix the plugin")


def _evaluate(bc: BuildConfig, level: str, outputs: np.ndarray, features: FeatureSet,
              trained: TrainedModel) -> dict:
    """The app's metrics of one level, checked to hold the primary metric."""
    result = bc.app.evaluate(Evaluation(level=level, outputs=np.asarray(outputs), features=features,
                                        trained=trained, config=bc.config))
    prim = bc.app.primary_metric
    if not isinstance(result, dict) or not isinstance(result.get(prim), (int, float, np.floating, np.integer)):
        raise PluginError(f"app '{bc.app.name}'.evaluate() must return a dict with its primary metric '{prim}' "
                          f"as a number (got {type(result).__name__}"
                          f"{'' if not isinstance(result, dict) else ' with keys ' + ', '.join(sorted(result))}): "
                          "fix the app or its primary_metric")
    return result


def _test_metrics(bc: BuildConfig, level: str, outputs: np.ndarray, features: FeatureSet,
                  trained: TrainedModel) -> dict[str, float]:
    return {f"test.{k}": v for k, v in scoring.flatten(_evaluate(bc, level, outputs, features, trained)).items()
            if not k.startswith("confusion")}


def sense(ctx: StageContext, bc: BuildConfig) -> dict[str, float]:
    result = bc.app.sense(ctx) or {}
    return {k: float(v) for k, v in result.items()}


def preprocess(ctx: StageContext, bc: BuildConfig) -> dict[str, float]:
    fs = bc.app.preprocess(ctx)
    _expect(fs, FeatureSet, f"app '{bc.app.name}'", "preprocess")
    fs.save(ctx.out_dir)
    out = {f"n_{s}": float(len(fs.y[s])) for s in fs.y}
    out["n_features"] = float(np.prod(fs.input_shape))
    return out


def train(ctx: StageContext, bc: BuildConfig) -> dict[str, float]:
    features = FeatureSet.load(ctx.input_dir("preprocess"))
    model = bc.app.train(ctx, features)
    _expect(model, TrainedModel, f"app '{bc.app.name}'", "train")
    if model.kind not in bc.app.model_kinds:
        raise PluginError(f"app '{bc.app.name}' trained a '{model.kind}' model but declares {bc.app.model_kinds}: "
                          "add the kind to App.model_kinds")
    model.metrics.update(_test_metrics(bc, "float", model.test_outputs, features, model))
    model.save(ctx.out_dir)
    return dict(model.metrics)


def compress(ctx: StageContext, bc: BuildConfig) -> dict[str, float]:
    features = FeatureSet.load(ctx.input_dir("preprocess"))
    trained = TrainedModel.load(ctx.input_dir("train"))
    model = bc.compressor.compress(ctx, trained, features)
    _expect(model, CompressedModel, f"compressor '{bc.compressor.name}'", "compress")
    model.metrics.update(_test_metrics(bc, "int8", model.dequantized_outputs(), features, trained))
    model.metrics["macs"] = float(model.macs)
    model.save(ctx.out_dir)
    return dict(model.metrics)


def _add_app_code(bc: BuildConfig, ctx: StageContext, deliverable: Deliverable, code: DeviceCode | list | None) -> None:
    """Put the app's device code in the deliverable: its files, and its flash and RAM on top of the model's."""
    if code is None:
        return
    if not isinstance(code, DeviceCode):
        code = DeviceCode(files=[str(f) for f in code])
    code.files = [str(f) for f in code.files]
    clash = sorted(set(code.files) & set(deliverable.files))
    if clash:
        raise PluginError(f"app '{bc.app.name}' device_code() overwrote the backend's {', '.join(clash)}: "
                          f"write the app's sources under {bc.app.name}/")
    if not code.files:
        return
    deliverable.files = list(deliverable.files) + code.files
    parts = {"model": {"flash_bytes": int(deliverable.flash_bytes.value), "flash_method": deliverable.flash_bytes.method,
                       "ram_bytes": int(deliverable.ram_bytes.value), "ram_method": deliverable.ram_bytes.method},
             "app_code": code.to_json()}
    for attr, label in (("flash_bytes", "flash"), ("ram_bytes", "RAM")):
        extra = getattr(code, attr)
        if extra is not None:
            mine = getattr(deliverable, attr)
            setattr(deliverable, attr, Figure(mine.value + extra.value,
                                              f"model {int(mine.value)} B ({mine.method}) + app '{bc.app.name}' "
                                              f"device code {int(extra.value)} B ({extra.method})"))
    deliverable.info["parts"] = parts


def export(ctx: StageContext, bc: BuildConfig) -> dict[str, float]:
    features = FeatureSet.load(ctx.input_dir("preprocess"))
    model = CompressedModel.load(ctx.input_dir("compress"))
    deliverable = bc.backend.export(ctx, model, features)
    _expect(deliverable, Deliverable, f"backend '{bc.backend.name}'", "export")
    _add_app_code(bc, ctx, deliverable, bc.app.device_code(ctx, model, features))
    missing = [f for f in deliverable.files if not (ctx.out_dir / f).is_file()]
    if missing:
        raise PluginError(f"the deliverable lists files that were not written: {', '.join(missing)} "
                          f"(backend '{bc.backend.name}', app '{bc.app.name}' device_code): fix the plugin")
    deliverable.save(ctx.out_dir)
    return {"flash_bytes": float(deliverable.flash_bytes.value), "ram_bytes": float(deliverable.ram_bytes.value)}


def _program_inputs(program, model: CompressedModel, features: FeatureSet) -> np.ndarray:
    """The test split as the model program takes it: float features, or quantized with the model's input scale."""
    x = np.asarray(features.x["test"])
    if program.input_dtype == "float32":
        return x.astype(np.float32)
    if model.input_quant is None:
        raise PluginError(f"the deliverable's program takes {program.input_dtype} but the compressed model has no "
                          "input quantization: fix the backend or the compressor")
    return model.input_quant.quantize(x)


def _run_program(ctx: StageContext, bc: BuildConfig, deliverable: Deliverable, model: CompressedModel,
                 features: FeatureSet) -> DeviceRun:
    """Build the deliverable's model program with the runners and put the test split through it."""
    program = deliverable.program
    runs = ctx.run_program(program, _program_inputs(program, model, features), root=ctx.input_dir("export"))
    ref = np.asarray(model.test_outputs)
    dev = runs.complete()
    outputs = dev.outputs.reshape(ref.shape) if dev.outputs.size == ref.size else dev.outputs
    measured = runs.measured()
    info = {"programs": {"model": runs.summary()}}
    if measured is not None and measured.instructions is not None:
        info["instructions"] = measured.instructions.to_json()
    _measured_memory(deliverable, runs)
    method = dev.method
    short = [f"{r.runner} ran the first {len(r.outputs)} of {len(dev.outputs)}" for r in runs.runs.values()
             if len(r.outputs) < len(dev.outputs)]
    if short:
        method += f" ({'; '.join(short)} within its budget)"
    return DeviceRun(test_outputs=outputs, method=method, cycles=None if measured is None else measured.cycles,
                     diagnosis="; ".join(runs.differences) or None, info=info)


def _measured_memory(deliverable: Deliverable, runs) -> None:
    """Replace the model's export-time flash and RAM with the linked image's, when a runner measured them."""
    image = next((r for r in reversed(list(runs.runs.values())) if r.flash_bytes is not None), None)
    if image is None:
        return
    parts = deliverable.info.get("parts")
    app = (parts or {}).get("app_code") or {}
    for attr, key in (("flash_bytes", "flash"), ("ram_bytes", "ram")):
        mine = getattr(image, attr)
        if mine is None:
            continue
        extra = app.get(attr)
        if extra:
            value = mine.value + extra["value"]
            method = f"model {int(mine.value)} B ({mine.method}) + app device code {int(extra['value'])} B " \
                     f"({extra['method']})"
        else:
            value, method = mine.value, mine.method
        setattr(deliverable, attr, Figure(value, method))
        if parts is not None:
            parts["model"][f"{key}_bytes"] = int(mine.value)
            parts["model"][f"{key}_method"] = mine.method


def validate(ctx: StageContext, bc: BuildConfig) -> dict[str, float]:
    features = FeatureSet.load(ctx.input_dir("preprocess"))
    trained = TrainedModel.load(ctx.input_dir("train"))
    model = CompressedModel.load(ctx.input_dir("compress"))
    deliverable = Deliverable.load(ctx.input_dir("export"))
    if deliverable.program is not None:
        device = _run_program(ctx, bc, deliverable, model, features)
    else:
        device = bc.backend.run(ctx, deliverable, model, features)
    np.save(ctx.out_dir / "device_outputs.npy", np.asarray(device.test_outputs))
    levels = {"float": np.asarray(trained.test_outputs)} | dict(model.levels) | {
        "int8": model.dequantized_outputs(), "device": model.dequantize(device.test_outputs)}
    scores = {level: _evaluate(bc, level, outputs, features, trained) for level, outputs in levels.items()}
    figures = [str(f) for f in (bc.app.illustrate(ctx, Evaluation(
        level="device", outputs=levels["device"], features=features, trained=trained, config=bc.config)) or [])]
    latency = build_latency(model, deliverable, bc.target, device)
    vin = ValidationInput(config=ctx.config, target=bc.target, task=bc.app.task, features=features, trained=trained,
                          compressed=model, deliverable=deliverable, device=device,
                          latency_cycles=latency["cycles"], scores=scores, primary=bc.app.primary_metric)
    checks = [c for result in bc.registry.pm.hook.edgeml_validate(validation=vin) for c in (result or [])]
    report = build_report(bc, vin, latency, checks)
    report["figures"] = [f"validate/{f}" for f in figures]
    write_json(ctx.out_dir / "report.json", report)
    prim = bc.app.primary_metric
    power = report.get("power") or {}
    return {f"{level}.{prim}": float(s[prim]) for level, s in scores.items()} | {
        "parity.mismatches": float(report["parity"]["mismatches"]), "fits": float(report["fits"]),
        "passed": float(report["passed"]), "latency_ms": float(report["latency"]["ms"] or 0.0),
        "flash_bytes": float(report["memory"]["flash_bytes"]), "ram_bytes": float(report["memory"]["ram_bytes"])} | (
        {"average_mw": float(power["average_mw"])} if power.get("average_mw") is not None else {})


#: Which selected component does each stage's work (its name and version go in the manifest).
STAGE_COMPONENT: dict[str, str] = {"sense": "app", "preprocess": "app", "train": "app",
                                   "compress": "compressor", "export": "backend", "validate": "backend"}


STAGE_FUNCTIONS: dict[str, Callable[[StageContext, BuildConfig], dict[str, float]]] = {
    "sense": sense, "preprocess": preprocess, "train": train,
    "compress": compress, "export": export, "validate": validate,
}
