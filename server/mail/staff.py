"""Mail to staff about their work: who is told what, and each user's choice.

Recipients are chosen when the event happens, in its transaction (one outbox row per
person), so a later change of roles does not re-route a mail already due. Events come
from the audit log (``on_audit``: one hook for notices and warnings), from the display
outage detection and the NINA poll (one line each there), and from the hint check job.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from flask import url_for
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import AuditEntry, Membership, Notice, NoticeVersion, Tenant, User
from .compose import Batch, Composed, composer
from .outbox import mail

# kind -> what the user reads on the account page
STAFF_KINDS = {
    "notice.submitted": "Eine Bekanntmachung wurde mir zur Freigabe vorgelegt",
    "notice.sent_back": "Meine Bekanntmachung wurde zurückgegeben",
    "notice.released": "Meine Bekanntmachung wurde freigegeben",
    "notice.hint_overdue": "Ein nachrichtlicher Hinweis ist überfällig",
    "display.outage": "Eine Anzeige mit Bekanntmachungen im Aushang ist ausgefallen",
    "alert.confirmation": "Eine Warnung wartet auf meine zweite Bestätigung",
    "nina.health": "Der NINA-Empfang ist gestört oder wieder in Ordnung",
}
SUBJECTS = {
    "notice.submitted": "Zur Freigabe: {title}",
    "notice.sent_back": "Zurückgegeben: {title}",
    "notice.released": "Freigegeben: {title}",
    "notice.hint_overdue": "Nachrichtlicher Hinweis überfällig: {title}",
    "display.outage": "Ausfall der Anzeige „{display}“",
    "alert.confirmation": "Warnung wartet auf Bestätigung: {headline}",
    "nina.health": "{state}",
}


def opted_out(user: User) -> set[str]:
    return {k for k in (user.mail_opt_out or "").split(",") if k}


def set_choices(user: User, wanted: set[str]) -> None:
    user.mail_opt_out = ",".join(sorted(set(STAFF_KINDS) - wanted))


def holders(session: Session, tenant_id: int, roles: tuple[str, ...]) -> list[User]:
    """Active users with one of ``roles`` in the tenant."""
    return list(
        session.scalars(
            select(User)
            .where(
                User.active,
                User.id.in_(
                    select(Membership.user_id).where(
                        Membership.tenant_id == tenant_id, Membership.role.in_(roles)
                    )
                ),
            )
            .order_by(User.id)
        )
    )


def notify(
    session: Session,
    kind: str,
    users: list[User],
    now: datetime,
    payload: dict[str, Any],
    tenant_id: int | None,
    dedupe: str | None = None,
) -> int:
    """One mail per user who did not turn ``kind`` off."""
    count = 0
    for user in dict.fromkeys(users):
        if kind in opted_out(user):
            continue
        key = f"{dedupe}:{user.id}" if dedupe else None
        if mail(session, f"staff.{kind}", user.email, now, payload, tenant_id, key):
            count += 1
    return count


def _version_payload(version: NoticeVersion, tenant: Tenant, **extra: Any) -> dict[str, Any]:
    notice = version.notice
    return {
        "tenant": tenant.slug,
        "tenant_name": tenant.name,
        "number": notice.number,
        "title": version.title or notice.number,
        **extra,
    }


def _author(version: NoticeVersion) -> list[User]:
    author = version.submitted_by or version.created_by
    return [author] if author is not None else []


def on_audit(session: Session, entry: AuditEntry) -> None:
    """Called for every audit row: the ones that concern someone become mail."""
    handler = AUDIT_HANDLERS.get(entry.action)
    if handler is not None and entry.tenant_id is not None:
        handler(session, entry)


def _on_submit(session: Session, entry: AuditEntry) -> None:
    version = session.get(NoticeVersion, int(entry.object_id))
    tenant = session.get(Tenant, entry.tenant_id)
    if version is None or tenant is None:
        return
    approvers = [u for u in holders(session, tenant.id, ("approver",)) if u.id != entry.actor_id]
    payload = _version_payload(version, tenant, actor=entry.actor)
    notify(session, "notice.submitted", approvers, entry.at, payload, tenant.id)


def _on_author_event(kind: str) -> Any:
    def handler(session: Session, entry: AuditEntry) -> None:
        version = session.get(NoticeVersion, int(entry.object_id))
        tenant = session.get(Tenant, entry.tenant_id)
        if version is None or tenant is None:
            return
        comment = json.loads(entry.details or "{}").get("comment", "")
        payload = _version_payload(version, tenant, actor=entry.actor, comment=comment)
        authors = [u for u in _author(version) if u.id != entry.actor_id]
        notify(session, kind, authors, entry.at, payload, tenant.id)

    return handler


def _on_confirmation_requested(session: Session, entry: AuditEntry) -> None:
    tenant = session.get(Tenant, entry.tenant_id)
    if tenant is None:
        return
    details = json.loads(entry.details or "{}")
    others = [u for u in holders(session, tenant.id, ("alerter",)) if u.id != entry.actor_id]
    payload = {
        "tenant": tenant.slug,
        "tenant_name": tenant.name,
        "alert_id": int(entry.object_id),
        "headline": details.get("headline") or details.get("identifier") or "Warnung",
        "actor": entry.actor,
    }
    notify(session, "alert.confirmation", others, entry.at, payload, tenant.id)


AUDIT_HANDLERS = {
    "notice.submit": _on_submit,
    "notice.send_back": _on_author_event("notice.sent_back"),
    "notice.release": _on_author_event("notice.released"),
    "alert.confirmation_requested": _on_confirmation_requested,
}


def display_outage(session: Session, display: Any, started_at: datetime, now: datetime) -> int:
    """A display carrying notices in Aushang went dark: the tenant's admins."""
    tenant = session.get(Tenant, display.tenant_id)
    if tenant is None:
        return 0
    payload = {
        "tenant": tenant.slug,
        "tenant_name": tenant.name,
        "display": display.name,
        "started_at": started_at.isoformat(),
        "timezone": tenant.timezone,
    }
    admins = holders(session, tenant.id, ("admin",))
    dedupe = f"outage:{display.id}:{started_at.isoformat()}"
    return notify(session, "display.outage", admins, now, payload, tenant.id, dedupe)


def nina_health(session: Session, feed_key: str, disturbed: bool, error: str, now: datetime) -> int:
    """NINA feed of a Kreis disturbed (W3) or recovered: civil protection and admins of
    the tenants in that Kreis."""
    from ..domain.alerts import nina_dashboard_key
    from ..domain.errors import ValidationFailed

    count = 0
    for tenant in session.scalars(select(Tenant).where(Tenant.active)):
        try:
            if nina_dashboard_key(tenant.ars) != feed_key:
                continue
        except ValidationFailed:
            continue
        payload = {
            "tenant": tenant.slug,
            "tenant_name": tenant.name,
            "disturbed": disturbed,
            "error": error,
            "at": now.isoformat(),
            "timezone": tenant.timezone,
            "state": (
                f"NINA-Empfang gestört ({tenant.name})"
                if disturbed
                else f"NINA-Empfang wieder in Ordnung ({tenant.name})"
            ),
        }
        users = holders(session, tenant.id, ("alerter", "admin"))
        count += notify(session, "nina.health", users, now, payload, tenant.id)
    return count


def hint_overdue(session: Session, now: datetime) -> int:
    """Once per notice whose nachrichtlicher Hinweis is overdue: its tenant's editors."""
    from ..services import notices as notice_svc

    count = 0
    candidates = session.scalars(
        select(Notice).where(
            Notice.hint_required,
            Notice.provided_on.is_not(None),
            Notice.hint_posted_on.is_(None),
            Notice.status != "withdrawn",
        )
    )
    for notice in candidates:
        if not notice_svc.hint_overdue(notice, now):
            continue
        dedupe = f"hint:{notice.id}"  # per editor: told once each
        version = notice.current_version or notice.latest_version
        payload = _version_payload(version, notice.tenant, due=str(notice_svc.hint_due_on(notice)))
        editors = holders(session, notice.tenant_id, ("editor",))
        count += notify(
            session, "notice.hint_overdue", editors, now, payload, notice.tenant_id, dedupe
        )
    return count


def _link(kind: str, p: dict[str, Any]) -> tuple[str, str]:
    if kind.startswith("notice."):
        return (
            url_for("admin.notice_detail", tenant=p["tenant"], number=p["number"], _external=True),
            "Bekanntmachung öffnen",
        )
    if kind == "display.outage":
        return url_for(
            "admin.display_outages", tenant=p["tenant"], _external=True
        ), "Ausfälle ansehen"
    if kind == "alert.confirmation":
        return (
            url_for(
                "admin.alerts_show", tenant=p["tenant"], alert_id=p["alert_id"], _external=True
            ),
            "Warnung prüfen",
        )
    return url_for("admin.alerts_index", tenant=p["tenant"], _external=True), "Warnungen öffnen"


def _staff_composer(kind: str) -> Any:
    def compose(batch: Batch, row: Any, payload: dict[str, Any]) -> Composed:
        url, label = _link(kind, payload)
        return Composed(
            subject=SUBJECTS[kind].format(**payload),
            template=f"staff_{kind.replace('.', '_')}",
            context={"p": payload},
            action_url=url,
            action_label=label,
            footer=(
                "Welche dieser Nachrichten Sie erhalten, wählen Sie unter „Mein Konto“: "
                + url_for("auth.account", _external=True)
            ),
        )

    return compose


for _kind in STAFF_KINDS:
    composer(f"staff.{_kind}")(_staff_composer(_kind))
