"""Session fixtures: the tiny Keras model of the tflite tests, compressed for real, then exported."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tiny_keras_build import TinyBuild, make_tiny_build


def finish_stage(tiny: TinyBuild, stage: str, out_dir: Path) -> Path:
    """Move a stage's output where ``ctx.input_dir`` looks for it, with a placeholder manifest."""
    final = tiny.build_dir / stage
    if final.exists():
        shutil.rmtree(final)
    shutil.move(str(out_dir), final)
    (final / "manifest.json").write_text("{}\n")
    return final


@pytest.fixture(scope="session")
def tiny(tmp_path_factory) -> TinyBuild:
    return make_tiny_build(tmp_path_factory.mktemp("tflm-build"))


@pytest.fixture(scope="session")
def compressed(tiny):
    """The real tflite-int8 compressor's result, saved as the compress stage."""
    import edgeml
    from edgeml_tflite.compressor import TfliteInt8Compressor

    ctx = tiny.ctx("compress")
    model = TfliteInt8Compressor().compress(ctx, tiny.trained, tiny.features)
    model.save(ctx.out_dir)
    finish_stage(tiny, "compress", ctx.out_dir)
    return edgeml.CompressedModel.load(tiny.build_dir / "compress")


@pytest.fixture(scope="session")
def exported(tiny, compressed):
    """(Deliverable, export dir): the tflm export, saved as the export stage."""
    from edgeml_tflm.backend import TflmBackend

    ctx = tiny.ctx("export")
    deliverable = TflmBackend().export(ctx, compressed, tiny.features)
    deliverable.save(ctx.out_dir)
    return deliverable, finish_stage(tiny, "export", ctx.out_dir)
