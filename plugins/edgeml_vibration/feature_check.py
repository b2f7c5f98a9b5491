"""Export-time proof that the shipped feature extractor computes the build's features.

The generated ``vibration_features.c`` is compiled with the host's gcc
(``-O2 -Wall -Wextra -Werror -ffp-contract=off``, emlearn's headers as
system headers) with a small harness, fed every test frame of the sense
stage through its streaming API, and its output compared with the
preprocess stage's ``x_test`` exactly.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from edgeml import DataError, FeatureSet, StageContext
from edgeml.artifacts import write_json

PARITY_FILE = "vibration/feature_parity.json"
FLAGS = ("-O2", "-std=c99", "-Wall", "-Wextra", "-Werror")


def check_device_features(ctx: StageContext, features: FeatureSet) -> str:
    from edgeml_vibration import feature_c
    from edgeml_vibration.raw_dataset import RawDataset

    out = Path(ctx.out_dir) / PARITY_FILE
    cc = shutil.which(os.environ.get("CC", "gcc"))
    if cc is None:
        write_json(out, {"checked": False, "reason": "no C compiler on the build machine"})
        return PARITY_FILE
    import emlearn

    data = RawDataset.load(ctx.input_dir("sense"))
    x, shaft = data.x["test"], data.shaft_hz["test"]
    ref = np.asarray(features.x["test"], np.float32).reshape(len(x), -1)
    src = Path(ctx.out_dir) / "vibration"
    flags = [*FLAGS, *feature_c.EXACT_FLAGS]
    with tempfile.TemporaryDirectory(prefix="edgeml-vibration-") as tmp:
        d = Path(tmp)
        (d / "harness.c").write_text(feature_c.host_harness_source())
        exe = d / "features"
        cmd = [cc, *flags, f"-I{src}", "-isystem", emlearn.includedir, str(src / feature_c.SOURCE),
               str(d / "harness.c"), "-lm", "-o", str(exe)]
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode != 0:
            raise DataError(f"vibration/{feature_c.SOURCE} does not compile warning-free: {res.stderr.strip()[:1500]}")
        with open(d / "in.bin", "wb") as fh:
            np.int32(len(x)).tofile(fh)
            for i in range(len(x)):
                np.float32(shaft[i]).tofile(fh)
                np.ascontiguousarray(x[i], np.float32).tofile(fh)
        res = subprocess.run([str(exe), str(d / "in.bin"), str(d / "out.bin")], capture_output=True, text=True)
        if res.returncode != 0:
            raise DataError(f"the compiled feature extractor exited with {res.returncode} on the test frames")
        c_out = np.fromfile(d / "out.bin", np.float32).reshape(len(x), -1)
    diff = c_out != ref
    bad_frames = int(diff.any(axis=1).sum())
    version = subprocess.run([cc, "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    result = {"checked": True, "frames": int(len(x)), "features": int(ref.shape[1]), "frames_differing": bad_frames,
              "max_abs_diff": float(np.abs(c_out.astype(np.float64) - ref).max()) if ref.size else 0.0,
              "method": f"vibration_features.c compiled with {version} {' '.join(flags)}, streamed in blocks of "
                        "100 samples, compared with preprocess/x_test.npy exactly"}
    write_json(out, result)
    if bad_frames:
        cols = [features.spec["names"][i] for i in np.where(diff.any(axis=0))[0]][:5]
        raise DataError(f"the exported feature extractor differs from the build's features on {bad_frames} of "
                        f"{len(x)} test frames (first features: {', '.join(cols)}): the C twin and "
                        "edgeml_vibration.features disagree; report it with the build dir")
    return PARITY_FILE
