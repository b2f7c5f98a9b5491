"""Small pieces of C text shared by the generated files: literals, guards, byte tables."""

from __future__ import annotations

import numpy as np


def header_guard(prefix: str, filename: str) -> str:
    """``EDGEML_MODEL_DATA_H_``: the prefix keeps two models' headers apart in one firmware."""
    stem = filename.upper().replace(".", "_")
    return f"{stem}_" if stem.startswith(prefix.upper() + "_") else f"{prefix.upper()}_{stem}_"


def type_prefix(prefix: str) -> str:
    """``edgeml`` -> ``Edgeml``, ``kws_model`` -> ``KwsModel``: for C++ type names."""
    return "".join(part[:1].upper() + part[1:] for part in prefix.split("_") if part) or "Edgeml"


def float_literal(value: float) -> str:
    """The shortest decimal that reads back as the same float32, with an ``f`` suffix."""
    return np.format_float_scientific(np.float32(value), unique=True, trim="0") + "f"


def int_literal(value: int) -> str:
    """An int literal safe in any expression (negative values parenthesised)."""
    return f"({value})" if value < 0 else str(value)


def string_literal(text: str) -> str:
    """A C string literal; anything outside printable ASCII is escaped in octal."""
    out = []
    for byte in text.encode("utf-8"):
        ch = chr(byte)
        if ch in '"\\':
            out.append("\\" + ch)
        elif 32 <= byte < 127 and ch != "?":  # '?' escaped: no trigraphs in old compilers
            out.append(ch)
        else:
            out.append(f"\\{byte:03o}")
    return '"' + "".join(out) + '"'


def byte_rows(data: bytes, per_line: int, indent: str = "  ") -> list[str]:
    """``0x1c, 0x00, ...`` rows of ``per_line`` bytes each."""
    return [indent + ", ".join(f"0x{b:02x}" for b in data[i:i + per_line]) + ","
            for i in range(0, len(data), per_line)]


def int8_rows(values: np.ndarray, per_line: int, indent: str = "    ") -> list[str]:
    flat = [int(v) for v in np.asarray(values).reshape(-1)]
    return [indent + ", ".join(str(v) for v in flat[i:i + per_line]) + ","
            for i in range(0, len(flat), per_line)]
