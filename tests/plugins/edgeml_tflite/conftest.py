"""Session fixtures: the tiny build, and the compressor run on it once."""

from __future__ import annotations

import pytest

from tiny_keras_build import TinyBuild, make_tiny_build


@pytest.fixture(scope="session")
def tiny(tmp_path_factory) -> TinyBuild:
    return make_tiny_build(tmp_path_factory.mktemp("tflite-build"))


@pytest.fixture(scope="session")
def compressed(tiny):
    """The compressor run once; returns (CompressedModel, the compress stage dir)."""
    return tiny.compress(), tiny.build_dir / "compress"
