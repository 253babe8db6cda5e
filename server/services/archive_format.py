"""What export and import of the archive share: the format's name and version, the
fields of the content hash, the errors and results (see :mod:`server.services.archive`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from ..domain.integrity import sha256_hex, version_canonical_text
from ..models import User

FORMAT = "aushang-archive"
FORMAT_VERSION = 1
CONTENT_KEYS = (
    "title",
    "summary",
    "body_md",
    "issuing_office",
    "file_number",
    "legal_basis",
    "signed_on",
    "signatory_name",
    "signatory_function",
)

Progress = Callable[[int, int], None]  # (done, total)


class ArchiveError(Exception):
    """The archive cannot be imported; ``message`` is German and names the reason."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class ArchiveResult:
    tenants: list[str] = field(default_factory=list)
    notices: int = 0
    versions: int = 0
    files: int = 0


# --- helpers -------------------------------------------------------------------------


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _dt(value: str | None) -> datetime | None:
    if value is None:
        return None
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ArchiveError(f"Zeitangabe ohne Zeitzone im Archiv: {value}")
    return parsed


def _d(value: str | None) -> date | None:
    return date.fromisoformat(value) if value is not None else None


def _person(user: User | None) -> dict[str, str] | None:
    return {"email": user.email, "name": user.name} if user is not None else None


def content_hash_of(version: dict[str, Any], notice: dict[str, Any]) -> str:
    """The content hash (L6) recomputed from manifest data, as at release."""
    fields = {k: version.get(k) for k in CONTENT_KEYS}
    fields["posting_start"] = notice.get("posting_start")
    fields["posting_end"] = notice.get("posting_end")
    return sha256_hex(
        version_canonical_text(fields, [a["sha256"] for a in version.get("attachments", [])])
    )
