"""Writing messages into the outbox, in the caller's transaction (never sent here)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from ..models import OutboxMessage

# Retries: 1, 2, 4, … minutes, at most one hour apart. A message is never dropped for
# a transport failure; after ``GIVE_UP_AFTER`` of trying it is marked ``failed`` and
# shown on the system admin's mail page, where it can be sent again.
FIRST_RETRY = timedelta(minutes=1)
MAX_RETRY = timedelta(hours=1)
GIVE_UP_AFTER = timedelta(days=3)


def backoff(attempts: int) -> timedelta:
    """The wait before attempt ``attempts + 1`` (``attempts`` ≥ 1 failed so far)."""
    return min(FIRST_RETRY * (2 ** max(attempts - 1, 0)), MAX_RETRY)


def _row(
    channel: str,
    kind: str,
    recipient: str,
    now: datetime,
    payload: dict[str, Any] | None,
    tenant_id: int | None,
    dedupe_key: str | None,
) -> dict[str, Any]:
    return {
        "channel": channel,
        "kind": kind,
        "recipient": recipient,
        "tenant_id": tenant_id,
        "payload": json.dumps(payload or {}, sort_keys=True, default=str),
        "dedupe_key": dedupe_key,
        "status": "pending",
        "attempts": 0,
        "created_at": now,
        "next_attempt_at": now,
        "last_error": "",
        "message_id": "",
    }


def already(session: Session, dedupe_key: str) -> bool:
    return (
        session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == dedupe_key))
        is not None
    )


def enqueue(
    session: Session,
    *,
    channel: str,
    kind: str,
    now: datetime,
    recipient: str = "",
    payload: dict[str, Any] | None = None,
    tenant_id: int | None = None,
    dedupe_key: str | None = None,
) -> OutboxMessage | None:
    """One message; with a ``dedupe_key`` already used, nothing (told once)."""
    if dedupe_key is not None and already(session, dedupe_key):
        return None
    message = OutboxMessage(**_row(channel, kind, recipient, now, payload, tenant_id, dedupe_key))
    session.add(message)
    session.flush()
    return message


def mail(
    session: Session,
    kind: str,
    recipient: str,
    now: datetime,
    payload: dict[str, Any] | None = None,
    tenant_id: int | None = None,
    dedupe_key: str | None = None,
) -> OutboxMessage | None:
    return enqueue(
        session,
        channel="mail",
        kind=kind,
        recipient=recipient,
        now=now,
        payload=payload,
        tenant_id=tenant_id,
        dedupe_key=dedupe_key,
    )


def bulk_rows(
    session: Session,
    channel: str,
    kind: str,
    rows: list[tuple[str, dict[str, Any]]],
    now: datetime,
    tenant_id: int | None,
) -> int:
    """Many rows of one kind at once (a fan-out to thousands of subscribers):
    ``(recipient, payload)`` pairs, inserted in chunks without loading objects."""
    values = [_row(channel, kind, r, now, p, tenant_id, None) for r, p in rows]
    for start in range(0, len(values), 2000):
        session.execute(insert(OutboxMessage), values[start : start + 2000])
    return len(values)
