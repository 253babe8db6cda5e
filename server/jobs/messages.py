"""Jobs of the messaging area (issue 18): send the outbox, digests, warnings, hints."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete
from sqlalchemy.orm import Session

from .. import mail
from ..mail import citizens, staff
from ..models import OutboxMessage
from ..services.webpush import vapid_key
from ..sources.webpush import Pusher
from . import JobSpec

log = logging.getLogger("aushang.jobs.messages")

MAX_BATCHES = 200  # per run: 100,000 messages; the next run goes on
KEEP_SENT = timedelta(days=30)


def push_subject() -> str:
    """VAPID ``sub``: how the push service reaches the operator (RFC 8292)."""
    from email.utils import parseaddr

    from ..mail.compose import sender_address

    return "mailto:" + parseaddr(sender_address())[1]


def send_outbox(
    session: Session,
    now: datetime,
    transport: mail.transport.Transport | None = None,
    pusher: Pusher | None = None,
) -> int:
    """Expand events, then push (seconds count for a warning) and hand mail over,
    committing per batch so that a crash repeats at most one batch. Tests pass their
    own transport and pusher."""
    transport = transport or mail.from_config(current_app.config)
    handled = mail.expand_fanouts(session, now)
    session.commit()
    own_pusher = pusher is None
    pusher = pusher or Pusher(vapid_key(session, now), push_subject())
    session.commit()  # a key made just now is stored before any post (no lock held meanwhile)
    try:
        for _ in range(MAX_BATCHES):
            outcome = mail.deliver_push(session, now, pusher)
            session.commit()
            handled += outcome.handled
            if outcome.handled < mail.sender.BATCH:
                break
    finally:
        if own_pusher:
            pusher.close()
    for _ in range(MAX_BATCHES):
        outcome = mail.deliver_mail(session, now, transport)
        session.commit()
        handled += outcome.handled
        if outcome.handled < mail.sender.BATCH or outcome.deferred:
            break
    return handled


def queue_citizen_messages(session: Session, now: datetime) -> int:
    """Warnings in force for subscribed tenants, and the daily digests."""
    return citizens.warn_subscribers(session, now) + citizens.send_digests(session, now)


def check_hints(session: Session, now: datetime) -> int:
    """Editors hear once of each overdue nachrichtlicher Hinweis."""
    return staff.hint_overdue(session, now)


def forget_sent(session: Session, now: datetime) -> int:
    """Delivered rows are kept for a month (the system admin's mail page), then go."""
    result = session.execute(
        delete(OutboxMessage).where(
            OutboxMessage.status.in_(("sent", "skipped")),
            OutboxMessage.sent_at < now - KEEP_SENT,
            OutboxMessage.dedupe_key.is_(None),
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


JOBS = [
    JobSpec(
        id="messages.send",
        func=send_outbox,
        seconds=10,
        description="E-Mails und Push-Nachrichten aus dem Postausgang versenden",
    ),
    JobSpec(
        id="messages.citizens",
        func=queue_citizen_messages,
        seconds=20,
        description="Warnungen und Tagesübersichten für Abonnentinnen und Abonnenten vormerken",
    ),
    JobSpec(
        id="messages.hints",
        func=check_hints,
        seconds=900,
        description="Überfällige nachrichtliche Hinweise der Redaktion melden",
    ),
    JobSpec(
        id="messages.forget_sent",
        func=forget_sent,
        seconds=86400,
        description="Versandte Nachrichten nach 30 Tagen aus dem Postausgang löschen",
    ),
]
