"""CAP 1.2 shared parts: refusals (German), limits and value parsers used by XML and JSON.

Split from :mod:`server.sources.cap`, which re-exports everything here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import IO
from urllib.parse import urlsplit

from server.domain.alerts.model import (
    Alert,
    Circle,
    InvalidCapDateTime,
    Point,
    parse_cap_datetime,
)

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
MAX_CAP_BYTES = 1_000_000


def _q(tag: str) -> str:
    return f"{{{CAP_NS}}}{tag}"


class CapError(ValueError):
    """A CAP document we refuse; ``message`` is German and safe to show."""

    status_code = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class CapTooLarge(CapError):
    status_code = 413

    def __init__(self, limit: int) -> None:
        super().__init__(f"Das CAP-Dokument ist zu groß (höchstens {limit // 1000} kB erlaubt).")
        self.limit = limit


class CapForbiddenConstruct(CapError):
    """DTDs, entity declarations or external references."""


class CapMalformed(CapError):
    """Not well-formed XML, or not a CAP alert at all."""


class CapWrongNamespace(CapError):
    def __init__(self, found: str) -> None:
        super().__init__(
            f"Falscher XML-Namensraum „{found or '(keiner)'}“: erwartet wird CAP 1.2 ({CAP_NS})."
        )
        self.found = found


class CapMissingField(CapError):
    def __init__(self, field: str, where: str = "alert") -> None:
        super().__init__(f"Pflichtfeld „{field}“ fehlt in <{where}>.")
        self.field = field
        self.where = where


class CapInvalidValue(CapError):
    def __init__(
        self,
        field: str,
        value: str,
        allowed: Iterable[str] | None = None,
        *,
        hint: str | None = None,
    ) -> None:
        hint = f" {hint}" if hint else ""
        if allowed is not None:
            hint = f" Erlaubt: {', '.join(allowed)}."
        shown = value if len(value) <= 80 else value[:77] + "…"
        super().__init__(f"Ungültiger Wert „{shown}“ für „{field}“.{hint}")
        self.field = field
        self.value = value


@dataclass(frozen=True)
class ParsedCap:
    """A received CAP document: the parsed message and the bytes exactly as received."""

    alert: Alert
    raw: bytes


def read_limited(stream: IO[bytes], max_bytes: int = MAX_CAP_BYTES) -> bytes:
    """Read at most ``max_bytes`` from a stream; raise :class:`CapTooLarge` beyond.

    Reads in chunks so that a 50 MB body is refused after ``max_bytes + 1`` bytes
    instead of being held in memory whole.
    """
    chunks: list[bytes] = []
    total = 0
    while True:
        chunk = stream.read(min(65536, max_bytes + 1 - total))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        total += len(chunk)
        if total > max_bytes:
            raise CapTooLarge(max_bytes)


def _enum(value: str, field: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise CapInvalidValue(field, value, allowed)
    return value


def _when(value: str | None, field: str) -> datetime | None:
    if value is None or value == "":
        return None
    try:
        return parse_cap_datetime(value)
    except InvalidCapDateTime as exc:
        reason = str(exc).split(": ", 1)[-1]
        raise CapInvalidValue(field, value, hint=reason[:1].upper() + reason[1:]) from None


def safe_web(value: str | None) -> str | None:
    """A CAP ``web`` value if it is an absolute http(s) URL, else ``None``.

    ``web`` becomes a link on the public page and in the feeds and a QR code on every
    display; a ``javascript:``, ``data:`` or ``file:`` value (or a bare ``//host``)
    must never become either. The raw document keeps the value as received (W14).
    """
    if not value:
        return None
    text = value.strip()
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in text):
        return None
    try:
        parts = urlsplit(text)
        host = parts.hostname
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not host:
        return None
    return text


def parse_polygon(text: str) -> tuple[Point, ...]:
    """``"lat,lon lat,lon …"`` → points; raises :class:`CapInvalidValue`."""
    points = []
    try:
        for pair in text.split():
            lat, lon = pair.split(",")
            points.append((float(lat), float(lon)))
    except ValueError:
        raise CapInvalidValue("polygon", text) from None
    if len(points) < 4:
        raise CapInvalidValue("polygon", text)
    return tuple(points)


def parse_circle(text: str) -> Circle:
    """``"lat,lon radius_km"`` → :class:`Circle`; raises :class:`CapInvalidValue`."""
    try:
        center, radius = text.split()
        lat, lon = center.split(",")
        return Circle((float(lat), float(lon)), float(radius))
    except ValueError:
        raise CapInvalidValue("circle", text) from None
