"""dvc.yaml: generated from the recipes, and `dvc repro` caches the stages like edgeml does.

Runs real DVC on a copy of the project with a tiny KWS config: a first repro
builds every stage, a second is a no-op, and a changed train param re-runs
train and the stages after it only.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest
from omegaconf import OmegaConf

from blobs_plugin import ROOT
from kws_tiny import TINY_KWS, TINY_VALIDATE
from vibration_tiny import TINY_VIBRATION_OVERRIDES

pytestmark = pytest.mark.slow


def test_committed_dvc_yaml_matches_the_recipes():
    result = subprocess.run([sys.executable, "-m", "edgeml.cli", "dvc-yaml", "--check"], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


GO = "go-cortex-m4-validate"  # the Go recipe's last stage: `dvc repro GO` builds that recipe only


def _repro(cwd, env, *targets):
    result = subprocess.run([sys.executable, "-m", "dvc", "repro", *targets], cwd=cwd, env=env,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    return set(re.findall(r"Running stage '[\w-]+-(\w+)'", result.stdout))


def test_dvc_repro_builds_then_noops_then_reruns_only_later_stages(tmp_path):
    proj = tmp_path / "proj"
    for name in ("params", "pipelines", "core", "plugins"):
        shutil.copytree(ROOT / name, proj / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("dvc.yaml", ".dvcignore"):
        shutil.copy(ROOT / name, proj / name)
    kws = proj / "params" / "app" / "kws.yaml"
    cfg = OmegaConf.load(kws)
    for dotted, value in TINY_KWS.items():
        OmegaConf.update(cfg, dotted, value, merge=True)
    OmegaConf.save(cfg, kws)
    top = OmegaConf.load(proj / "params" / "config.yaml")
    for dotted, value in TINY_VALIDATE.items():
        OmegaConf.update(top, dotted, value, merge=True)
    OmegaConf.save(top, proj / "params" / "config.yaml")
    env = dict(os.environ, MLFLOW_TRACKING_URI=f"sqlite:///{tmp_path / 'mlflow.db'}", EDGEML_PROJECT=str(proj))
    subprocess.run(["git", "init", "-q"], cwd=proj, check=True)
    subprocess.run([sys.executable, "-m", "dvc", "init", "-q"], cwd=proj, check=True, env=env)

    assert _repro(proj, env, GO) == {"sense", "preprocess", "train", "compress", "export", "validate"}
    assert (proj / "builds" / "go-cortex-m4" / "report.json").is_file()
    assert _repro(proj, env, GO) == set()

    cfg = OmegaConf.load(kws)
    cfg.train.epochs = int(cfg.train.epochs) + 1
    OmegaConf.save(cfg, kws)
    assert _repro(proj, env, GO) == {"train", "compress", "export", "validate"}
    status = subprocess.run([sys.executable, "-m", "dvc", "status", GO], cwd=proj, env=env,
                            capture_output=True, text=True)
    assert "up to date" in status.stdout

    # `dvc repro` with no target builds every recipe: the vibration one too (made tiny in its recipe;
    # its app config ships inside the plugin package, so overrides go through the recipe).
    recipe = proj / "pipelines" / "vibration-cortex-m4.yaml"
    data = OmegaConf.load(recipe)
    data.overrides = list(data.overrides) + TINY_VIBRATION_OVERRIDES
    OmegaConf.save(data, recipe)
    ran = subprocess.run([sys.executable, "-m", "dvc", "repro"], cwd=proj, env=env, capture_output=True, text=True)
    assert ran.returncode == 0, ran.stdout[-2000:] + ran.stderr[-3000:]
    assert set(re.findall(r"Running stage '(vibration-cortex-m4-\w+)'", ran.stdout)) == {
        f"vibration-cortex-m4-{s}" for s in ("sense", "preprocess", "train", "compress", "export", "validate")}
    assert "Running stage 'go-" not in ran.stdout
    assert (proj / "builds" / "vibration-cortex-m4" / "report.json").is_file()

