"""Values as players send them: RFC 3339 times, ids as strings of digits, counts, texts.

Anything else is refused with a field error (times) or read as absent (the rest)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from ...domain.errors import ValidationFailed

_ID_RE = re.compile(r"^[0-9]{1,18}$")


def parse_utc(value: Any, field: str) -> datetime:
    if not isinstance(value, str):
        raise ValidationFailed(f"{field}: Zeitangabe fehlt.", {field: "Zeitangabe fehlt."})
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationFailed(f"{field}: ungültige Zeitangabe.", {field: "RFC 3339"}) from None
    if parsed.tzinfo is None:
        raise ValidationFailed(f"{field}: Zeitzone fehlt.", {field: "Mit Z angeben."})
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00:00+01:00 lies before year 1 in UTC
        raise ValidationFailed(f"{field}: ungültige Zeitangabe.", {field: "RFC 3339"}) from None


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _count(value: Any) -> int | None:
    """A non-negative count that fits a BIGINT column; anything else is not a count."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63:
        return value
    return None


def db_id(value: Any) -> int | None:
    """An id sent as a string of ASCII digits that fits the database's integer keys."""
    if isinstance(value, str) and _ID_RE.match(value):
        return int(value)
    return None


def _text(value: Any, limit: int) -> str | None:
    return value[:limit] if isinstance(value, str) else None
