"""The one place HTML and file views ask for ``now``, and the blob store they use.

Views call ``request_now()`` once and pass the value down. In production it is
``server.domain.posting.utcnow``; tests (and a demo that wants to show a given day)
set ``app.config["AUSHANG_CLOCK"]`` to a callable returning an aware datetime, e.g.
``app.config["AUSHANG_CLOCK"] = lambda: datetime(2026, 11, 20, 9, 30, tzinfo=UTC)``.
"""

from __future__ import annotations

from datetime import datetime

from flask import current_app

from ..domain.posting import utcnow
from ..services.files import BlobStore


def request_now() -> datetime:
    clock = current_app.config.get("AUSHANG_CLOCK") or utcnow
    now = clock()
    if now.tzinfo is None:
        raise ValueError("AUSHANG_CLOCK must return an aware datetime")
    return now


_stores: dict[str, BlobStore] = {}


def blob_store() -> BlobStore:
    """The file store, one object per directory (not one per request: every player
    long-poll asks for it)."""
    root = current_app.config["AUSHANG_DATA_DIR"]
    found = _stores.get(root)
    return found if found is not None else _stores.setdefault(root, BlobStore(root))
