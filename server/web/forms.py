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
    """Only same-site relative redirects after login (no open redirect)."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target
