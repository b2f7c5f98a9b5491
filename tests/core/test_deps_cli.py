"""``edgeml deps``: the C libraries with their status, installing one by name, and how mistakes are refused.

A small C library plugin (``toylib``: one header, installed by copying it from ``--from PATH``) stands in
for a real one the way the blobs plugin stands in for an app; the installed plugins' libraries are listed
as they are. The real installers are tested with their plugins.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import edgeml
from blobs_plugin import ROOT
from edgeml.cli import deps, main
from edgeml.plugins import load_registry
from edgeml.testing import registry_with


class ToyLib(edgeml.CLibrary):
    """One header, found in ``cache``; installed only from a directory holding it."""

    name = "toylib"

    def __init__(self, cache: Path):
        self.cache = cache

    def locate(self) -> edgeml.LibraryFiles:
        if (self.cache / "toy.h").is_file():
            return edgeml.LibraryFiles(root=self.cache, include_dirs=[self.cache], version="toy 1.0")
        raise edgeml.IncompatibleError("toylib is not on this machine: run `edgeml deps toylib --from PATH`")

    def install(self, source=None, progress=None, force=False) -> edgeml.LibraryFiles:
        if source is None:
            raise edgeml.DataError("toylib has no download: run `edgeml deps toylib --from PATH`")
        if progress is not None:
            progress.message(f"copying {source / 'toy.h'}")
        self.cache.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / "toy.h", self.cache / "toy.h")
        return self.locate()


class ToyLibPlugin:
    def __init__(self, cache: Path):
        self.lib = ToyLib(cache)

    @edgeml.hookimpl
    def edgeml_register_c_libraries(self):
        return [self.lib]


@pytest.fixture
def toy(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "toy.h").write_text("#define TOY 1\n")
    return registry_with(ToyLibPlugin(tmp_path / "cache")), src, tmp_path / "cache"


def _edgeml_deps(*args):
    return subprocess.run([sys.executable, "-m", "edgeml.cli", "deps", *args], cwd=ROOT, capture_output=True,
                          text=True)


def test_list_shows_each_library_located_or_why_not(toy, capsys):
    registry, src, cache = toy
    assert deps(registry) == 0
    lines = {ln.split()[0]: ln for ln in capsys.readouterr().out.splitlines()}
    assert set(lines) == set(registry.c_libraries) and "emlearn" in lines
    assert lines["toylib"].split(None, 2) == ["toylib", "missing", "toylib is not on this machine: run "
                                                                   "`edgeml deps toylib --from PATH`"]
    emlearn = registry.c_libraries["emlearn"].locate()
    assert lines["emlearn"].split() == ["emlearn", "located", emlearn.version, str(emlearn.root)]
    # Listing installs nothing.
    assert not cache.exists()


def test_install_by_name_prints_where_and_locate_finds_it(toy, capsys):
    registry, src, cache = toy
    assert deps(registry, ["toylib"], source=str(src)) == 0
    captured = capsys.readouterr()
    assert captured.out == f"toylib: toy 1.0 in {cache}\n"
    assert f"toylib: copying {src.resolve() / 'toy.h'}" in captured.err
    assert registry.c_libraries["toylib"].locate().root == cache
    assert deps(registry) == 0
    listed = [ln.split() for ln in capsys.readouterr().out.splitlines()]
    assert ["toylib", "located", "toy", "1.0", str(cache)] in listed


def test_unknown_name_is_one_line_listing_the_known_ones_exit_2():
    result = _edgeml_deps("nope", "emlearn")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("edgeml: error: unknown C library 'nope': choose from ")
    known = lines[0].split("choose from ", 1)[1].split(", ")
    assert known == sorted(load_registry().c_libraries) and "emlearn" in known


def test_arguments_with_equals_are_names_or_paths_not_overrides(capsys):
    assert main(["deps", "a=b"]) == 2
    assert "unknown C library 'a=b'" in capsys.readouterr().err


def test_from_with_several_names_is_refused(toy):
    registry, src, cache = toy
    with pytest.raises(edgeml.ConfigError, match=r"--from takes one C library, got 2 \(toylib, emlearn\)"):
        deps(registry, ["toylib", "emlearn"], source=str(src))
    assert not cache.exists()


def test_from_or_force_without_a_name_is_refused():
    for args in (["--from", "."], ["--force"]):
        result = _edgeml_deps(*args)
        assert result.returncode == 2, args
        assert result.stderr.strip().splitlines() == [
            "edgeml: error: --from and --force need the name of the C library to install: edgeml deps NAME "
            "[--from PATH] (edgeml deps lists them)"]


def test_from_a_path_that_does_not_exist(toy, tmp_path):
    registry, src, cache = toy
    with pytest.raises(edgeml.DataError, match="--from .*nowhere: no such file or directory"):
        deps(registry, ["toylib"], source=str(tmp_path / "nowhere"))


def test_a_failure_among_several_names_is_reported_and_the_rest_install(toy, capsys):
    registry, src, cache = toy
    assert deps(registry, ["toylib", "emlearn"]) == 1  # toylib's DataError
    captured = capsys.readouterr()
    assert captured.err.strip().splitlines()[-1] == ("edgeml: error: toylib: toylib has no download: run "
                                                     "`edgeml deps toylib --from PATH`")
    assert captured.out.startswith("emlearn: ")


def test_one_failing_name_exits_with_its_error_code():
    result = _edgeml_deps("emlearn", "--from", str(ROOT))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "edgeml: error: C library 'emlearn' does not install itself through edgeml, so it takes no source path: "
        f"install it as its plugin's docs say ({load_registry().c_libraries['emlearn'].description})"]


def test_default_install_returns_a_library_that_comes_with_its_package():
    """A library that declares no installer is 'installed' when locate finds it, and refused when not."""
    lib = load_registry().c_libraries["emlearn"]
    assert type(lib).install is edgeml.CLibrary.install
    assert lib.install() == lib.locate()

    class Nowhere(edgeml.CLibrary):
        name = "nowhere"

        def locate(self):
            raise edgeml.IncompatibleError("nowhere is not installed: apt-get install libnowhere-dev")

    with pytest.raises(edgeml.IncompatibleError) as err:
        Nowhere().install()
    assert str(err.value) == ("C library 'nowhere' does not install itself through edgeml: nowhere is not "
                              "installed: apt-get install libnowhere-dev")
