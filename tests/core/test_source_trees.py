"""``edgeml.source_trees``: the content hash, and installing a pinned tree from a directory, an archive or a
download into the cache, with every refusal one line and nothing half-installed left behind.

The tree is a toy library made here (a header, a source, a LICENSE and tests that are not installed), pinned
by the hash of its content as the test writes it; the download is served by a real HTTP server on localhost.
"""

from __future__ import annotations

import hashlib
import http.server
import io
import os
import socket
import tarfile
import threading
import zipfile
from pathlib import Path

import pytest

import edgeml
from edgeml import source_trees
from edgeml.source_trees import PinnedTree, Wording

FILES = {
    "include/toy.h": b"int toy(int x);\n",
    "include/sub/detail.h": b"#define TOY_DETAIL 1\n",
    "src/toy.c": b"#include \"toy.h\"\nint toy(int x) { return x + 1; }\n",
    "LICENSE": b"Toy licence\n",
    "tests/test_toy.c": b"/* not installed */\n",
}
INSTALLED = sorted(p for p in FILES if not p.startswith("tests/"))
ENV_ROOT = "EDGEML_TEST_TOY_ROOT"


def _write(root: Path, files: dict[str, bytes] = FILES, order=sorted) -> Path:
    for rel in order(files):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(files[rel])
    return root


def _content(root: Path) -> dict[str, Path]:
    return source_trees.select_files(root, dirs=("include", "src"), files=("LICENSE",))


def _missing(root: Path) -> list[str]:
    return source_trees.missing_markers(root, ("include/toy.h", "src/"))


def _expected_hash() -> str:
    """The documented formula, written out: sha256 of "<file sha256>  <path>\\n" lines sorted by path."""
    lines = "".join(f"{hashlib.sha256(FILES[rel]).hexdigest()}  {rel}\n" for rel in INSTALLED)
    return hashlib.sha256(lines.encode()).hexdigest()


def _tree() -> PinnedTree:
    return PinnedTree(
        label="Toy", pin="1.0", content_sha256=_expected_hash(), cache_name="toy-1.0", env_root=ENV_ROOT,
        content=_content, missing=_missing,
        words=Wording(not_found="Toy's source is not on this machine: run `edgeml deps toy`",
                      env_tree="a Toy tree", env_fix="point it at a Toy checkout",
                      source_tree="Toy tree", source_fix="give a Toy checkout or its archive",
                      give_source="a Toy checkout or archive", give_archive="a .tar.gz or .zip of Toy",
                      pinned="Toy 1.0", hashed="include/, src/ and LICENSE", fix_source="check out Toy 1.0",
                      fix_download="download again", offline_fix="use --from PATH",
                      no_download="Toy has no download: use --from PATH"))


class ToyLibrary(source_trees.PinnedTreeLibrary):
    name = "toy"
    description = "a toy pinned tree"
    tree = _tree()

    def library_files(self, root: Path, version: str) -> edgeml.LibraryFiles:
        return edgeml.LibraryFiles(root=root, include_dirs=[root / "include"], version=version)


@pytest.fixture
def checkout(tmp_path) -> Path:
    return _write(tmp_path / "toy-checkout")


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.delenv(ENV_ROOT, raising=False)
    monkeypatch.setenv(source_trees.ENV_CACHE, str(tmp_path / "cache"))
    return tmp_path / "cache"


def _tar_gz(tree: Path, to: Path, top: str = "toy-1.0") -> Path:
    with tarfile.open(to, "w:gz") as tar:
        tar.add(tree, arcname=top)
    return to


def _installed_listing(dest: Path) -> list[str]:
    return sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file())


def test_content_hash_is_the_documented_formula_and_stable(tmp_path, checkout):
    assert source_trees.content_sha256(_content(checkout)) == _expected_hash()
    assert sorted(_content(checkout)) == INSTALLED          # tests/ is not selected
    # Another place, files written in the other order, an extra unselected file: the same hash.
    other = _write(tmp_path / "elsewhere" / "copy", order=lambda f: sorted(f, reverse=True))
    (other / "README").write_text("not selected\n")
    assert _tree().content_hash(other) == _expected_hash()


def test_content_hash_changes_with_one_byte_or_one_name(checkout):
    data = bytearray((checkout / "src/toy.c").read_bytes())
    data[5] ^= 0x01
    (checkout / "src/toy.c").write_bytes(bytes(data))
    flipped = _tree().content_hash(checkout)
    assert flipped != _expected_hash()
    data[5] ^= 0x01
    (checkout / "src/toy.c").write_bytes(bytes(data))
    assert _tree().content_hash(checkout) == _expected_hash()
    (checkout / "include/sub/detail.h").rename(checkout / "include/sub/detail2.h")
    assert _tree().content_hash(checkout) not in (_expected_hash(), flipped)


def test_select_files_keep_and_prefix(checkout):
    got = source_trees.select_files(checkout, dirs=("include",), files=("LICENSE", "absent"),
                                    keep=lambda rel: rel.count("/") == 1, prefix="vendor/toy/")
    assert got == {"vendor/toy/include/toy.h": checkout / "include/toy.h",
                   "vendor/toy/LICENSE": checkout / "LICENSE"}
    assert sorted(source_trees.select_files(checkout, dirs=(".",), keep=lambda rel: rel != "LICENSE")) == \
        sorted(p for p in FILES if p != "LICENSE")
    assert source_trees.missing_markers(checkout, ("include/", "include/toy.h", "src/toy.c/", "nope")) == \
        ["src/toy.c/", "nope"]


def test_install_from_a_directory_then_locate(cache, checkout):
    tree = _tree()
    dest = tree.install(checkout)
    assert dest == cache / "toy-1.0" and tree.is_installed(dest)
    assert _installed_listing(dest) == sorted(INSTALLED + [source_trees.STAMP])
    assert (dest / source_trees.STAMP).read_text() == _expected_hash() + "\n"
    assert (dest / "src/toy.c").read_bytes() == FILES["src/toy.c"]
    assert [p.name for p in cache.iterdir()] == ["toy-1.0"]          # no temporary directory left
    assert tree.locate() == (dest.resolve(), "Toy 1.0") and tree.missing_reason() is None


def test_install_from_a_tar_gz_and_a_zip(cache, checkout, tmp_path):
    tree = _tree()
    dest = tree.install(_tar_gz(checkout, tmp_path / "toy.tar.gz"))
    assert tree.is_installed(dest) and _installed_listing(dest) == sorted(INSTALLED + [source_trees.STAMP])
    archive = tmp_path / "toy.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for rel, data in FILES.items():
            zf.writestr(f"toy-main/{rel}", data)
    assert tree.install(archive, force=True) == dest and tree.is_installed(dest)
    assert [p.name for p in cache.iterdir()] == ["toy-1.0"]


def test_an_archive_escaping_its_directory_is_refused(cache, checkout, tmp_path):
    archive = tmp_path / "evil.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(checkout, arcname="toy-1.0")
        info = tarfile.TarInfo("../outside.txt")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"bad"))
    with pytest.raises(edgeml.DataError, match="could not be unpacked .*: give a .tar.gz or .zip of Toy$") as err:
        _tree().install(archive)
    assert "\n" not in str(err.value)
    assert not (tmp_path / "outside.txt").exists() and list(cache.iterdir()) == []


def test_a_tampered_tree_is_refused_and_leaves_nothing(cache, checkout):
    tree = _tree()
    (checkout / "include/toy.h").write_bytes(b"int toy(long x);\n")
    got = tree.content_hash(checkout)
    with pytest.raises(edgeml.DataError) as err:
        tree.install(checkout)
    assert str(err.value) == (f"{checkout} is not Toy 1.0: its include/, src/ and LICENSE hash to {got}, "
                              f"expected {_expected_hash()}: check out Toy 1.0")
    assert list(cache.iterdir()) == [] and tree.missing_reason() == "Toy's source is not on this machine: " \
                                                                    "run `edgeml deps toy`"


def test_a_refused_reinstall_keeps_the_good_copy(cache, checkout):
    tree = _tree()
    dest = tree.install(checkout)
    (checkout / "LICENSE").write_text("changed\n")
    with pytest.raises(edgeml.DataError, match="is not Toy 1.0"):
        tree.install(checkout, force=True)
    assert tree.is_installed(dest) and tree.content_hash(dest) == _expected_hash()
    assert [p.name for p in cache.iterdir()] == ["toy-1.0"]


def test_install_is_idempotent_and_force_installs_again(cache, checkout):
    tree = _tree()
    dest = tree.install(checkout)
    ino = os.stat(dest / source_trees.STAMP).st_ino
    assert tree.install(checkout) == dest and os.stat(dest / source_trees.STAMP).st_ino == ino
    assert tree.install(None) == dest       # complete: no source or download needed
    assert tree.install(checkout, force=True) == dest and os.stat(dest / source_trees.STAMP).st_ino != ino
    assert [p.name for p in cache.iterdir()] == ["toy-1.0"]
    # A wrong stamp is no install.
    (dest / source_trees.STAMP).write_text("0" * 64 + "\n")
    assert not tree.is_installed(dest) and tree.missing_reason() is not None


def test_env_root_is_used_as_it_is_pinned_or_unpinned(cache, checkout, monkeypatch, tmp_path):
    tree = _tree()
    monkeypatch.setenv(ENV_ROOT, str(checkout))
    assert tree.locate() == (checkout.resolve(), "Toy 1.0")
    (checkout / "src/extra.c").write_text("\n")
    got = tree.content_hash(checkout)
    assert tree.locate() == (checkout.resolve(), f"Toy unpinned checkout (content sha256 {got[:12]})")
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv(ENV_ROOT, str(tmp_path / "empty"))
    with pytest.raises(edgeml.IncompatibleError) as err:
        tree.locate()
    assert str(err.value) == f"{ENV_ROOT}={tmp_path / 'empty'} is not a Toy tree (no include/toy.h, src/): " \
                             "point it at a Toy checkout"


def test_sources_that_are_no_tree_are_refused_in_one_line(cache, tmp_path):
    tree = _tree()
    with pytest.raises(edgeml.DataError, match="^Toy has no download: use --from PATH$"):
        tree.install(None)
    with pytest.raises(edgeml.DataError, match=r"nope: no such file or directory: give a Toy checkout or archive$"):
        tree.install(tmp_path / "nope")
    _write(tmp_path / "two" / "a")
    _write(tmp_path / "two" / "b")
    with pytest.raises(edgeml.DataError, match=r"two holds no Toy tree \(no include/toy.h, src/\): give a Toy"):
        tree.install(tmp_path / "two")       # two candidate trees: which one is meant is not guessed
    assert list(cache.iterdir()) == []


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def test_download_installs_and_a_changed_download_is_refused(cache, checkout, tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    _tar_gz(checkout, served / "toy.tar.gz")
    (checkout / "LICENSE").write_text("changed\n")
    _tar_gz(checkout, served / "changed.tar.gz")
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), lambda *a: _QuietHandler(*a, directory=str(served)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with pytest.raises(edgeml.DataError) as err:
            _tree().install(None, url=f"{base}/changed.tar.gz", timeout_s=5)
        assert str(err.value).startswith(f"{base}/changed.tar.gz is not Toy 1.0: its include/")
        assert str(err.value).endswith(": download again") and list(cache.iterdir()) == []
        dest = _tree().install(None, url=f"{base}/toy.tar.gz", timeout_s=5)
    finally:
        server.shutdown()
        server.server_close()
    assert _tree().is_installed(dest) and [p.name for p in cache.iterdir()] == ["toy-1.0"]


def test_download_without_network_fails_in_one_line(cache):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/toy.tar.gz"
    with pytest.raises(edgeml.DataError) as err:
        _tree().install(None, url=url, timeout_s=2)
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith(f"could not download Toy from {url} (")
    assert msg.endswith("): this machine may have no internet access; use --from PATH")
    assert list(cache.iterdir()) == []


def test_library_locates_installs_and_notes_the_env_root(cache, checkout, monkeypatch):
    lib = ToyLibrary()
    with pytest.raises(edgeml.IncompatibleError, match="^Toy's source is not on this machine"):
        lib.locate()
    messages = io.StringIO()
    files = lib.install(checkout, progress=edgeml.Progress(stream=messages))
    assert files.root == (cache / "toy-1.0").resolve() and files.version == "Toy 1.0"
    assert files.include_dirs == [files.root / "include"] and lib.locate() == files
    assert messages.getvalue() == f"installed Toy 1.0 (content sha256 {_expected_hash()[:12]}) in {cache / 'toy-1.0'}\n"
    monkeypatch.setenv(ENV_ROOT, str(checkout))
    messages = io.StringIO()
    lib.install(checkout, progress=edgeml.Progress(stream=messages))
    assert messages.getvalue() == f"note: {ENV_ROOT} is set, so builds use {checkout}, not this copy\n"


def test_run_fetch_command_prints_the_line_or_the_error(capsys, cache, checkout, tmp_path):
    tree = _tree()

    def run(source, force):
        return f"toy in {tree.install(source, force=force)}"

    assert source_trees.run_fetch_command(["--from", str(checkout)], prog="toy", description="toy",
                                          source_help="a checkout", install=run) == 0
    assert capsys.readouterr().out == f"toy in {cache / 'toy-1.0'}\n"
    assert source_trees.run_fetch_command(["--from", str(tmp_path / "nope"), "--force"], prog="toy",
                                          description="toy", source_help="a checkout", install=run) == 1
    out = capsys.readouterr()
    assert out.out == "" and out.err == f"error: {tmp_path / 'nope'}: no such file or directory: give a Toy " \
                                        "checkout or archive\n"
