"""Canonical forms and hashes (L6, L17)."""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from typing import Any


def canonical_json(data: Any) -> str:
    """JSON with sorted keys, no insignificant whitespace, ISO dates: equal data, equal
    bytes, on every machine and Python version."""

    def default(value: Any) -> str:
        if isinstance(value, datetime | date):
            return value.isoformat()
        raise TypeError(f"not serialisable: {type(value).__name__}")

    return json.dumps(
        data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=default
    )


def sha256_hex(data: bytes | str) -> str:
    """SHA-256 of bytes, or of the UTF-8 encoding of a string."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    return hashlib.sha256(data).hexdigest()


def version_canonical_text(fields: dict[str, Any], attachment_hashes: list[str]) -> str:
    """The canonical text of a notice version whose hash is published (L6).

    It covers what a citizen reads and what makes the notice legally identifiable:
    title, text, issuing office, file number, legal basis, signing date and signatory,
    and the hashes of the attachments in order.
    """
    keys = (
        "title",
        "summary",
        "body_md",
        "issuing_office",
        "file_number",
        "legal_basis",
        "signed_on",
        "signatory_name",
        "signatory_function",
        "posting_start",
        "posting_end",
    )
    payload = {k: fields.get(k) for k in keys}
    payload["attachments"] = list(attachment_hashes)
    return canonical_json(payload)


def audit_hash(prev_hash: str, row: dict[str, Any]) -> str:
    """The hash of one audit row, chained to the previous row's hash."""
    return sha256_hex(prev_hash + "\n" + canonical_json(row))


GENESIS_HASH = "0" * 64
