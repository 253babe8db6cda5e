"""Folding one message into a stored lifecycle: control-centre API, fold, time passing."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ... import notify
from ...domain.alerts import (
    Alert,
    ChangeKind,
    LifecycleState,
    Source,
    ars_covers,
    receive,
    tick,
)
from ...domain.alerts.lifecycle import END_REASON_LABELS, REFUSED_REASONS, Change, EndReason
from ...domain.alerts.ownership import (
    Issuer,
    OwnershipRefused,
    Stored,
    check_ownership,
    lookup_names,
)
from ...domain.alerts.policy import strip_nina_prefix
from ...domain.alerts.relevance import Method, has_area, relevance
from ...domain.errors import DomainError, PermissionDenied, ValidationFailed
from ...models import (
    AlertRecord,
    AlertTarget,
    ApiToken,
    Tenant,
)
from .. import audit
from .access import alertable_tenants
from .areas import tenant_place
from .policy import HELD_PHASES, MAX_REFERENCES, AlertPolicy
from .records import Incoming, Outcome, _archive_incoming, _fill_header, _tracked

log = logging.getLogger("aushang.alerts")


def _records_for(session: Session, feed_key: str, keys: Iterable[str]) -> dict[str, AlertRecord]:
    names = set(keys)
    names |= {strip_nina_prefix(k) for k in names}
    if not names:
        return {}
    rows = session.scalars(
        select(AlertRecord).where(
            AlertRecord.feed_key == feed_key,
            AlertRecord.identifier.in_(sorted(names)),
            AlertRecord.phase.not_in(HELD_PHASES),
        )
    ).all()
    return {r.identifier: r for r in rows}


def _write_back(
    session: Session,
    feed_key: str,
    before: dict[str, AlertRecord],
    state: LifecycleState,
    fresh: Mapping[str, Incoming],
    policy: AlertPolicy,
    now: datetime,
) -> dict[str, AlertRecord]:
    """Copy phases from the lifecycle state to records; create records for new keys."""
    records = dict(before)
    for key, t in state.entries.items():
        record = records.get(key)
        incoming = fresh.get(key)
        if record is None:
            if incoming is None:
                continue
            record = incoming.held or AlertRecord(
                feed_key=feed_key,
                identifier=key,
                origin=incoming.origin,
                received_at=now,
                issuer_tenant=incoming.issuer,
                created_by=incoming.user,
                api_token_id=incoming.token.id if incoming.token else None,
            )
            session.add(record)
            records[key] = record
        if incoming is not None and (
            record.sent is None
            or record.sent != t.alert.sent
            or record.nina_version != t.version
            or not record.sender
        ):
            _fill_header(record, t.alert, t.source, policy)
            record.received_at = now
            _archive_incoming(session, record, incoming, now)
            for tenant in incoming.targets:
                if all(tg.tenant_id != tenant.id for tg in record.targets):
                    matched = incoming.matches.get(tenant.id, "")
                    record.targets.append(AlertTarget(tenant=tenant, matched_by=matched))
        record.phase = t.phase.value
        record.all_clear_until = t.all_clear_until
        record.ended_at = t.ended_at
        record.end_reason = t.end_reason.value if t.end_reason else None
        record.missing_polls = t.missing_polls
        record.nina_version = t.version
    session.flush()
    for key, t in state.entries.items():
        if t.replaced_by and key in records and t.replaced_by in records:
            records[key].replaced_by_id = records[t.replaced_by].id
    return records


def _issuer_of(incoming: Incoming) -> Issuer:
    return Issuer(
        tenant_id=incoming.issuer.id if incoming.issuer is not None else None,
        sender=incoming.alert.sender,
    )


def _owner(record: AlertRecord) -> Issuer:
    if record.feed_key:  # a NINA dashboard's record
        return Issuer.nina_source()
    return Issuer(tenant_id=record.issuer_tenant_id, sender=record.sender)


def _check_ownership(session: Session, incoming: Incoming, issuer: Issuer) -> None:
    """Refuse a local message that names a message outside its issuer scope (issue 11).

    Looks at every stored message it could name: local ones in any phase (a held one
    holds its identifier too) and NINA's on every dashboard.
    """
    names = sorted(lookup_names(incoming.alert))
    rows = session.scalars(select(AlertRecord).where(AlertRecord.identifier.in_(names))).all()
    stored = [
        Stored(r.identifier, _owner(r), held=r.phase in HELD_PHASES)
        for r in rows
        if incoming.held is None or r.id != incoming.held.id
    ]
    check_ownership(incoming.alert, issuer, stored)


def fold(
    session: Session,
    incoming: Incoming,
    now: datetime,
    policy: AlertPolicy,
    *,
    feed_key: str = "",
) -> Outcome:
    """Apply one message to the stored lifecycle of ``feed_key`` ("" = local alerts)."""
    alert = incoming.alert
    if alert.msg_type not in ("Alert", "Update", "Cancel"):
        raise ValidationFailed(
            f"Nachrichtentyp „{alert.msg_type}“ wird nicht verarbeitet "
            "(erwartet: Alert, Update oder Cancel).",
            {"msgType": "Alert, Update oder Cancel"},
        )
    if len(alert.referenced_identifiers()) > MAX_REFERENCES:
        raise ValidationFailed(
            f"Die Meldung verweist auf mehr als {MAX_REFERENCES} Meldungen.",
            {"references": f"höchstens {MAX_REFERENCES} Verweise"},
        )
    issuer = _issuer_of(incoming)
    _check_ownership(session, incoming, issuer)
    keys = {alert.identifier} | set(alert.referenced_identifiers())
    before = _records_for(session, feed_key, keys)
    # Late originals: messages that reference this one. Only the same issuer scope's:
    # another sender's Cancel naming an identifier before it exists ends nothing.
    late = session.scalars(
        select(AlertRecord).where(
            AlertRecord.feed_key == feed_key,
            AlertRecord.msg_type.in_(("Update", "Cancel")),
            AlertRecord.references.contains(alert.identifier),
            AlertRecord.phase.not_in(HELD_PHASES),
            AlertRecord.issuer_tenant_id == issuer.tenant_id,
            AlertRecord.sender == issuer.sender,
        )
    ).all()
    for r in late:
        before.setdefault(r.identifier, r)
    state = LifecycleState({k: _tracked(r) for k, r in before.items()})
    state, changes = receive(
        state, alert, now, source=incoming.source, key=alert.identifier, config=policy.lifecycle
    )
    side = _side_delivery(changes)
    if side is not None:
        return _keep_aside(session, before[alert.identifier], incoming, changes, side, now)
    records = _write_back(
        session, feed_key, before, state, {alert.identifier: incoming}, policy, now
    )
    for change in changes:
        log.info("alert=%s feed=%s event=%s", change.key, feed_key or "local", change.kind.value)
    refused = next((c.detail for c in changes if c.kind is ChangeKind.REFUSED), "")
    # Displays showing warnings must learn of it at once (their long-polls wake on commit).
    notify.mark_changed(session, notify.ALERTS)
    return Outcome(
        records[alert.identifier], changes, touched=list(records.values()), refused=refused
    )


def _side_delivery(changes: Iterable[Change]) -> str | None:
    """``duplicate`` or ``out_of_order`` if the message leaves the lifecycle unchanged."""
    for change in changes:
        if change.kind is ChangeKind.DUPLICATE:
            return "duplicate"
        if change.kind is ChangeKind.OUT_OF_ORDER:
            return "out_of_order"
    return None


def _keep_aside(
    session: Session,
    record: AlertRecord,
    incoming: Incoming,
    changes: tuple[Change, ...],
    side: str,
    now: datetime,
) -> Outcome:
    """Archive a repeated or outdated message (W14) without applying it (W5, W6)."""
    if incoming.direction == "received":
        _archive_incoming(session, record, incoming, now, direction=side)
    refused = ""
    if record.end_reason in {r.value for r in REFUSED_REASONS}:
        refused = (
            "Diese Meldung wurde bereits abgelehnt: "
            + (END_REASON_LABELS[EndReason(record.end_reason)])
        )
    if side == "out_of_order":
        log.warning(
            "alert=%s event=out_of_order sent=%s stored_sent=%s",
            record.identifier,
            incoming.alert.sent.isoformat(),
            record.sent_text,
        )
        return Outcome(record, changes, out_of_order=True)
    return Outcome(record, changes, duplicate=True, refused=refused)


# --- control-centre API ----------------------------------------------------------------


def _overlaps(code: str, ars: str) -> bool:
    """The warning area and the tenant's territory intersect (one contains the other)."""
    return ars_covers(code, ars) or ars_covers(ars, code)


def api_targets(session: Session, token: ApiToken, alert: Alert) -> dict[Tenant, str]:
    """The tenants a control centre's message is for, each with the key that matched (W4).

    The keys decide in W4's order against each tenant the token may warn (its own and
    those that allowed it), areas overlapping: a Landkreis's token reaches a town whose
    ARS, warn cell, area or name the message names. A message without any area, or with
    only a description naming none of them, is for the token's own tenant. A message
    whose keys name only tenants that did not allow the token is refused
    (:class:`AlertRefused`); one that names no tenant of this installation at all gets
    no target: it is stored, shown to the system admin and on no display.
    """
    if not has_area(alert):
        return {token.tenant: Method.TOKEN.value}
    allowed = alertable_tenants(session, token.tenant)
    found: dict[Tenant, str] = {}
    decided = False
    for tenant in allowed:
        verdict = relevance(alert, tenant_place(session, tenant), overlap=True)
        decided = decided or verdict.method is not None
        if verdict.relevant:
            found[tenant] = verdict.key
    if found:
        return found
    if not decided:
        return {token.tenant: Method.TOKEN.value}
    ids = {t.id for t in allowed}
    others = session.scalars(select(Tenant).where(Tenant.active, Tenant.id.not_in(ids))).all()
    if any(relevance(alert, tenant_place(session, t), overlap=True).relevant for t in others):
        raise AlertRefused(
            PermissionDenied.status,
            "area_outside",
            "Das Warngebiet der Meldung liegt außerhalb der Mandanten, für die dieser "
            "Zugang warnen darf.",
        )
    return {}


class AlertRefused(DomainError):
    """A control-centre message refused for who sent it; already in the audit chain.

    The caller commits (so the audit row stays) and answers with ``status``.
    """

    def __init__(self, status: int, reason: str, message: str, named: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.named = named


def _record_refusal(
    session: Session, token: ApiToken, alert: Alert, refused: AlertRefused, now: datetime
) -> None:
    log.warning(
        "alert=%s event=refused reason=%s token=%s tenant=%s",
        alert.identifier,
        refused.reason,
        token.id,
        token.tenant_id,
    )
    audit.record(
        session,
        now=now,
        action="alert.refused",
        object_type="api_token",
        object_id=token.id,
        actor=f"token:{token.name}",
        tenant_id=token.tenant_id,
        details={
            "reason": refused.reason,
            "identifier": alert.identifier[:300],
            "sender": alert.sender[:300],
            "msg_type": alert.msg_type,
            "references": (alert.references or "")[:2000],
            "named": refused.named[:300],
        },
    )


def receive_from_api(
    session: Session,
    *,
    token: ApiToken,
    alert: Alert,
    raw: bytes,
    media_type: str,
    now: datetime,
    policy: AlertPolicy,
) -> Outcome:
    """A CAP message posted by a control centre (idempotent by identifier).

    Targets: the token's tenant and the tenants that allowed it, as far as the
    message's area codes overlap their territory; without area codes only the token's
    tenant. A message whose area lies only in tenants that did not allow it is refused,
    and so is one that reuses or references a message outside the token's issuer scope
    (:mod:`server.domain.alerts.ownership`); both raise :class:`AlertRefused` after
    writing an ``alert.refused`` row to the audit chain.
    """
    try:
        matches = api_targets(session, token, alert)
    except AlertRefused as outside:
        _record_refusal(session, token, alert, outside, now)
        raise
    targets = list(matches)
    incoming = Incoming(
        alert=alert,
        raw=raw,
        media_type=media_type,
        direction="received",
        origin="api",
        origin_ref=f"token:{token.name}",
        source=Source.API,
        issuer=token.tenant,
        token=token,
        targets=targets,
        matches={t.id: key for t, key in matches.items()},
    )
    try:
        outcome = fold(session, incoming, now, policy)
    except OwnershipRefused as exc:
        refused = AlertRefused(exc.status, exc.reason.value, exc.message, exc.identifier)
        _record_refusal(session, token, alert, refused, now)
        raise refused from None
    if outcome.refused and not outcome.duplicate:
        refusal = AlertRefused(422, EndReason.PREDATES_REFERENCE.value, outcome.refused)
        _record_refusal(session, token, alert, refusal, now)
    elif not outcome.duplicate and not outcome.out_of_order:
        audit.record(
            session,
            now=now,
            action=f"alert.{alert.msg_type.lower()}",
            object_type="alert",
            object_id=outcome.record.id,
            actor=f"token:{token.name}",
            tenant_id=token.tenant_id,
            details={"identifier": alert.identifier, "status": alert.status},
        )
    return outcome


# --- time passes -----------------------------------------------------------------------


def tick_alerts(session: Session, now: datetime, policy: AlertPolicy) -> int:
    """End expired warnings and finished Entwarnungen (all feeds)."""
    rows = session.scalars(
        select(AlertRecord).where(AlertRecord.phase.in_(("active", "all_clear")))
    ).all()
    state = LifecycleState({str(r.id): replace(_tracked(r), key=str(r.id)) for r in rows})
    state, changes = tick(state, now, policy.lifecycle)
    by_id = {str(r.id): r for r in rows}
    for change in changes:
        t = state.entries[change.key]
        record = by_id[change.key]
        record.phase = t.phase.value
        record.ended_at = t.ended_at
        record.end_reason = t.end_reason.value if t.end_reason else None
        log.info("alert=%s event=ended reason=%s", record.identifier, record.end_reason)
    if changes:
        notify.mark_changed(session, notify.ALERTS)
    session.flush()
    return len(changes)
