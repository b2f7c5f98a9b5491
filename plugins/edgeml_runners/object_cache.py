"""A cache of compiled library objects, so a large pinned library (TFLM's C++) is compiled once per machine.

A runtime like TFLM is some forty C++ files that take a minute to compile;
every program that links it would otherwise compile them again. The cache
lives in ``${EDGEML_CACHE_DIR:-~/.cache/edgeml}/objects`` and works like
ccache's direct mode, which is sound without trusting version strings:

* the key is sha256 of the compiler's ``--version`` line, the working
  directory and the whole command (flags, defines, include dirs, the
  source) except the output path, with the build's own directories (the
  program root and the work dir, which differ per build and which
  ``-ffile-prefix-map`` already keeps out of the object) written as
  placeholders;
* the entry holds the object and the compiler's own dependency list
  (``-MD``: every file the unit included, system headers too; paths under
  the build's directories with the same placeholders) with each file's
  sha256. An entry is used only when every one of those files, in this
  build, still has that hash; otherwise the unit is compiled again and the
  entry replaced.

Objects are built with ``-ffile-prefix-map`` and no debug info (see
:mod:`edgeml_runners.firmware`), so a cached object is byte-identical to a
fresh one. ``EDGEML_OBJECT_CACHE=0`` turns the cache off; a cache that cannot
be written is skipped silently (the build just compiles).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from edgeml_runners import c_build

ENV_OFF = "EDGEML_OBJECT_CACHE"


def cache_dir() -> Path:
    base = os.environ.get("EDGEML_CACHE_DIR") or str(Path.home() / ".cache" / "edgeml")
    return Path(base).expanduser() / "objects"


def _sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None


def _split_output(cmd: list[str]) -> tuple[list[str], str]:
    i = cmd.index("-o")
    return cmd[:i] + cmd[i + 2:], cmd[i + 1]


def _dependencies(dep_file: Path, cwd: Path) -> list[Path]:
    """The files a ``-MD`` dependency file lists (the target before the colon is dropped)."""
    text = dep_file.read_text().replace("\\\n", " ")
    body = text.split(":", 1)[1] if ":" in text else ""
    # Spaces inside paths are escaped as "\ ": keep them, split on the rest.
    tokens = body.replace("\\ ", "\0").split()
    return [(Path(cwd) / t.replace("\0", " ")).resolve() for t in tokens]


def _abstract(text: str, roots: dict[str, Path]) -> str:
    # The longest first: a work dir inside the program root is named as the work dir.
    for name, path in sorted(roots.items(), key=lambda kv: -len(str(Path(kv[1]).resolve()))):
        text = text.replace(str(Path(path).resolve()), "{" + name + "}")
    return text


def _concrete(text: str, roots: dict[str, Path]) -> str:
    for name, path in roots.items():
        text = text.replace("{" + name + "}", str(Path(path).resolve()))
    return text


def compile(cmd: list[str], cwd: Path, what: str, log: Path, roots: dict[str, Path] | None = None) -> None:
    """Compile with ``cmd`` (which has ``-o OBJECT``), through the cache when it is on. ``roots`` names the
    build's own directories (placeholder -> path), abstracted out of the key and the dependency list."""
    roots = dict(roots or {})
    if os.environ.get(ENV_OFF, "1") == "0":
        c_build.run(cmd, cwd, what, log)
        return
    base, out = _split_output(cmd)
    out_path = Path(cwd) / out
    key = hashlib.sha256(json.dumps([c_build.tool_version(cmd[0]), _abstract(str(Path(cwd).resolve()), roots),
                                     [_abstract(a, roots) for a in base]]).encode()).hexdigest()
    entry = cache_dir() / key[:2] / key
    if _valid(entry, roots):
        shutil.copyfile(entry / "object.o", out_path)
        return
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=entry.parent, prefix=f".{key[:12]}-"))
    except OSError:
        c_build.run(cmd, cwd, what, log)
        return
    try:
        c_build.run([*cmd, "-MD", "-MF", str(tmp / "deps.d")], cwd, what, log)
        deps = {_abstract(str(p), roots): _sha256(p) for p in _dependencies(tmp / "deps.d", Path(cwd))}
        if any(h is None for h in deps.values()):
            return
        shutil.copyfile(out_path, tmp / "object.o")
        (tmp / "deps.json").write_text(json.dumps(deps, sort_keys=True))
        (tmp / "deps.d").unlink()
        if entry.exists():
            shutil.rmtree(entry, ignore_errors=True)
        try:
            tmp.rename(entry)
        except OSError:
            pass   # another build stored the same entry first
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _valid(entry: Path, roots: dict[str, Path]) -> bool:
    try:
        deps = json.loads((entry / "deps.json").read_text())
    except (OSError, ValueError):
        return False
    return (entry / "object.o").is_file() and all(_sha256(Path(_concrete(p, roots))) == h
                                                  for p, h in deps.items())
