"""Export-time proof that the shipped feature extractor computes the build's features, on the target.

The generated ``vibration_features.c`` is an :class:`edgeml.Program`
(``vibration_features_frame``: shaft speed and one frame in, the features
out, streamed through the firmware API in blocks of 100 samples). Every
runner in ``runners.use`` builds it and puts every test frame of the sense
stage through it: the host compiler, and the cross compiler with the
emulator, which also measures its flash, RAM and cycles on the target. Each
run's output must equal the preprocess stage's ``x_test`` bit for bit.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import edgeml
from edgeml import DataError, FeatureSet, StageContext
from edgeml.artifacts import write_json

PARITY_FILE = "vibration/feature_parity.json"


def features_program(n_samples: int, n_features: int) -> edgeml.Program:
    from edgeml_vibration import feature_c

    return edgeml.Program(
        name="features", entry_point=feature_c.FRAME_ENTRY,
        sources=[f"vibration/{feature_c.SOURCE}", f"vibration/{feature_c.FRAME_SOURCE}"],
        include_dirs=["vibration"], libraries={"emlearn": []}, input_dtype="float32",
        input_shape=(1 + n_samples,), output_dtype="float32", output_shape=(n_features,),
        flags=list(feature_c.EXACT_FLAGS),
        info={"input": "shaft speed in Hz, then one frame of accelerometer samples"})


def check_device_features(ctx: StageContext, features: FeatureSet) -> tuple[str, edgeml.ProgramRuns]:
    """Run the exported extractor on every test frame with every runner; DataError if any feature differs."""
    from edgeml_vibration.raw_dataset import RawDataset

    data = RawDataset.load(ctx.input_dir("sense"))
    x, shaft = data.x["test"], data.shaft_hz["test"]
    ref = np.asarray(features.x["test"], np.float32).reshape(len(x), -1)
    inputs = np.concatenate([np.asarray(shaft, np.float32).reshape(-1, 1), np.asarray(x, np.float32)], axis=1)
    program = features_program(x.shape[1], ref.shape[1])
    runs = ctx.run_program(program, inputs)
    result: dict = {"checked": True, "frames": int(len(x)), "features": int(ref.shape[1]), "runners": {}}
    worst = None
    for name, run in runs.runs.items():
        out = run.outputs.reshape(len(run.outputs), -1)     # the emulator may run the first frames only
        diff = out != ref[:len(out)]
        bad = int(diff.any(axis=1).sum())
        result["runners"][name] = {
            "frames_differing": bad, "frames_compared": int(len(out)), "method": run.method,
            "max_abs_diff": float(np.abs(out.astype(np.float64) - ref[:len(out)]).max()) if ref.size else 0.0}
        if bad and worst is None:
            worst = (name, bad, [features.spec["names"][i] for i in np.where(diff.any(axis=0))[0]][:5])
    result["frames_differing"] = max(r["frames_differing"] for r in result["runners"].values())
    result["max_abs_diff"] = max(r["max_abs_diff"] for r in result["runners"].values())
    result["skipped"] = runs.skipped
    result["method"] = ("vibration_features.c built by each runner, fed every test frame of the sense stage in "
                        "blocks of 100 samples, compared with preprocess/x_test.npy exactly")
    write_json(Path(ctx.out_dir) / PARITY_FILE, result)
    if worst is not None:
        name, bad, cols = worst
        raise DataError(f"the exported feature extractor ({name} runner) differs from the build's features on {bad} "
                        f"of {len(x)} test frames (first features: {', '.join(cols)}): the C twin and "
                        "edgeml_vibration.features disagree; report it with the build dir")
    return PARITY_FILE, runs
