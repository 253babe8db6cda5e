"""The sender: expands fan-outs, hands mail to the transport and pushes to browsers.

Each function handles one batch and only adds and flushes; the job commits between
batches, so a crash repeats at most one batch (at-least-once; a receiving MTA drops
duplicates by Message-ID only sometimes, hence small batches). A transport failure
never loses a row: it is tried again with backoff (``outbox.backoff``).
"""

from __future__ import annotations

import json
import logging
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from email.message import Message
from typing import Any

from flask import current_app
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ..models import OutboxMessage, PushSubscription
from ..sources.webpush import Pusher
from .compose import Batch, build, compose
from .outbox import GIVE_UP_AFTER, backoff
from .transport import PermanentFailure, TemporaryFailure, Transport

log = logging.getLogger("aushang.mail")

BATCH = 500
PUSH_WORKERS = 8
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
        try:
            with session.begin_nested():
                made += FANOUTS[row.kind](session, row, json.loads(row.payload or "{}"), now)
        except Exception as exc:  # one broken event must not block the others
            log.exception("outbox id=%s kind=%s event=expand_failed", row.id, row.kind)
            _done(row, "failed", now, repr(exc))
            continue
        _done(row, "sent", now)
    session.flush()
    return made


def _push_message(batch: Batch, row: OutboxMessage) -> tuple[dict[str, Any], int] | None:
    return PUSH_COMPOSERS[row.kind](batch, row, json.loads(row.payload or "{}"))


def _safely(
    func: Callable[[Batch, OutboxMessage], Any], batch: Batch, row: OutboxMessage, now: datetime
) -> Any:
    """Compose one row; a row that cannot be composed (a bug, data gone odd) is marked
    ``failed`` and logged, so it never blocks the rows behind it. ``False`` then."""
    try:
        return func(batch, row)
    except Exception as exc:
        log.exception("outbox id=%s kind=%s event=compose_failed", row.id, row.kind)
        _done(row, "failed", now, repr(exc))
        return False


def _send_chunk(
    transport: Transport, chunk: list[tuple[int, Message]]
) -> list[tuple[int, str, str]]:
    """Send over one connection (a worker thread: no database here). A temporary
    failure defers the rest of the chunk, in order, for the next attempt."""
    results: list[tuple[int, str, str]] = []
    try:
        with transport.open() as conn:
            for index, message in chunk:
                try:
                    conn.send(message)
                except PermanentFailure as exc:
                    results.append((index, "failed", str(exc)))
                else:
                    results.append((index, "sent", ""))
    except TemporaryFailure as exc:
        done = {i for i, _, _ in results}
        results += [(i, "deferred", str(exc)) for i, _ in chunk if i not in done]
    return results


def deliver_mail(
    session: Session, now: datetime, transport: Transport, limit: int = BATCH
) -> Outcome:
    """Compose (needs the database) in this thread, then send over up to
    ``transport.parallel`` connections at once: an MTA takes a message per round trip,
    so one connection alone leaves most of the time waiting."""
    rows = _due(session, "mail", now, limit)
    outcome = Outcome()
    batch = Batch(session, now)
    built: list[tuple[int, Message]] = []
    with link_context():
        for index, row in enumerate(rows):
            composed = _safely(compose, batch, row, now)
            if composed is False:
                outcome.failed += 1
            elif composed is None:
                _done(row, "skipped", now)
                outcome.skipped += 1
            else:
                built.append((index, build(composed, row.recipient)))
    lanes = max(1, min(getattr(transport, "parallel", 1), len(built)))
    # One recipient's mails share a connection, so they arrive in order (a warning
    # before its Entwarnung).
    chunks: list[list[tuple[int, Message]]] = [[] for _ in range(lanes)]
    for index, message in built:
        chunks[zlib.crc32(rows[index].recipient.encode()) % lanes].append((index, message))
    chunks = [c for c in chunks if c]
    with ThreadPoolExecutor(max(1, len(chunks))) as pool:
        results = [
            r for part in pool.map(lambda c: _send_chunk(transport, c), chunks) for r in part
        ]
    messages = dict(built)
    for index, result, error in sorted(results):
        row = rows[index]
        if result == "deferred":
            defer(row, now, error)
        else:
            _done(row, result, now, error)
            row.message_id = str(messages[index]["Message-ID"]) if result == "sent" else ""
        setattr(outcome, result, getattr(outcome, result) + 1)
    if outcome.deferred:
        log.warning("mail event=deferred count=%d error=%s", outcome.deferred, rows[0].last_error)
    if outcome.failed:
        log.warning("mail event=refused count=%d", outcome.failed)
    session.flush()
    return outcome


def _apply_push(
    batch: Batch, row: OutboxMessage, sub: PushSubscription, status: int, now: datetime
) -> str:
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


def deliver_push(
    session: Session, now: datetime, pusher: Pusher, limit: int = BATCH, workers: int = PUSH_WORKERS
) -> Outcome:
    """Build each message here, encrypt and post them from ``workers`` threads (each
    post waits for a round trip), then record the answers here."""
    rows = _due(session, "push", now, limit)
    outcome = Outcome()
    ids = {int(r.recipient) for r in rows if r.recipient.isdigit()}
    subs = {
        s.id: s
        for s in session.scalars(select(PushSubscription).where(PushSubscription.id.in_(ids)))
    }
    batch = Batch(session, now)
    jobs: list[tuple[OutboxMessage, PushSubscription, Target, dict[str, Any], int]] = []
    skipped: list[OutboxMessage] = []  # marked after the posts: no write lock held meanwhile
    with link_context():
        for row in rows:
            sub = subs.get(int(row.recipient)) if row.recipient.isdigit() else None
            built = _safely(_push_message, batch, row, now)
            if built is False:
                outcome.failed += 1
                continue
            if sub is None or built is None:
                skipped.append(row)
                outcome.skipped += 1
            else:
                jobs.append((row, sub, Target(sub.endpoint, sub.p256dh, sub.auth), *built))
    if jobs:
        with ThreadPoolExecutor(min(workers, len(jobs))) as pool:
            statuses = list(pool.map(lambda j: pusher.send(j[2], j[3], j[4]), jobs))
        for (row, sub, *_), status in zip(jobs, statuses, strict=True):
            result = _apply_push(batch, row, sub, status, now)
            setattr(outcome, result, getattr(outcome, result) + 1)
    for row in skipped:
        _done(row, "skipped", now)
    session.flush()
    return outcome


@dataclass(frozen=True)
class Target:
    """What a worker thread needs of a subscription (no ORM object crosses threads)."""

    endpoint: str
    p256dh: str
    auth: str
