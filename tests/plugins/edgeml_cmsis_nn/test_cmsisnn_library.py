"""The ``cmsis-nn`` C library: the pinned commit and content hash, ``edgeml deps cmsis-nn [--from PATH]``
from a checkout or an archive, what a tampered copy or no network gets, and ``$EDGEML_CMSIS_NN_ROOT``.

The checkouts are temporary copies of the pinned commit's Include/, Source/ and LICENSE (from
``$EDGEML_CMSIS_NN_ROOT``, this machine's cache, /tmp/cmsis-nn or the git mirror), so each test installs into
its own cache.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

import edgeml
from edgeml.cli import deps
from edgeml.plugins import load_registry
from edgeml.testing import registry_with
from edgeml_cmsis_nn import fetch, library
from edgeml_cmsis_nn.library import COMMIT, CONTENT_SHA256, ENV_ROOT, FETCH_COMMAND, CmsisNn

#: Where a pinned copy may already be on this machine, besides the env var.
WORKING_COPY = Path("/tmp/cmsis-nn")
MIRROR = Path("/work/.mirror/ARM-software+CMSIS-NN/repo")
A_SOURCE = "Source/FullyConnectedFunctions/arm_fully_connected_s8.c"
#: This machine's copies, read before the tests point the env vars at their own directories.
ENV_TREE = os.environ.get(ENV_ROOT)
MACHINE_CACHE = library.cache_dir()


def _pinned_copy(dest: Path) -> Path:
    """Include/, Source/ and LICENSE of the pinned commit copied into ``dest``, or a skip naming the fix."""
    for cand in (ENV_TREE, MACHINE_CACHE, WORKING_COPY):
        if cand and not library.missing_files(Path(cand)) and library.content_hash(Path(cand)) == CONTENT_SHA256:
            fetch.copy_content(Path(cand), dest)
            return dest
    if (MIRROR / "HEAD").exists():
        dest.mkdir()
        archive = subprocess.run(["git", "-C", str(MIRROR), "archive", COMMIT, "Include", "Source", "LICENSE"],
                                 capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
        return dest
    pytest.skip(f"no copy of CMSIS-NN {COMMIT[:12]} here: set {ENV_ROOT} to a checkout of it")


@pytest.fixture
def checkout(tmp_path) -> Path:
    """A checkout of the pinned commit, with a Tests/ dir that must not be installed."""
    root = _pinned_copy(tmp_path / "CMSIS-NN")
    (root / "Tests" / "UnitTest").mkdir(parents=True)
    (root / "Tests" / "UnitTest" / "big_test_data.h").write_text("/* not installed */\n")
    return root


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    """An empty EDGEML_CACHE_DIR, with no env root set."""
    monkeypatch.delenv(ENV_ROOT, raising=False)
    monkeypatch.setenv(library.ENV_CACHE, str(tmp_path / "cache"))
    return tmp_path / "cache"


def _registry():
    """The installed registry if it has cmsis-nn (its entry point), else one with the plugin registered."""
    registry = load_registry()
    if "cmsis-nn" in registry.c_libraries:
        return registry
    from edgeml_cmsis_nn import plugin

    return registry_with(plugin)


def _tamper(root: Path) -> None:
    path = root / A_SOURCE
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def test_pins_the_mirror_head_and_its_content():
    assert len(COMMIT) == 40 and all(c in "0123456789abcdef" for c in COMMIT)
    assert FETCH_COMMAND == "edgeml deps cmsis-nn"
    if not (MIRROR / "HEAD").exists():
        pytest.skip(f"the CMSIS-NN git mirror is not at {MIRROR}")
    head = subprocess.run(["git", "-C", str(MIRROR), "rev-parse", "HEAD"], capture_output=True, text=True,
                          check=True).stdout.strip()
    assert head == COMMIT


def test_content_hash_covers_include_source_and_license(checkout):
    assert library.content_hash(checkout) == CONTENT_SHA256
    files = library.content_files(checkout)
    assert "LICENSE" in files and "Include/arm_nnfunctions.h" in files and A_SOURCE in files
    assert not [f for f in files if f.startswith("Tests/")]
    # Any change to a file, or a file more, changes it.
    (checkout / "Source" / "extra.c").write_text("\n")
    assert library.content_hash(checkout) != CONTENT_SHA256


def test_missing_library_names_the_command_that_installs_it(cache):
    with pytest.raises(edgeml.IncompatibleError) as err:
        CmsisNn().locate()
    msg = str(err.value)
    assert "\n" not in msg and f"`{FETCH_COMMAND}`" in msg and "--from PATH" in msg and ENV_ROOT in msg
    assert library.missing_reason() == msg


def test_install_from_a_checkout_then_locate_finds_it(cache, checkout, capsys):
    registry = _registry()
    assert deps(registry, ["cmsis-nn"], source=str(checkout)) == 0
    dest = cache / f"cmsis-nn-{COMMIT[:12]}"
    assert capsys.readouterr().out == f"cmsis-nn: CMSIS-NN {COMMIT[:12]} in {dest.resolve()}\n"
    files = CmsisNn().locate()
    assert files.root == dest.resolve() and files.version == f"CMSIS-NN {COMMIT[:12]}"
    assert files.include_dirs == [dest.resolve() / "Include"]
    assert (files.include_dirs[0] / "arm_nnfunctions.h").is_file()
    assert files.defines == {} and files.flags == ["-fno-sanitize=shift-base"]   # GCC defines signed <<; see library.FLAGS
    assert library.missing_reason() is None
    # Only the library, stamped with its hash; nothing else left in the cache.
    assert sorted(p.name for p in dest.iterdir()) == sorted(["Include", "Source", "LICENSE", library.STAMP])
    assert (dest / library.STAMP).read_text().strip() == CONTENT_SHA256
    assert [p.name for p in cache.iterdir()] == [dest.name]
    # The listing says so.
    assert deps(registry) == 0
    listed = [ln.split() for ln in capsys.readouterr().out.splitlines()]
    assert ["cmsis-nn", "located", "CMSIS-NN", COMMIT[:12], str(dest.resolve())] in listed


def test_install_is_idempotent_and_force_installs_again(cache, checkout):
    dest = fetch.install(checkout)
    stamp = os.stat(dest / library.STAMP)
    assert fetch.install(checkout) == dest
    assert os.stat(dest / library.STAMP).st_ino == stamp.st_ino  # returned at once: the same files
    assert fetch.install(checkout, force=True) == dest
    assert os.stat(dest / library.STAMP).st_ino != stamp.st_ino
    assert [p.name for p in cache.iterdir()] == [dest.name]


@pytest.mark.parametrize("kind", ["tar.gz", "zip"])
def test_install_from_an_archive(cache, checkout, tmp_path, kind):
    """GitHub's archives hold one top directory, CMSIS-NN-<commit>/."""
    top = f"CMSIS-NN-{COMMIT}"
    archive = tmp_path / f"{top}.{kind}"
    if kind == "zip":
        with zipfile.ZipFile(archive, "w") as zf:
            for path in sorted(checkout.rglob("*")):
                if path.is_file():
                    zf.write(path, f"{top}/{path.relative_to(checkout).as_posix()}")
    else:
        with tarfile.open(archive, "w:gz") as tar:
            tar.add(checkout, arcname=top)
    dest = fetch.install(archive)
    assert library.is_installed(dest) and CmsisNn().locate().root == dest.resolve()
    assert [p.name for p in cache.iterdir()] == [dest.name]


def test_a_tampered_checkout_is_refused_and_leaves_nothing(cache, checkout):
    _tamper(checkout)
    with pytest.raises(edgeml.DataError) as err:
        deps(_registry(), ["cmsis-nn"], source=str(checkout))
    msg = str(err.value)
    assert "\n" not in msg
    assert f"is not CMSIS-NN at the pinned commit {COMMIT}" in msg
    assert f"hash to {library.content_hash(checkout)}, expected {CONTENT_SHA256}" in msg
    assert f"git -C PATH checkout {COMMIT[:12]}" in msg and ENV_ROOT in msg
    assert list(cache.iterdir()) == []
    assert library.missing_reason() is not None


def test_a_refused_reinstall_keeps_the_good_copy(cache, checkout):
    dest = fetch.install(checkout)
    _tamper(checkout)
    with pytest.raises(edgeml.DataError, match="is not CMSIS-NN at the pinned commit"):
        fetch.install(checkout, force=True)
    assert library.is_installed(dest) and library.content_hash(dest) == CONTENT_SHA256
    assert [p.name for p in cache.iterdir()] == [dest.name]


def test_a_directory_that_is_no_cmsis_nn_tree_is_refused(cache, tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(edgeml.DataError, match=r"holds no CMSIS-NN tree \(no Include/arm_nnfunctions.h, Source/\)"):
        fetch.install(tmp_path / "empty")
    assert list(cache.iterdir()) == []


def test_env_root_is_taken_as_it_is(cache, checkout, monkeypatch, tmp_path):
    monkeypatch.setenv(ENV_ROOT, str(checkout))
    files = CmsisNn().locate()
    assert files.root == checkout.resolve() and files.version == f"CMSIS-NN {COMMIT[:12]}"
    assert files.include_dirs == [checkout.resolve() / "Include"]
    _tamper(checkout)
    got = library.content_hash(checkout)
    assert CmsisNn().locate().version == f"CMSIS-NN unpinned checkout (content sha256 {got[:12]})"
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "Source").mkdir()
    monkeypatch.setenv(ENV_ROOT, str(tmp_path / "half"))
    with pytest.raises(edgeml.IncompatibleError) as err:
        CmsisNn().locate()
    assert str(err.value).startswith(f"{ENV_ROOT}={tmp_path / 'half'} is not a CMSIS-NN tree (no "
                                     "Include/arm_nnfunctions.h): point it at a CMSIS-NN checkout")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_download_without_network_fails_in_one_line_with_the_fix(cache, monkeypatch):
    url = f"http://127.0.0.1:{_closed_port()}/CMSIS-NN/archive/{COMMIT}.tar.gz"
    monkeypatch.setattr(fetch, "ARCHIVE_URL", url)
    with pytest.raises(edgeml.DataError) as err:
        deps(_registry(), ["cmsis-nn"])
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith(f"could not download CMSIS-NN from {url} (")
    assert "no internet access" in msg and f"`{FETCH_COMMAND} --from PATH`" in msg and ENV_ROOT in msg
    assert list(cache.iterdir()) == []


def test_download_that_never_answers_times_out(cache, monkeypatch):
    """A server that accepts the connection and says nothing: the timeout ends it, not the test runner."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        monkeypatch.setattr(fetch, "ARCHIVE_URL", f"http://127.0.0.1:{server.getsockname()[1]}/a.tar.gz")
        monkeypatch.setattr(fetch, "TIMEOUT_S", 0.5)
        with pytest.raises(edgeml.DataError, match=r"could not download CMSIS-NN .*timed out.*no internet access"):
            fetch.install()
    assert list(cache.iterdir()) == []


def test_python_m_fetch_installs_from_a_checkout(cache, checkout):
    result = subprocess.run([sys.executable, "-m", "edgeml_cmsis_nn.fetch", "--from", str(checkout)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"cmsis-nn: CMSIS-NN {COMMIT[:12]} in {cache / f'cmsis-nn-{COMMIT[:12]}'}\n"
    assert library.missing_reason() is None
