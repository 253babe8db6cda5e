"""Second-person confirmation of manual warnings (W10).

A tenant may require that a Schadenslage issued by one person is confirmed by a
second, different person with the alerter or admin role before it reaches any display
or feed. Until then the message is an :class:`~server.models.AlertRecord` in the phase
``unconfirmed``: its CAP document is generated and archived, but it is part
of no lifecycle. Confirming folds exactly that document into the lifecycle; discarding
(with a reason) ends it unseen. Each step writes an audit row. Which messages wait is
decided in :func:`server.services.alerts.needs_confirmation`; Entwarnungen never wait.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..domain.alerts import Source
from ..domain.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from ..models import AlertRecord, AuditEntry, Tenant, User
from . import audit
from .alerts import (
    AWAITING_CONFIRMATION,
    CAP_MEDIA_TYPE,
    HELD_PHASES,
    AlertPolicy,
    Incoming,
    discard_held,
    fold,
    load_message,
)

CONFIRMING_ROLES = frozenset({"alerter", "admin"})
TRAIL_ACTIONS = ("alert.confirmation_requested", "alert.confirmed", "alert.discarded")


def awaiting(session: Session, tenant: Tenant) -> list[AlertRecord]:
    """The tenant's messages awaiting confirmation, oldest first."""
    return list(
        session.scalars(
            select(AlertRecord)
            .where(
                AlertRecord.feed_key == "",
                AlertRecord.issuer_tenant_id == tenant.id,
                AlertRecord.phase == AWAITING_CONFIRMATION,
            )
            .order_by(AlertRecord.received_at, AlertRecord.id)
        ).all()
    )


def awaiting_count(session: Session, tenant_id: int) -> int:
    """How many of the tenant's messages await confirmation (one cheap query)."""
    return (
        session.scalar(
            select(func.count())
            .select_from(AlertRecord)
            .where(
                AlertRecord.feed_key == "",
                AlertRecord.issuer_tenant_id == tenant_id,
                AlertRecord.phase == AWAITING_CONFIRMATION,
            )
        )
        or 0
    )


def may_confirm(user: User, tenant: Tenant, record: AlertRecord) -> bool:
    """A second person with the alerter or admin role (system admins count as admins)."""
    if record.created_by_id is not None and record.created_by_id == user.id:
        return False
    return bool(user.is_system_admin or user.roles_in(tenant.id) & CONFIRMING_ROLES)


def _held(session: Session, tenant: Tenant, record_id: int) -> AlertRecord:
    record = session.get(AlertRecord, record_id)
    if record is None or record.feed_key != "" or record.issuer_tenant_id != tenant.id:
        raise NotFound("Warnung nicht gefunden.")
    if record.phase != AWAITING_CONFIRMATION:
        raise Conflict("Diese Warnung wartet nicht (mehr) auf eine Bestätigung.")
    return record


def confirm(
    session: Session,
    *,
    tenant: Tenant,
    user: User,
    record_id: int,
    now: datetime,
    policy: AlertPolicy,
) -> AlertRecord:
    """The second person releases the message: it enters the lifecycle now."""
    record = _held(session, tenant, record_id)
    if not may_confirm(user, tenant, record):
        if record.created_by_id == user.id:
            raise PermissionDenied(
                "Sie haben diese Warnung selbst ausgelöst. Bestätigen muss eine zweite "
                "Person mit der Rolle Bevölkerungsschutz oder Administration."
            )
        raise PermissionDenied(
            "Bestätigen dürfen nur Personen mit der Rolle Bevölkerungsschutz oder Administration."
        )
    if record.expires is not None and record.expires <= now:
        raise Conflict(
            "Das angegebene Ende dieser Warnung ist bereits vorbei. Bitte verwerfen Sie "
            "sie und lösen Sie bei Bedarf eine neue aus."
        )
    message = load_message(record)
    if message.msg_type == "Update":
        names = sorted(message.referenced_identifiers())
        still = session.scalar(
            select(func.count())
            .select_from(AlertRecord)
            .where(
                AlertRecord.feed_key == "",
                AlertRecord.identifier.in_(names or [""]),
                AlertRecord.phase == "active",
            )
        )
        if not still:
            raise Conflict(
                "Die Warnung, die diese Aktualisierung ersetzen soll, ist nicht mehr aktiv. "
                "Bitte verwerfen Sie die Aktualisierung."
            )
    document = record.document
    incoming = Incoming(
        alert=message,
        raw=document.content if document else b"",
        media_type=document.media_type if document else CAP_MEDIA_TYPE,
        direction="generated",
        origin=record.origin,
        source=Source(record.source),
        issuer=tenant,
        user=record.created_by,
        held=record,
    )
    fold(session, incoming, now, policy)
    # On the displays from now on; the request time stays in the audit and archive.
    record.received_at = now
    audit.record(
        session,
        now=now,
        action="alert.confirmed",
        object_type="alert",
        object_id=record.id,
        actor=user,
        tenant_id=tenant.id,
        details={
            "identifier": record.identifier,
            "msg_type": record.msg_type,
            "requested_by": record.created_by.email if record.created_by else None,
        },
    )
    session.flush()
    return record


def discard(
    session: Session,
    *,
    tenant: Tenant,
    user: User,
    record_id: int,
    reason: str,
    now: datetime,
) -> AlertRecord:
    """End a message awaiting confirmation unseen; a reason is required.

    The person who requested it may withdraw it too: that only ever shows less.
    """
    record = _held(session, tenant, record_id)
    if not (user.is_system_admin or user.roles_in(tenant.id) & CONFIRMING_ROLES):
        raise PermissionDenied(
            "Verwerfen dürfen nur Personen mit der Rolle Bevölkerungsschutz oder Administration."
        )
    reason = reason.strip()
    if not reason:
        raise ValidationFailed(
            "Bitte geben Sie an, warum die Warnung verworfen wird.",
            {"reason": "Pflichtfeld."},
        )
    return discard_held(session, record, user=user, reason=reason[:1000], now=now)


def trail(session: Session, record: AlertRecord) -> list[AuditEntry]:
    """Request, confirmation and discarding of one message, in order."""
    return list(
        session.scalars(
            select(AuditEntry)
            .where(
                AuditEntry.object_type == "alert",
                AuditEntry.object_id == str(record.id),
                AuditEntry.action.in_(TRAIL_ACTIONS),
            )
            .order_by(AuditEntry.seq)
        ).all()
    )


def is_held(record: AlertRecord) -> bool:
    """True while (or after) the message waited for a second person without going out."""
    return record.phase in HELD_PHASES
