"""From an outbox row to an e-mail: the composer of its kind, German templates, headers.

A composer is looked up by the row's kind and returns a :class:`Composed` (or ``None``
when there is, by design, nothing to send: a password reset for an unknown address,
an invitation that was withdrawn). Composers run in the sender job, inside a request
context on ``AUSHANG_BASE_URL``, so ``url_for(..., _external=True)`` gives the links.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, render_template
from sqlalchemy.orm import Session

from ..models import OutboxMessage


@dataclass
class Composed:
    subject: str
    template: str  # body text, ``templates/mail/<template>.txt``
    context: dict[str, Any] = field(default_factory=dict)
    action_url: str = ""
    action_label: str = ""
    unsubscribe_url: str = ""  # subscription mail: List-Unsubscribe (RFC 8058)
    footer: str = ""


@dataclass
class Batch:
    """State shared by the rows of one sender run (loaded fan-out events)."""

    session: Session
    now: datetime
    cache: dict[Any, Any] = field(default_factory=dict)


Composer = Callable[[Batch, OutboxMessage, dict[str, Any]], Composed | None]
COMPOSERS: dict[str, Composer] = {}


def composer(kind: str) -> Callable[[Composer], Composer]:
    def register(func: Composer) -> Composer:
        COMPOSERS[kind] = func
        return func

    return register


def sender_address() -> str:
    configured = current_app.config.get("AUSHANG_MAIL_FROM") or ""
    if configured:
        return configured
    return f"Aushang <aushang@{mail_domain()}>"


def mail_domain() -> str:
    return urlsplit(current_app.config["AUSHANG_BASE_URL"]).hostname or "localhost"


def compose(batch: Batch, row: OutboxMessage) -> Composed | None:
    func = COMPOSERS.get(row.kind)
    if func is None:
        raise LookupError(f"no composer for mail kind {row.kind!r}")
    return func(batch, row, json.loads(row.payload or "{}"))


def build(composed: Composed, recipient: str) -> EmailMessage:
    """The MIME message: text and HTML alternatives, Message-ID, unsubscribe headers."""
    from ..domain.posting import utcnow

    ctx = dict(composed.context, composed=composed)
    body = render_template(f"mail/{composed.template}.txt", **ctx).strip()
    ctx["body"] = body
    message = EmailMessage()
    message["From"] = sender_address()
    message["To"] = recipient
    message["Subject"] = composed.subject
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = make_msgid(domain=mail_domain())
    message["Auto-Submitted"] = "auto-generated"
    if composed.unsubscribe_url:
        message["List-Unsubscribe"] = f"<{composed.unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(render_template("mail/layout.txt", **ctx))
    message.add_alternative(render_template("mail/layout.html", **ctx), subtype="html")
    return message
