"""Session fixtures: the tiny Keras model, compressed for real by the tflite plugin, then exported."""

from __future__ import annotations

import pytest

from tiny_keras_build import TinyBuild, make_tiny_build


@pytest.fixture(scope="session")
def tiny(tmp_path_factory) -> TinyBuild:
    return make_tiny_build(tmp_path_factory.mktemp("tflm-build"))


@pytest.fixture(scope="session")
def compressed(tiny):
    """The real tflite-int8 compressor's result, as the finished compress stage."""
    return tiny.compress()


@pytest.fixture(scope="session")
def exported(tiny, compressed):
    """(Deliverable, export dir): the tflm export, saved as the export stage."""
    from edgeml_tflm.backend import TflmBackend

    ctx = tiny.ctx("export")
    deliverable = TflmBackend().export(ctx, compressed, tiny.features)
    deliverable.save(ctx.out_dir)
    return deliverable, tiny.finish("export", ctx.out_dir)
