"""The manual Schadenslage (W10): check, preview, issue, update, cancel, hold, discard."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...domain.alerts import (
    Alert,
    ManualTexts,
    Presentation,
    Source,
    ars_area,
    build_alert,
    build_cancel,
    build_update,
    make_identifier,
    present,
    template,
    validate_ars,
)
from ...domain.alerts.policy import WARNSTUFEN
from ...domain.errors import NotFound, PermissionDenied, ValidationFailed
from ...models import (
    AlertRecord,
    AlertTarget,
    Tenant,
    User,
)
from ...sources.cap import build_cap_xml
from .. import audit
from .access import alertable_tenants
from .ingest import fold
from .policy import AWAITING_CONFIRMATION, CAP_MEDIA_TYPE, DISCARDED, AlertPolicy
from .records import Incoming, _archive_incoming, _fill_header, load_message

log = logging.getLogger("aushang.alerts")


# --- manual Schadenslage (W10) ---------------------------------------------------------


@dataclass
class ManualAlertInput:
    """What the alerter submits on the Schadenslage page."""

    template_key: str
    area_desc: str
    tenant_ids: list[int]
    warnstufe: int
    headline: str
    description: str
    instruction: str
    sender_name: str
    extra_ars: list[str] = field(default_factory=list)
    expires: datetime | None = None
    test_mode: bool = False


def check_manual_input(
    session: Session, tenant: Tenant, data: ManualAlertInput, now: datetime
) -> list[Tenant]:
    """Validate the form; return the target tenants. Raises ValidationFailed/PermissionDenied."""
    errors: dict[str, str] = {}
    try:
        template(data.template_key)
    except KeyError:
        errors["template_key"] = "Bitte eine Vorlage wählen."
    if data.warnstufe not in WARNSTUFEN:
        errors["warnstufe"] = "Warnstufe 1, 2 oder 3 wählen."
    for name in ("headline", "description", "instruction", "sender_name", "area_desc"):
        if not getattr(data, name).strip():
            errors[name] = "Pflichtfeld."
    if data.expires is not None and data.expires <= now:
        errors["expires"] = "Das Ende muss in der Zukunft liegen."
    for code in data.extra_ars:
        try:
            validate_ars(code)
        except ValidationFailed:
            errors["extra_ars"] = f"„{code}“ ist kein 12-stelliger Regionalschlüssel."
    allowed = {t.id: t for t in alertable_tenants(session, tenant)}
    unknown = [i for i in data.tenant_ids if i not in allowed]
    if unknown:
        raise PermissionDenied(
            "Sie dürfen nur die eigenen Anzeigen und die Anzeigen der Kommunen warnen, "
            "die das erlaubt haben."
        )
    if not data.tenant_ids:
        errors["tenant_ids"] = "Mindestens ein Gebiet wählen."
    if errors:
        raise ValidationFailed("Die Warnung ist noch nicht vollständig.", errors)
    return [allowed[i] for i in data.tenant_ids]


def _manual_texts(data: ManualAlertInput) -> ManualTexts:
    t = template(data.template_key)
    return ManualTexts(
        event=t.event,
        category=t.category,
        headline=data.headline.strip(),
        description=data.description.strip(),
        instruction=data.instruction.strip(),
        sender_name=data.sender_name.strip(),
        response_type=t.response_type,
    )


def preview_manual(
    session: Session, *, tenant: Tenant, data: ManualAlertInput, now: datetime, policy: AlertPolicy
) -> tuple[Alert, Presentation]:
    """The message as it would be issued, and how a display would show it."""
    targets = check_manual_input(session, tenant, data, now)
    alert = _build_manual(tenant, data, targets, now, policy, token="vorschau")
    shown = present(alert, Source.MANUAL, test_display=data.test_mode, table=policy.table)
    assert shown is not None
    return alert, shown


def _build_manual(
    tenant: Tenant,
    data: ManualAlertInput,
    targets: Sequence[Tenant],
    now: datetime,
    policy: AlertPolicy,
    token: str,
) -> Alert:
    codes = list(dict.fromkeys([t.ars for t in targets] + [c.strip() for c in data.extra_ars]))
    return build_alert(
        identifier=make_identifier(tenant.ars, token),
        sender=policy.sender,
        sent=now.replace(microsecond=0),
        warnstufe=data.warnstufe,
        texts=_manual_texts(data),
        areas=[ars_area(data.area_desc.strip(), codes)],
        expires=data.expires,
        status="Exercise" if data.test_mode else "Actual",
    )


def _generated(alert: Alert, tenant: Tenant, user: User, targets: Sequence[Tenant]) -> Incoming:
    return Incoming(
        alert=alert,
        raw=build_cap_xml(alert),
        media_type=CAP_MEDIA_TYPE,
        direction="generated",
        origin="manual",
        origin_ref=f"user:{user.email}",
        source=Source.MANUAL,
        issuer=tenant,
        user=user,
        targets=targets,
    )


def needs_confirmation(
    tenant: Tenant,
    *,
    warnstufe: int,
    targets: Sequence[Tenant],
    previous: AlertRecord | None = None,
) -> bool:
    """W10: does this manual message wait for a second person?

    Only if the tenant switched the rule on. Then a new alert always waits; an Update
    waits if it escalates: a more severe Warnstufe (1 is the most severe) or displays
    of a tenant the previous message did not reach. A de-escalating or text-only
    Update goes out at once, and an Entwarnung never waits (see :func:`cancel_manual`).
    """
    if not tenant.alerts_need_confirmation:
        return False
    if previous is None:
        return True
    reached = {t.tenant_id for t in previous.targets}
    return warnstufe < previous.warnstufe or any(t.id not in reached for t in targets)


def _hold(session: Session, incoming: Incoming, now: datetime, policy: AlertPolicy) -> AlertRecord:
    """Store a manual message that waits for a second person: archived, never shown.

    The generated document is final: the second person confirms exactly these bytes,
    and confirming folds this record into the lifecycle (``Incoming.held``).
    """
    alert = incoming.alert
    record = AlertRecord(
        feed_key="",
        identifier=alert.identifier,
        origin=incoming.origin,
        received_at=now,
        issuer_tenant=incoming.issuer,
        created_by=incoming.user,
        phase=AWAITING_CONFIRMATION,
        missing_polls=0,
    )
    _fill_header(record, alert, incoming.source, policy)
    session.add(record)
    _archive_incoming(session, record, incoming, now)
    for tenant in incoming.targets:
        record.targets.append(AlertTarget(tenant=tenant))
    session.flush()
    audit.record(
        session,
        now=now,
        action="alert.confirmation_requested",
        object_type="alert",
        object_id=record.id,
        actor=incoming.user,
        tenant_id=incoming.issuer.id if incoming.issuer else None,
        details={
            "identifier": alert.identifier,
            "msg_type": alert.msg_type,
            "references": alert.references or "",
            "warnstufe": record.warnstufe,
            "status": alert.status,
            "targets": [t.slug for t in incoming.targets],
        },
    )
    log.info("alert=%s feed=local event=%s", alert.identifier, AWAITING_CONFIRMATION)
    return record


def issue_manual(
    session: Session,
    *,
    tenant: Tenant,
    user: User,
    data: ManualAlertInput,
    now: datetime,
    policy: AlertPolicy,
) -> AlertRecord:
    """Issue a manual Schadenslage: a CAP Alert stored as generated document.

    With the tenant's second-person rule on, the record is returned awaiting
    confirmation instead (:func:`needs_confirmation`).
    """
    targets = check_manual_input(session, tenant, data, now)
    alert = _build_manual(tenant, data, targets, now, policy, token=str(uuid.uuid4()))
    incoming = _generated(alert, tenant, user, targets)
    if needs_confirmation(tenant, warnstufe=data.warnstufe, targets=targets):
        return _hold(session, incoming, now, policy)
    outcome = fold(session, incoming, now, policy)
    audit.record(
        session,
        now=now,
        action="alert.issue",
        object_type="alert",
        object_id=outcome.record.id,
        actor=user,
        tenant_id=tenant.id,
        details={
            "identifier": alert.identifier,
            "warnstufe": data.warnstufe,
            "status": alert.status,
            "targets": [t.slug for t in targets],
        },
    )
    return outcome.record


def _own_showing(session: Session, tenant: Tenant, record_id: int) -> AlertRecord:
    record = session.get(AlertRecord, record_id)
    if record is None or record.feed_key != "" or record.issuer_tenant_id != tenant.id:
        raise NotFound("Warnung nicht gefunden.")
    if record.phase != "active":
        raise ValidationFailed("Diese Warnung ist nicht mehr aktiv.")
    return record


def update_manual(
    session: Session,
    *,
    tenant: Tenant,
    user: User,
    record_id: int,
    data: ManualAlertInput,
    now: datetime,
    policy: AlertPolicy,
) -> AlertRecord:
    """Issue an Update that replaces an active alert of this tenant."""
    previous_record = _own_showing(session, tenant, record_id)
    targets = check_manual_input(session, tenant, data, now)
    previous = load_message(previous_record)
    codes = list(dict.fromkeys([t.ars for t in targets] + [c.strip() for c in data.extra_ars]))
    alert = build_update(
        previous,
        identifier=make_identifier(tenant.ars, str(uuid.uuid4())),
        sent=max(now.replace(microsecond=0), previous.sent + timedelta(seconds=1)),
        warnstufe=data.warnstufe,
        texts=_manual_texts(data),
        areas=[ars_area(data.area_desc.strip(), codes)],
        expires=data.expires,
    )
    incoming = _generated(alert, tenant, user, targets)
    if needs_confirmation(
        tenant, warnstufe=data.warnstufe, targets=targets, previous=previous_record
    ):
        return _hold(session, incoming, now, policy)
    outcome = fold(session, incoming, now, policy)
    audit.record(
        session,
        now=now,
        action="alert.update",
        object_type="alert",
        object_id=outcome.record.id,
        actor=user,
        tenant_id=tenant.id,
        details={"identifier": alert.identifier, "replaces": previous.identifier},
    )
    return outcome.record


def cancel_manual(
    session: Session,
    *,
    tenant: Tenant,
    user: User,
    record_id: int,
    now: datetime,
    policy: AlertPolicy,
    description: str | None = None,
) -> AlertRecord:
    """Issue the Entwarnung (a Cancel referencing the alert).

    Never waits for a second person, whatever the tenant's rule: lifting a warning
    only ever reduces what the public is told, and a warning that stays on every
    screen after the danger has passed costs trust in the next one, so speed wins.
    Updates of this alert still awaiting confirmation are discarded with it.
    """
    previous_record = _own_showing(session, tenant, record_id)
    previous = load_message(previous_record)
    alert = build_cancel(
        previous,
        identifier=make_identifier(tenant.ars, str(uuid.uuid4())),
        sent=max(now.replace(microsecond=0), previous.sent + timedelta(seconds=1)),
        description=description or None,
    )
    targets = [t.tenant for t in previous_record.targets]
    outcome = fold(session, _generated(alert, tenant, user, targets), now, policy)
    audit.record(
        session,
        now=now,
        action="alert.cancel",
        object_type="alert",
        object_id=outcome.record.id,
        actor=user,
        tenant_id=tenant.id,
        details={"identifier": alert.identifier, "cancels": previous.identifier},
    )
    waiting = session.scalars(
        select(AlertRecord).where(
            AlertRecord.feed_key == "",
            AlertRecord.phase == AWAITING_CONFIRMATION,
            AlertRecord.references.contains(previous.identifier),
        )
    ).all()
    for held in waiting:
        discard_held(session, held, user=user, reason="Entwarnung ausgelöst", now=now)
    return outcome.record


def discard_held(
    session: Session, record: AlertRecord, *, user: User, reason: str, now: datetime
) -> AlertRecord:
    """End a message awaiting confirmation without showing it (with an audit row)."""
    record.phase = DISCARDED
    record.ended_at = now
    record.end_reason = DISCARDED
    audit.record(
        session,
        now=now,
        action="alert.discarded",
        object_type="alert",
        object_id=record.id,
        actor=user,
        tenant_id=record.issuer_tenant_id,
        details={
            "identifier": record.identifier,
            "reason": reason,
            "requested_by": record.created_by.email if record.created_by else None,
        },
    )
    session.flush()
    log.info("alert=%s feed=local event=%s", record.identifier, DISCARDED)
    return record
