"""Shared fixtures; the blobs plugin they register lives in blobs_plugin.py."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from blobs_plugin import ROOT, BlobsPlugin

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")


@pytest.fixture
def blobs_conf(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("blobs_conf")
    (d / "app").mkdir()
    (d / "backend").mkdir()
    (d / "app" / "blobs.yaml").write_text(
        "name: blobs\ndata_dir: null\nsense: {n: 400, classes: 3, spread: 4.0, fail: false}\n"
        "preprocess: {scale: 1.0}\ntrain: {shrink: 1.0}\n")
    (d / "backend" / "pyref.yaml").write_text("name: pyref\nram_bytes: 1000\ncorrupt: false\n")
    return d


@pytest.fixture
def blobs_registry(blobs_conf):
    from edgeml.testing import registry_with

    return registry_with(BlobsPlugin(blobs_conf))


@pytest.fixture
def compose_blobs(blobs_registry, tmp_path):
    """compose(*overrides) for the blobs pipeline, building under tmp_path/build, tracking in tmp_path."""
    from edgeml.config import compose

    def _compose(*overrides: str, build: str = "build"):
        base = ["app=blobs", "backend=pyref", "target=cortex-m4", f"build_dir={tmp_path / build}",
                f"tracking.uri=sqlite:///{tmp_path / 'mlflow.db'}", "tracking.enabled=false", "progress=false"]
        return compose(base + list(overrides), blobs_registry, ROOT)

    return _compose
