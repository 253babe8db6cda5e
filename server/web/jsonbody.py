"""What a JSON API may parse and store: JSON allows nesting that no parser survives
and text that no database column takes."""

from __future__ import annotations

import json
import re
from typing import Any

# The player protocol nests five levels deep; 32 leaves room and stops "[[[[…" of
# 50,000 levels, on which the standard parser raises RecursionError (a 500).
MAX_DEPTH = 32
_STRING_RE = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_BRACKET_RE = re.compile(r"[\[\]{}]")


class BadJson(ValueError):
    """The body is no JSON this API takes; ``detail`` says why, in German."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def nesting_depth(text: str, limit: int = MAX_DEPTH) -> int:
    """The deepest nesting of arrays and objects in ``text`` (brackets inside strings
    do not count), or ``limit + 1`` as soon as it passes ``limit``."""
    depth = deepest = 0
    for match in _BRACKET_RE.finditer(_STRING_RE.sub("", text)):
        if match.group() in "[{":
            depth += 1
            if depth > limit:
                return depth
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def loads(raw: bytes, max_depth: int = MAX_DEPTH) -> Any:
    """Parse a request body; BadJson for invalid UTF-8, invalid JSON, nesting deeper
    than ``max_depth`` or text a database cannot store."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadJson("Der Inhalt ist kein gültiges UTF-8.") from None
    if nesting_depth(text, max_depth) > max_depth:
        raise BadJson(f"Der Inhalt ist tiefer als {max_depth} Ebenen verschachtelt.")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise BadJson("Der Inhalt ist kein gültiges JSON.") from None
    if not storable(data):
        raise BadJson("Der Inhalt enthält unzulässige Zeichen (NUL oder Surrogate).")
    return data


def storable(data: Any) -> bool:
    """False when a string anywhere in ``data`` holds NUL (PostgreSQL refuses it in text)
    or a lone surrogate from a ``"\\ud800"`` escape (not encodable as UTF-8)."""
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return False
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return False
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return True
