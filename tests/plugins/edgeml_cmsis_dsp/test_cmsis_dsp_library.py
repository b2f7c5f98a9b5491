"""The ``cmsis-dsp`` C library: where it is found, what it says when it is not, the fetch's checks, the shim."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

import edgeml
from edgeml_cmsis_dsp import fetch, library
from edgeml_cmsis_dsp.library import CmsisDsp

#: Where the session's helpers unpacked the sdist for exploring; used when neither the env var nor the cache is set.
EXPLORED = Path("/tmp/cmsisdsp_sdist/cmsisdsp-1.10.3")


def tree_or_skip() -> Path:
    env = os.environ.get(library.ENV_ROOT)
    if env and library.is_tree(Path(env)):
        return Path(env)
    if library.is_tree(library.cache_dir()):
        return library.cache_dir()
    if library.is_tree(EXPLORED):
        return EXPLORED
    pytest.skip(f"CMSIS-DSP's C source is not here: set {library.ENV_ROOT} or run `python -m edgeml_cmsis_dsp.fetch`")


@pytest.fixture
def tree(monkeypatch) -> Path:
    root = tree_or_skip()
    monkeypatch.setenv(library.ENV_ROOT, str(root))
    return root


def test_the_plugin_registers_the_library():
    from edgeml_cmsis_dsp.plugin import edgeml_register_c_libraries

    (lib,) = edgeml_register_c_libraries()
    assert isinstance(lib, edgeml.CLibrary) and lib.name == "cmsis-dsp"


def test_locate_through_the_env_var(tree):
    files = CmsisDsp().locate()
    assert isinstance(files, edgeml.LibraryFiles)
    assert files.root == tree.resolve()
    assert files.version == library.installed_version() == "1.10.3"
    assert (files.root / "Source/TransformFunctions/arm_mfcc_f32.c").is_file()
    found = {p.name: p for p in files.include_dirs}
    assert (found["Include"] / "arm_math.h").is_file()
    assert (found["PrivateInclude"] / "arm_compiler_specific.h").is_file()
    assert (found["shim"] / "cmsis_compiler.h").is_file()
    assert files.defines == {"ARM_MATH_LOOPUNROLL": ""}


def test_locate_finds_the_cache(tree, tmp_path, monkeypatch):
    monkeypatch.delenv(library.ENV_ROOT)
    monkeypatch.setenv(library.ENV_CACHE, str(tmp_path))
    shutil.copytree(tree / "Include", tmp_path / "cmsisdsp-1.10.3" / "Include")
    shutil.copytree(tree / "Source" / "CommonTables", tmp_path / "cmsisdsp-1.10.3" / "Source" / "CommonTables")
    assert CmsisDsp().locate().root == (tmp_path / "cmsisdsp-1.10.3").resolve()


def test_missing_library_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.delenv(library.ENV_ROOT, raising=False)
    monkeypatch.setenv(library.ENV_CACHE, str(tmp_path))
    with pytest.raises(edgeml.IncompatibleError) as err:
        CmsisDsp().locate()
    assert str(err.value) == ("CMSIS-DSP's C source is not on this machine: run `edgeml deps cmsis-dsp` "
                              "(scripts/setup.sh does), or `edgeml deps cmsis-dsp --from PATH` with the cmsisdsp "
                              "sdist or its unpacked directory, or set EDGEML_CMSIS_DSP_ROOT")


def test_env_var_pointing_elsewhere_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv(library.ENV_ROOT, str(tmp_path))
    with pytest.raises(edgeml.IncompatibleError, match="EDGEML_CMSIS_DSP_ROOT=.* is not a CMSIS-DSP tree"):
        CmsisDsp().locate()


def _fake_sdist(path: Path, extra: tuple[str, bytes] | None = None) -> str:
    """A tiny .tar.gz shaped like the sdist (one top dir holding the marker files); its sha256."""
    with tarfile.open(path, "w:gz") as tar:
        for name in library.MARKERS:
            data = b"/* fake */\n"
            info = tarfile.TarInfo(f"cmsisdsp-9.9.9/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        if extra is not None:
            info = tarfile.TarInfo(extra[0])
            info.size = len(extra[1])
            tar.addfile(info, io.BytesIO(extra[1]))
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_fetch_checks_the_archive_hash(tmp_path):
    archive = tmp_path / "cmsisdsp-9.9.9.tar.gz"
    good = _fake_sdist(archive)
    dest = tmp_path / "cache" / "cmsisdsp-9.9.9"
    with pytest.raises(edgeml.DataError, match="has sha256 .*, expected 0{64}: the download is corrupt"):
        fetch.install_archive(archive, dest, "0" * 64)
    assert not dest.exists()
    # The same archive with one byte changed: rejected against its true hash.
    corrupt = tmp_path / "corrupt.tar.gz"
    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 0xFF
    corrupt.write_bytes(bytes(data))
    with pytest.raises(edgeml.DataError, match="corrupt"):
        fetch.install_archive(corrupt, dest, good)
    assert not dest.exists()
    # The right hash unpacks the top directory as the cache dir, stamped with the hash.
    assert fetch.install_archive(archive, dest, good) == dest
    assert library.is_tree(dest) and (dest / fetch.STAMP).read_text().strip() == good


def test_fetch_unpacks_safely(tmp_path):
    archive = tmp_path / "evil.tar.gz"
    sha = _fake_sdist(archive, extra=("../escaped.txt", b"x"))
    with pytest.raises(edgeml.DataError, match="could not be unpacked"):
        fetch.install_archive(archive, tmp_path / "cache" / "cmsisdsp-9.9.9", sha)
    assert not (tmp_path / "cache" / "escaped.txt").exists() and not (tmp_path / "escaped.txt").exists()


def test_fetch_refuses_a_version_without_a_pinned_hash(tmp_path):
    with pytest.raises(edgeml.IncompatibleError, match="no sha256 is pinned for the cmsisdsp 0.0.1 sdist"):
        fetch.fetch(version="0.0.1", dest=tmp_path / "x")
    assert fetch.SDIST_SHA256[library.installed_version()]


SHIM_PROBE = r"""
#include "arm_math.h"
#include <stdio.h>
int main(void)
{
    printf("%u %d %d %u\n", (unsigned)__CLZ(1u), (int)__SSAT(40000, 16), (int)__SSAT(-40000, 16),
           (unsigned)__USAT(-5, 8));
    return 0;
}
"""

SHIM_PROBE_ARM = r"""
#include "arm_math.h"
int32_t probe(int32_t a, int32_t b);
int32_t probe(int32_t a, int32_t b)
{
    return (int32_t)__CLZ((uint32_t)a) + __SSAT(a, 8) + (int32_t)__ROR((uint32_t)b, 3)
#if defined(ARM_MATH_DSP)
        + __QADD(a, b) + (int32_t)__SMUAD((uint32_t)a, (uint32_t)b) + (int32_t)__PKHBT(a, b, 16)
#endif
        ;
}
"""


def _flags(files: edgeml.LibraryFiles) -> list[str]:
    out = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-DARM_MATH_LOOPUNROLL"]
    for d in files.include_dirs:
        out += ["-isystem", str(d)]
    return out


def test_shim_builds_arm_math_on_the_host(tree, tmp_path):
    files = CmsisDsp().locate()
    (tmp_path / "probe.c").write_text(SHIM_PROBE)
    subprocess.run(["gcc", *_flags(files), "probe.c", "-o", "probe"], cwd=tmp_path, check=True)
    out = subprocess.run([str(tmp_path / "probe")], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["31", "32767", "-32768", "0"]


@pytest.mark.parametrize("cpu,dsp", [
    (["-mcpu=cortex-m0plus", "-mthumb", "-mfloat-abi=soft"], False),
    (["-mcpu=cortex-m4", "-mthumb", "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard"], True),
    (["-mcpu=cortex-m7", "-mthumb", "-mfpu=fpv5-d16", "-mfloat-abi=hard"], True),
])
def test_shim_builds_arm_math_for_cortex_m(tree, tmp_path, cpu, dsp):
    """arm_math.h compiles warning-free per core, and ARM_MATH_DSP follows the core's DSP extension."""
    gcc = shutil.which("arm-none-eabi-gcc")
    if gcc is None:
        pytest.skip("arm-none-eabi-gcc is not installed: run `bash scripts/setup.sh`")
    files = CmsisDsp().locate()
    (tmp_path / "probe.c").write_text(SHIM_PROBE_ARM)
    subprocess.run([gcc, *cpu, "-O2", *_flags(files), "-c", "probe.c", "-o", "probe.o"], cwd=tmp_path, check=True)
    res = subprocess.run([gcc, *cpu, *_flags(files), "-dM", "-E", "probe.c"], cwd=tmp_path, capture_output=True,
                         text=True, check=True)
    assert ("#define ARM_MATH_DSP 1" in res.stdout) == dsp
