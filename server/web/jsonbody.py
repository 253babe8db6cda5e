"""What a JSON API may store: JSON allows text that no database column takes."""

from __future__ import annotations

from typing import Any


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
