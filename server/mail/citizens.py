"""Citizens' e-mail subscriptions and what they receive (issue 18, Build 3 and 4).

Double opt-in without storing anything before the confirmation: the confirmation link
carries the address and the choice, signed and valid for 48 hours; confirming stores
the subscription (or replaces the choice of an existing one). A request never reads
the subscription table, so no answer, and no timing, tells whether an address is
subscribed; the mail itself says so to the address's owner only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app, url_for
from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from ..domain.errors import ValidationFailed
from ..models import (
    AuditEntry,
    EmailSubscription,
    Notice,
    OutboxMessage,
    PushSubscription,
    Tenant,
)
from ..models.messaging import SUBSCRIPTION_MODES
from ..services.listing import notice_path
from .compose import Batch, Composed, composer
from .outbox import bulk_rows, enqueue, mail
from .sender import FANOUTS, PUSH_COMPOSERS
from .staff import AUDIT_HANDLERS
from .tokens import SUBSCRIBE, UNSUBSCRIBE, TokenInvalid, make

EMAIL_MAX = 254
WARNING_TTL = 6 * 3600
NOTICE_TTL = 3 * 86400


@dataclass(frozen=True)
class Choice:
    email: str
    categories: tuple[int, ...]  # empty with notices: all
    notices: bool
    warnings: bool
    mode: str

    def as_token(self, tenant: Tenant) -> dict[str, Any]:
        return {
            "t": tenant.id,
            "e": self.email,
            "c": list(self.categories),
            "n": self.notices,
            "w": self.warnings,
            "m": self.mode,
        }


def check_choice(
    tenant: Tenant, email: str, categories: list[str], notices: bool, warnings: bool, mode: str
) -> Choice:
    from ..services.people import EMAIL_RE

    errors: dict[str, str] = {}
    email = (email or "").strip().lower()
    if len(email) > EMAIL_MAX or not EMAIL_RE.match(email):
        errors["email"] = "Bitte eine gültige E-Mail-Adresse angeben, z. B. name@example.de."
    known = {c.id for c in tenant.categories}
    ids: list[int] = []
    for raw in categories:
        if not raw.isdigit() or int(raw) not in known:
            errors["categories"] = "Bitte nur Kategorien aus der Liste wählen."
            break
        ids.append(int(raw))
    if not notices and not warnings:
        errors["what"] = "Bitte Bekanntmachungen, Warnungen oder beides wählen."
    if mode not in SUBSCRIPTION_MODES:
        errors["mode"] = "Bitte „sofort“ oder „täglich“ wählen."
    if errors:
        raise ValidationFailed("Bitte prüfen Sie Ihre Angaben.", errors)
    return Choice(email, tuple(sorted(set(ids))), notices, warnings, mode)


def request_subscription(session: Session, tenant: Tenant, choice: Choice, now: datetime) -> None:
    """Queue the confirmation mail: the same row whether or not the address is known."""
    mail(session, "citizen.confirm", choice.email, now, choice.as_token(tenant), tenant.id)


def confirm(
    session: Session, tenant: Tenant, data: dict[str, Any], now: datetime
) -> EmailSubscription:
    """Store the choice a confirmation link carries (idempotent)."""
    if data.get("t") != tenant.id:
        raise TokenInvalid()
    choice = check_choice(
        tenant,
        str(data.get("e", "")),
        [str(c) for c in data.get("c", [])],
        bool(data.get("n")),
        bool(data.get("w")),
        str(data.get("m", "")),
    )
    sub = session.scalar(
        select(EmailSubscription).where(
            EmailSubscription.tenant_id == tenant.id, EmailSubscription.email == choice.email
        )
    )
    if sub is None:
        sub = EmailSubscription(tenant_id=tenant.id, email=choice.email)
        session.add(sub)
    sub.categories = ",".join(str(c) for c in choice.categories)
    sub.notices, sub.warnings, sub.mode = choice.notices, choice.warnings, choice.mode
    sub.confirmed_at = now
    if sub.digest_sent_until is None:
        sub.digest_sent_until = now
    session.flush()
    return sub


def unsubscribe(session: Session, tenant: Tenant, data: dict[str, Any]) -> None:
    """Delete the subscription the link names; nothing to delete is fine (idempotent)."""
    session.execute(
        delete(EmailSubscription).where(
            EmailSubscription.id == int(data.get("s", 0)),
            EmailSubscription.tenant_id == tenant.id,
            EmailSubscription.email == str(data.get("e", "")),
        )
    )


def unsubscribe_url(batch: Batch, row: OutboxMessage, tenant: Tenant) -> str:
    """The row's subscriber's one-click link (valid as long as the subscription)."""
    sub_id = int(json.loads(row.payload)["sub"])
    token = make(UNSUBSCRIBE, {"s": sub_id, "e": row.recipient}, batch.now)
    return url_for("subscriptions.unsubscribe", tenant=tenant.slug, token=token, _external=True)


# --- events -------------------------------------------------------------------------------


def _on_publish(session: Session, entry: AuditEntry) -> None:
    """A notice went into Aushang: immediate subscribers of its category, push too."""
    notice = session.get(Notice, int(entry.object_id))
    if notice is None or notice.tenant_id is None:
        return
    enqueue(
        session,
        channel="fanout",
        kind="notice",
        now=entry.at,
        payload={"notice": notice.id},
        tenant_id=notice.tenant_id,
        dedupe_key=f"notice:{notice.id}",
    )


AUDIT_HANDLERS["notice.publish"] = _on_publish


def warn_subscribers(session: Session, now: datetime) -> int:
    """Queue each warning in force for a tenant once for its subscribers."""
    from ..services.alerts import public_alerts

    tenant_ids = set(
        session.scalars(select(EmailSubscription.tenant_id).where(EmailSubscription.warnings))
    ) | set(session.scalars(select(PushSubscription.tenant_id).where(PushSubscription.warnings)))
    queued = 0
    for tenant in session.scalars(select(Tenant).where(Tenant.id.in_(tenant_ids), Tenant.active)):
        for item in public_alerts(session, tenant, now):
            record = item.alert
            rec = item.record
            if rec.phase != "active":
                continue
            info = record.primary_info()
            payload = {
                "record": rec.id,
                "headline": (info.headline if info else "") or rec.headline or rec.event,
                "description": (info.description if info else "") or "",
                "instruction": (info.instruction if info else "") or "",
                "source": item.presentation.source_label,
                "warnstufe": item.presentation.warnstufe,
            }
            made = enqueue(
                session,
                channel="fanout",
                kind="warning",
                now=now,
                payload=payload,
                tenant_id=tenant.id,
                dedupe_key=f"warning:{tenant.id}:{rec.id}",
            )
            queued += made is not None
    return queued


def _expand_notice(
    session: Session, row: OutboxMessage, payload: dict[str, Any], now: datetime
) -> int:
    notice = session.get(Notice, int(payload["notice"]))
    if notice is None:
        return 0
    subs = session.execute(
        select(EmailSubscription.id, EmailSubscription.email, EmailSubscription.categories).where(
            EmailSubscription.tenant_id == notice.tenant_id,
            EmailSubscription.notices,
            EmailSubscription.mode == "immediate",
        )
    ).all()
    wanted = [
        (email, {"fanout": row.id, "sub": sid})
        for sid, email, cats in subs
        if not cats or str(notice.category_id) in cats.split(",")
    ]
    pushes = session.scalars(
        select(PushSubscription.id).where(
            PushSubscription.tenant_id == notice.tenant_id, PushSubscription.notices
        )
    ).all()
    return _bulk(session, row, "citizen.notice", wanted, pushes, now)


def _expand_warning(
    session: Session, row: OutboxMessage, payload: dict[str, Any], now: datetime
) -> int:
    subs = session.execute(
        select(EmailSubscription.id, EmailSubscription.email).where(
            EmailSubscription.tenant_id == row.tenant_id, EmailSubscription.warnings
        )
    ).all()
    pushes = session.scalars(
        select(PushSubscription.id).where(
            PushSubscription.tenant_id == row.tenant_id, PushSubscription.warnings
        )
    ).all()
    wanted = [(email, {"fanout": row.id, "sub": sid}) for sid, email in subs]
    return _bulk(session, row, "citizen.warning", wanted, pushes, now)


def _bulk(
    session: Session,
    row: OutboxMessage,
    kind: str,
    mails: list[tuple[str, dict[str, Any]]],
    pushes: Any,
    now: datetime,
) -> int:
    made = bulk_rows(session, "mail", kind, mails, now, row.tenant_id)
    push_rows = [(str(pid), {"fanout": row.id}) for pid in pushes]
    return made + bulk_rows(session, "push", kind, push_rows, now, row.tenant_id)


FANOUTS["notice"] = _expand_notice
FANOUTS["warning"] = _expand_warning


# --- composing ----------------------------------------------------------------------------


def _fanout(batch: Batch, fanout_id: int) -> dict[str, Any]:
    key = ("fanout", fanout_id)
    if key not in batch.cache:
        row = batch.session.get(OutboxMessage, fanout_id)
        batch.cache[key] = json.loads(row.payload) if row is not None else {}
    return batch.cache[key]


def _tenant(batch: Batch, tenant_id: int | None) -> Tenant | None:
    key = ("tenant", tenant_id)
    if key not in batch.cache:
        batch.cache[key] = batch.session.get(Tenant, tenant_id) if tenant_id else None
    return batch.cache[key]


def _notice_context(batch: Batch, notice_id: int) -> dict[str, Any] | None:
    key = ("notice", notice_id)
    if key not in batch.cache:
        notice = batch.session.get(Notice, notice_id)
        version = notice.current_version if notice is not None else None
        batch.cache[key] = (
            None
            if notice is None or version is None or notice.status != "released"
            else {
                "title": version.title,
                "number": notice.number,
                "category": notice.category.name,
                "posting_start": notice.posting_start,
                "posting_end": notice.posting_end,
                "url": current_app.config["AUSHANG_BASE_URL"]
                + notice_path(notice.tenant.slug, notice.number),
            }
        )
    return batch.cache[key]


@composer("citizen.confirm")
def confirm_mail(batch: Batch, row: OutboxMessage, payload: dict[str, Any]) -> Composed | None:
    tenant = _tenant(batch, row.tenant_id)
    if tenant is None:
        return None
    token = make(SUBSCRIBE, payload, batch.now)
    names = {c.id: c.name for c in tenant.categories}
    return Composed(
        subject=f"Bitte bestätigen: Benachrichtigungen aus {tenant.name}",
        template="citizen_confirm",
        context={
            "tenant": tenant,
            "p": payload,
            "categories": [names[c] for c in payload.get("c", []) if c in names],
        },
        action_url=url_for(
            "subscriptions.confirm", tenant=tenant.slug, token=token, _external=True
        ),
        action_label="Abonnement bestätigen",
    )


@composer("citizen.notice")
def notice_mail(batch: Batch, row: OutboxMessage, payload: dict[str, Any]) -> Composed | None:
    tenant = _tenant(batch, row.tenant_id)
    fan = _fanout(batch, int(payload["fanout"]))
    notice = _notice_context(batch, int(fan.get("notice", 0)))
    if tenant is None or notice is None:
        return None  # withdrawn before it went out: nothing to announce
    return Composed(
        subject=f"Neue Bekanntmachung: {notice['title']}",
        template="citizen_notice",
        context={"tenant": tenant, "n": notice},
        action_url=notice["url"],
        action_label="Bekanntmachung lesen",
        unsubscribe_url=unsubscribe_url(batch, row, tenant),
        footer=f"Sie erhalten diese Nachricht, weil Sie Bekanntmachungen von {tenant.name} abonniert haben.",
    )


@composer("citizen.warning")
def warning_mail(batch: Batch, row: OutboxMessage, payload: dict[str, Any]) -> Composed | None:
    tenant = _tenant(batch, row.tenant_id)
    fan = _fanout(batch, int(payload["fanout"]))
    if tenant is None or not fan:
        return None
    return Composed(
        subject=f"Warnung für {tenant.name}: {fan['headline']}",
        template="citizen_warning",
        context={"tenant": tenant, "w": fan},
        action_url=url_for("alerts_public.tenant_warnings", tenant=tenant.slug, _external=True),
        action_label="Alle Warnungen ansehen",
        unsubscribe_url=unsubscribe_url(batch, row, tenant),
        footer=f"Sie erhalten diese Nachricht, weil Sie Warnungen für {tenant.name} abonniert haben.",
    )


def _push_notice(
    batch: Batch, row: OutboxMessage, payload: dict[str, Any]
) -> tuple[dict[str, Any], int] | None:
    fan = _fanout(batch, int(payload["fanout"]))
    notice = _notice_context(batch, int(fan.get("notice", 0)))
    tenant = _tenant(batch, row.tenant_id)
    if notice is None or tenant is None:
        return None
    body = f"{notice['category']}: {notice['title']}"
    return {
        "title": f"Neue Bekanntmachung – {tenant.name}",
        "body": body,
        "url": notice["url"],
        "tag": f"notice-{notice['number']}",
    }, NOTICE_TTL


def _push_warning(
    batch: Batch, row: OutboxMessage, payload: dict[str, Any]
) -> tuple[dict[str, Any], int] | None:
    fan = _fanout(batch, int(payload["fanout"]))
    tenant = _tenant(batch, row.tenant_id)
    if not fan or tenant is None:
        return None
    return {
        "title": f"Warnung – {tenant.name}",
        "body": fan["headline"],
        "url": url_for("alerts_public.tenant_warnings", tenant=tenant.slug, _external=True),
        "tag": f"warning-{fan['record']}",
        "urgent": True,
    }, WARNING_TTL


PUSH_COMPOSERS["citizen.notice"] = _push_notice
PUSH_COMPOSERS["citizen.warning"] = _push_warning


# --- daily digest -------------------------------------------------------------------------


def send_digests(session: Session, now: datetime) -> int:
    """Once a day per subscriber: the notices that went into Aushang since the last one."""
    from datetime import timedelta

    due = session.scalars(
        select(EmailSubscription).where(
            EmailSubscription.mode == "digest",
            EmailSubscription.notices,
            or_(
                EmailSubscription.digest_sent_until.is_(None),
                EmailSubscription.digest_sent_until <= now - timedelta(days=1),
            ),
        )
    ).all()
    queued = 0
    for sub in due:
        since = sub.digest_sent_until or sub.confirmed_at
        query = select(Notice.id).where(
            Notice.tenant_id == sub.tenant_id,
            Notice.status == "released",
            Notice.starts_at > since,
            Notice.starts_at <= now,
        )
        if sub.category_ids():
            query = query.where(Notice.category_id.in_(sub.category_ids()))
        ids = list(session.scalars(query.order_by(Notice.starts_at)))
        sub.digest_sent_until = now
        if ids:
            payload = {"sub": sub.id, "notices": ids, "since": since.isoformat()}
            mail(session, "citizen.digest", sub.email, now, payload, sub.tenant_id)
            queued += 1
    session.flush()
    return queued


@composer("citizen.digest")
def digest_mail(batch: Batch, row: OutboxMessage, payload: dict[str, Any]) -> Composed | None:
    tenant = _tenant(batch, row.tenant_id)
    items = [n for n in (_notice_context(batch, i) for i in payload["notices"]) if n]
    if tenant is None or not items:
        return None
    return Composed(
        subject=f"Neue Bekanntmachungen aus {tenant.name} ({len(items)})",
        template="citizen_digest",
        context={"tenant": tenant, "items": items},
        action_url=url_for("public.index", tenant=tenant.slug, _external=True),
        action_label="Alle Bekanntmachungen",
        unsubscribe_url=unsubscribe_url(batch, row, tenant),
        footer=f"Sie erhalten diese tägliche Übersicht, weil Sie Bekanntmachungen von {tenant.name} abonniert haben.",
    )
