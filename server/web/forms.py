"""Form helpers shared by the HTML blueprints."""

from __future__ import annotations

from datetime import date
from urllib.parse import urlsplit


def parse_date(raw: str | None, field: str, errors: dict[str, str]) -> date | None:
    """A date from an <input type=date> (YYYY-MM-DD) or German TT.MM.JJJJ."""
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        if "." in raw:
            d, m, y = raw.split(".")
            return date(int(y), int(m), int(d))
        return date.fromisoformat(raw)
    except ValueError:
        errors[field] = "Bitte ein gültiges Datum angeben (TT.MM.JJJJ)."
        return None


def safe_next(target: str | None, default: str) -> str:
    """Only same-site relative redirects after login (no open redirect).

    A path of this site: one leading slash, then no second slash or backslash (browsers
    read ``/\\host`` as ``//host``), no whitespace or control characters (browsers drop
    tabs and line breaks inside URLs; CR/LF would split the Location header)."""
    if not target or not target.startswith("/") or target[1:2] in ("/", "\\"):
        return default
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 or ch == "\\" for ch in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target
