"""The sender: expands fan-outs, hands mail to the transport and pushes to browsers.

Each function handles one batch and only adds and flushes; the job commits between
batches, so a crash repeats at most one batch (at-least-once; a receiving MTA drops
duplicates by Message-ID only sometimes, hence small batches). A transport failure
never loses a row: it is tried again with backoff (``outbox.backoff``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ...models import OutboxMessage, PushSubscription
from ...sources.webpush import Pusher
from .compose import Batch, build, compose
from .outbox import GIVE_UP_AFTER, backoff
from .transport import Connection, PermanentFailure, TemporaryFailure, Transport

log = logging.getLogger("aushang.mail")

BATCH = 500
Expander = Callable[[Session, OutboxMessage, dict[str, Any], datetime], int]
FANOUTS: dict[str, Expander] = {}
PushComposer = Callable[[Batch, OutboxMessage, dict[str, Any]], tuple[dict[str, Any], int] | None]
PUSH_COMPOSERS: dict[str, PushComposer] = {}


@dataclass
class Outcome:
    sent: int = 0
    skipped: int = 0
    failed: int = 0
    deferred: int = 0

    @property
    def handled(self) -> int:
        return self.sent + self.skipped + self.failed + self.deferred


@contextmanager
def link_context() -> Iterator[None]:
    """``url_for(..., _external=True)`` gives public links outside a request."""
    with current_app.test_request_context("/", base_url=current_app.config["AUSHANG_BASE_URL"]):
        yield


def _due(session: Session, channel: str, now: datetime, limit: int) -> list[OutboxMessage]:
    return list(
        session.scalars(
            select(OutboxMessage)
            .where(
                OutboxMessage.channel == channel,
                OutboxMessage.status == "pending",
                OutboxMessage.next_attempt_at <= now,
            )
            .order_by(OutboxMessage.id)
            .limit(limit)
        )
    )


def _done(row: OutboxMessage, status: str, now: datetime, error: str = "") -> None:
    row.status = status
    row.sent_at = now
    row.attempts += 1
    row.last_error = error[:2000]


def defer(row: OutboxMessage, now: datetime, error: str) -> None:
    """Try again later; after ``GIVE_UP_AFTER`` the row is ``failed`` (kept, shown)."""
    row.attempts += 1
    row.last_error = error[:2000]
    if now - row.created_at > GIVE_UP_AFTER:
        row.status = "failed"
    else:
        row.next_attempt_at = now + backoff(row.attempts)


def expand_fanouts(session: Session, now: datetime, limit: int = 20) -> int:
    """Turn events (a warning, a notice in Aushang) into one row per subscriber."""
    made = 0
    for row in _due(session, "fanout", now, limit):
        made += FANOUTS[row.kind](session, row, json.loads(row.payload or "{}"), now)
        _done(row, "sent", now)
    session.flush()
    return made


def _send_one(batch: Batch, conn: Connection, row: OutboxMessage, now: datetime) -> str:
    composed = compose(batch, row)
    if composed is None:
        _done(row, "skipped", now)
        return "skipped"
    message = build(composed, row.recipient)
    try:
        conn.send(message)
    except PermanentFailure as exc:
        _done(row, "failed", now, str(exc))
        log.warning("mail id=%s kind=%s event=refused error=%s", row.id, row.kind, exc)
        return "failed"
    _done(row, "sent", now)
    row.message_id = str(message["Message-ID"])
    return "sent"


def deliver_mail(
    session: Session, now: datetime, transport: Transport, limit: int = BATCH
) -> Outcome:
    rows = _due(session, "mail", now, limit)
    outcome = Outcome()
    if not rows:
        return outcome
    batch = Batch(session, now)
    position = 0  # rows before this one are done
    try:
        with link_context(), transport.open() as conn:
            for row in rows:
                result = _send_one(batch, conn, row, now)
                setattr(outcome, result, getattr(outcome, result) + 1)
                position += 1
    except TemporaryFailure as exc:
        # This row and the rest wait; the order is kept for the next attempt.
        for row in rows[position:]:
            defer(row, now, str(exc))
            outcome.deferred += 1
        log.warning("mail event=deferred count=%d error=%s", len(rows) - position, exc)
    session.flush()
    return outcome


def _push_one(
    batch: Batch, pusher: Pusher, row: OutboxMessage, sub: PushSubscription | None, now: datetime
) -> str:
    built = PUSH_COMPOSERS[row.kind](batch, row, json.loads(row.payload or "{}"))
    if sub is None or built is None:
        _done(row, "skipped", now)
        return "skipped"
    message, ttl = built
    status = pusher.send(sub, message, ttl)
    if status in (200, 201, 202):
        sub.last_success_at = now
        _done(row, "sent", now)
        return "sent"
    if status in (404, 410):  # the browser unsubscribed or the subscription expired
        batch.session.execute(delete(PushSubscription).where(PushSubscription.id == sub.id))
        _done(row, "skipped", now, f"push service answered {status}: subscription removed")
        log.info("push subscription=%s event=removed status=%s", sub.id, status)
        return "skipped"
    if status in (400, 403, 413):
        _done(row, "failed", now, f"push service answered {status}")
        return "failed"
    defer(row, now, f"push service answered {status}")
    return "deferred"


def deliver_push(session: Session, now: datetime, pusher: Pusher, limit: int = BATCH) -> Outcome:
    rows = _due(session, "push", now, limit)
    outcome = Outcome()
    if not rows:
        return outcome
    ids = {int(r.recipient) for r in rows if r.recipient.isdigit()}
    subs = {
        s.id: s
        for s in session.scalars(select(PushSubscription).where(PushSubscription.id.in_(ids)))
    }
    batch = Batch(session, now)
    with link_context():
        for row in rows:
            sub = subs.get(int(row.recipient)) if row.recipient.isdigit() else None
            result = _push_one(batch, pusher, row, sub, now)
            setattr(outcome, result, getattr(outcome, result) + 1)
    session.flush()
    return outcome
