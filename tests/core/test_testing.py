"""edgeml.testing, the helpers plugin authors test with."""

from __future__ import annotations

import numpy as np

from blobs_plugin import ROOT, BlobsApp, BlobsPlugin
from edgeml.artifacts import FeatureSet
from edgeml.testing import build, compose_with, mark_finished, stage_context


def test_build_runs_a_plugin_through_every_stage(blobs_conf, tmp_path):
    records, report = build(["app=blobs", "backend=pyref", f"build_dir={tmp_path / 'b'}"], BlobsPlugin(blobs_conf),
                            root=ROOT)
    assert len(records) == 6 and report["passed"]


def test_stage_methods_can_be_called_one_by_one(blobs_conf, tmp_path):
    bc = compose_with(["app=blobs", "backend=pyref"], BlobsPlugin(blobs_conf), root=ROOT)
    app = BlobsApp()
    sense = stage_context("sense", bc.config, tmp_path)
    assert app.sense(sense) == {"n": 400}
    mark_finished(sense.out_dir)
    features = app.preprocess(stage_context("preprocess", bc.config, tmp_path))
    assert isinstance(features, FeatureSet) and len(features.y["test"]) == 80
    model = app.train(stage_context("train", bc.config, tmp_path), features)
    assert model.kind == "centroids" and np.isfinite(model.test_outputs).all()
