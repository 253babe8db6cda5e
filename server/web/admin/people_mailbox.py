"""The system admin's view of outgoing mail: the outbox (pending, failed, sent) and,
without ``AUSHANG_SMTP_URL``, the local Maildir the demo delivers to, so a newcomer
can follow every flow (invitation, password reset, subscription) in the browser."""

from __future__ import annotations

import mailbox
from email import message_from_binary_file, policy
from email.message import Message
from pathlib import Path
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, url_for
from sqlalchemy import func, select

from ...extensions import db
from ...models import OutboxMessage
from ...security import system_admin_required
from . import bp
from .common import request_now

SHOWN = 50


def _maildir() -> mailbox.Maildir | None:
    if current_app.config.get("AUSHANG_SMTP_URL"):
        return None
    path = Path(current_app.config["AUSHANG_MAILDIR"])
    return mailbox.Maildir(path, factory=_parse, create=True)  # type: ignore[arg-type]


def _parse(file: Any) -> Message:
    return message_from_binary_file(file, policy=policy.default)


def _text_of(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                return payload.decode(part.get_content_charset() or "utf-8", "replace")
    return ""


def _listing(box: mailbox.Maildir) -> list[dict[str, Any]]:
    items = []
    for key in box.keys():
        message = box[key]
        items.append(
            {
                "key": key,
                "to": message.get("To", ""),
                "subject": str(message.get("Subject", "")),
                "date": message.get("Date", ""),
                "sort": key,  # Maildir names start with the delivery time
            }
        )
    return sorted(items, key=lambda m: m["sort"], reverse=True)[:SHOWN]


@bp.route("/system/post")
@system_admin_required
def system_mail():
    counts = dict(
        db.session.execute(
            select(OutboxMessage.status, func.count())
            .where(OutboxMessage.channel != "fanout")
            .group_by(OutboxMessage.status)
        ).all()
    )
    problems = db.session.scalars(
        select(OutboxMessage)
        .where(
            OutboxMessage.channel != "fanout",
            (OutboxMessage.status == "failed")
            | ((OutboxMessage.status == "pending") & (OutboxMessage.attempts > 0)),
        )
        .order_by(OutboxMessage.id.desc())
        .limit(SHOWN)
    ).all()
    box = _maildir()
    return render_template(
        "admin/system_mail.html",
        tenant=None,
        counts=counts,
        problems=problems,
        maildir=current_app.config["AUSHANG_MAILDIR"] if box is not None else None,
        messages=_listing(box) if box is not None else [],
        smtp=bool(current_app.config.get("AUSHANG_SMTP_URL")),
    )


@bp.route("/system/post/<key>")
@system_admin_required
def system_mail_show(key: str):
    box = _maildir()
    if box is None or "/" in key:
        abort(404)
    try:
        message = box[key]
    except KeyError:
        abort(404)
    return render_template(
        "admin/system_mail_show.html",
        tenant=None,
        message=message,
        text=_text_of(message),
        headers=[(k, str(v)) for k, v in message.items()],
    )


@bp.route("/system/post/<int:message_id>/erneut", methods=["POST"])
@system_admin_required
def system_mail_retry(message_id: int):
    row = db.session.get(OutboxMessage, message_id)
    if row is None or row.status not in ("failed", "pending"):
        abort(404)
    row.status = "pending"
    row.next_attempt_at = request_now()
    db.session.commit()
    flash("Die Nachricht wird beim nächsten Lauf des Versands erneut versucht.", "success")
    return redirect(url_for("admin.system_mail"))
