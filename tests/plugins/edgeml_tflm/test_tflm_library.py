"""The C library ``tflm``: located in the cache only with the pinned content, installed only from a checkout
whose sources and downloads hash to the pinned content; every refusal is one line naming the fix."""

from __future__ import annotations

import shutil

import edgeml
import pytest
from edgeml_tflm import fetch, library


def test_plugin_registers_the_library():
    from edgeml.plugins import load_registry

    assert isinstance(load_registry().c_libraries["tflm"], library.Tflm)


def test_install_without_a_source_names_the_checkout_to_give(tmp_path):
    with pytest.raises(edgeml.DataError, match="--from PATH") as err:
        fetch.install(None, dest=tmp_path / "tflm")
    assert "\n" not in str(err.value) and not (tmp_path / "tflm").exists()


def test_a_directory_without_tflm_is_refused(tmp_path):
    (tmp_path / "src").mkdir()
    with pytest.raises(edgeml.DataError, match="no tflite-micro checkout") as err:
        fetch.install(tmp_path / "src", dest=tmp_path / "tflm")
    assert "\n" not in str(err.value) and not (tmp_path / "tflm").exists()


def test_the_cache_is_located_and_a_changed_copy_is_refused(tmp_path, monkeypatch):
    reason = library.missing_reason()
    if reason:
        pytest.skip(reason)
    monkeypatch.delenv(library.ENV_ROOT, raising=False)
    files = library.Tflm().locate()
    assert files.version == library.PINNED_VERSION
    assert (files.root / "tensorflow/lite/micro/micro_interpreter.cc").is_file()
    assert all(d.is_dir() for d in files.include_dirs)
    assert (files.include_dirs[1] / "flatbuffers/base.h").is_file()   # flatbuffers' include dir
    copy = tmp_path / "copy"
    shutil.copytree(files.root, copy)
    (copy / library.STAMP).unlink()
    assert library.content_hash(copy) == library.CONTENT_SHA256
    (copy / "tensorflow/lite/micro/micro_interpreter.cc").write_text("// changed\n")
    with pytest.raises(edgeml.DataError, match="hash to") as err:
        fetch.install(copy, dest=tmp_path / "tflm")
    assert "\n" not in str(err.value) and not (tmp_path / "tflm").exists()
    monkeypatch.setenv(library.ENV_ROOT, str(copy))
    assert library.Tflm().locate().version.startswith("TFLM unpinned checkout")
