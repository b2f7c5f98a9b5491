"""Which of CMSIS-NN's C files a compiled model needs: the files defining the kernels it calls, and
the files defining what those call, found by reading the source text.

A file "defines" the ``arm_*`` functions whose definition starts a line; it "needs" every ``arm_*``
identifier it mentions. The closure from the model's kernels over-approximates (a mention inside an
``#if`` for another core pulls its file in too); the linker's ``--gc-sections`` drops what is not called,
so flash is unaffected, while the build compiles tens of files instead of CMSIS-NN's two hundred.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

DEFINITION = re.compile(r"^(?:[A-Za-z_][\w\s\*]*?\b)?(arm_\w+)\s*\([^;]*?$", re.MULTILINE)
MENTION = re.compile(r"\barm_\w+\b")


@lru_cache(maxsize=4)
def _index(root: str) -> tuple[dict[str, str], dict[str, frozenset[str]]]:
    defined_in: dict[str, str] = {}
    mentions: dict[str, frozenset[str]] = {}
    base = Path(root)
    for path in sorted((base / "Source").rglob("*.c")):
        rel = path.relative_to(base).as_posix()
        text = re.sub(r"/\*.*?\*/", "", path.read_text(errors="replace"), flags=re.DOTALL)
        for m in DEFINITION.finditer(text):
            line_end = text.find("\n", m.end())
            nxt = text[m.end():text.find("{", m.end()) if "{" in text[m.end():] else line_end]
            if ";" not in nxt:            # a definition, not a prototype spanning lines
                defined_in.setdefault(m.group(1), rel)
        mentions[rel] = frozenset(MENTION.findall(text))
    return defined_in, mentions


def sources_for(root: Path, functions: set[str]) -> list[str]:
    """The CMSIS-NN sources (relative to ``root``) defining ``functions`` and everything they mention."""
    defined_in, mentions = _index(str(Path(root).resolve()))
    todo = [f for f in sorted(functions) if f in defined_in]
    files: set[str] = set()
    seen: set[str] = set()
    while todo:
        fn = todo.pop()
        if fn in seen:
            continue
        seen.add(fn)
        rel = defined_in.get(fn)
        if rel is None or rel in files:
            continue
        files.add(rel)
        todo.extend(m for m in mentions[rel] if m in defined_in and m not in seen)
    return sorted(files)
