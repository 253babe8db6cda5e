"""Delivery you can see (issue 6, W9, W14, W15): which displays a warning is meant for,
which of them drew it and when, the reach over time, and the incident timeline.

Read-only: nothing here adds or flushes. The Warntag report gets its rows from
:func:`warntag_rows`, registered as the provider of
``app.extensions["aushang_alert_deliveries"]``. How the end of a takeover is
determined per display is explained in :mod:`server.domain.alerts.timeline`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, selectinload

from ..domain.alerts import Alert, Place, Source, nina_dashboard_key, present, relevance
from ..domain.alerts.lifecycle import END_REASON_LABELS, EndReason
from ..domain.alerts.timeline import (
    BASIS_LABELS,
    MessageLife,
    ReachChart,
    TakeoverSpan,
    TimelineEvent,
    build_timeline,
    reach_chart,
    takeover_span,
)
from ..domain.alerts.warntag import DeliveryRow
from ..models import AlertDelivery, AlertRecord, AuditEntry, Display, Tenant
from .alerts import AlertPolicy, load_message
from .displays.reports import is_online

AUDIT_TEXTS = {
    "alert.issue": "Warnung ausgelöst",
    "alert.update": "Aktualisierung ausgelöst",
    "alert.cancel": "Entwarnung ausgelöst",
    "alert.confirmation_requested": "Zweite Bestätigung angefordert",
    "alert.confirmed": "Von zweiter Person bestätigt",
    "alert.discarded": "Verworfen",
    "alert.api": "Von der Leitstelle empfangen",
}
MSG_TYPE_TEXTS = {"Alert": "Warnung", "Update": "Aktualisierung", "Cancel": "Entwarnung"}


# --- which displays -------------------------------------------------------------------------


def _enrolled() -> Any:
    return select(Display).where(
        Display.enrolled_at.is_not(None),
        Display.revoked_at.is_(None),
        Display.token_hash.is_not(None),
    )


def target_displays(
    session: Session, record: AlertRecord, policy: AlertPolicy | None = None
) -> list[Display]:
    """Enrolled displays the message is meant for, by the rules of
    :func:`~server.services.alerts.active_alerts_for_place`: target tenants (local) or
    the Kreis dashboard (NINA), area relevance (W4) and the status filter (W7)."""
    return message_displays(
        session,
        alert=load_message(record),
        source=Source(record.source),
        feed_key=record.feed_key,
        tenant_ids=[t.tenant_id for t in record.targets],
        by_area=bool(record.target_ars),
        policy=policy,
    )


def message_displays(
    session: Session,
    *,
    alert: Alert,
    source: Source,
    feed_key: str,
    tenant_ids: Sequence[int],
    by_area: bool,
    policy: AlertPolicy | None = None,
) -> list[Display]:
    """:func:`target_displays` for a message that need not be stored yet (the staff
    preview of a draft asks how many displays it will reach). ``by_area``: the message
    names area codes (``AlertRecord.target_ars``), so a display with its own ARS must
    lie in them."""
    policy = policy or AlertPolicy()
    stmt = _enrolled().join(Tenant, Tenant.id == Display.tenant_id)
    if feed_key:
        kreis = feed_key[:5]
        stmt = stmt.where(
            or_(
                Display.ars.startswith(kreis),
                and_(Display.ars == "", Tenant.ars.startswith(kreis)),
            )
        )
    else:
        stmt = stmt.where(Display.tenant_id.in_(list(tenant_ids) or [-1]))
    candidates = session.scalars(stmt.options(selectinload(Display.tenant))).all()
    if not candidates:
        return []
    shown: dict[bool, bool] = {}
    out = []
    for display in candidates:
        place = Place(display.place_ars)
        if feed_key:
            if nina_dashboard_key(place.ars) != feed_key:
                continue
            if not relevance(alert, place, from_own_dashboard=True).relevant:
                continue
        elif by_area and place.ars != display.tenant.ars:
            if not relevance(alert, place).relevant:
                continue
        test = bool(display.test_display)
        if test not in shown:
            shown[test] = present(alert, source, test_display=test, table=policy.table) is not None
        if shown[test]:
            out.append(display)
    return out


# --- per display ----------------------------------------------------------------------------


@dataclass(frozen=True)
class DisplayDelivery:
    display: Display
    delivered_at: datetime | None
    shown_at: datetime | None
    latency_s: float | None
    online: bool

    @property
    def state(self) -> str:
        if self.shown_at is not None:
            return "angezeigt"
        if self.delivered_at is not None:
            return "zugestellt, noch nicht angezeigt"
        return "noch nicht erreicht"


@dataclass(frozen=True)
class DeliveryStatus:
    record: AlertRecord
    rows: tuple[DisplayDelivery, ...]
    chart: ReachChart

    @property
    def total(self) -> int:
        return len(self.rows)

    @property
    def shown(self) -> int:
        return sum(1 for r in self.rows if r.shown_at is not None)

    @property
    def delivered(self) -> int:
        return sum(1 for r in self.rows if r.delivered_at is not None)

    @property
    def offline(self) -> list[DisplayDelivery]:
        return [r for r in self.rows if not r.online]

    @property
    def not_reached(self) -> list[DisplayDelivery]:
        return [r for r in self.rows if r.shown_at is None]


def _deliveries(session: Session, alert_ids: Sequence[int]) -> list[AlertDelivery]:
    return list(
        session.scalars(
            select(AlertDelivery)
            .where(AlertDelivery.alert_id.in_(list(alert_ids) or [-1]))
            .options(selectinload(AlertDelivery.display))
        )
    )


def delivery_status(
    session: Session, record: AlertRecord, now: datetime, policy: AlertPolicy | None = None
) -> DeliveryStatus:
    """Per target display: delivered, shown, latency, online; plus the reach chart."""
    by_display = {d.display_id: d for d in _deliveries(session, [record.id])}
    displays = {d.id: d for d in target_displays(session, record, policy)}
    for delivery in by_display.values():  # a display that acknowledged counts, always
        displays.setdefault(delivery.display_id, delivery.display)
    rows = []
    for display in displays.values():
        d = by_display.get(display.id)
        rows.append(
            DisplayDelivery(
                display=display,
                delivered_at=d.delivered_at if d else None,
                shown_at=d.shown_at if d else None,
                latency_s=d.latency_s if d else None,
                online=is_online(display, now),
            )
        )
    rows.sort(
        key=lambda r: (
            r.shown_at is not None,
            r.delivered_at is not None,
            r.latency_s if r.latency_s is not None else float("inf"),
            r.display.name,
        )
    )
    shown = [r.shown_at for r in rows if r.shown_at is not None]
    return DeliveryStatus(record, tuple(rows), reach_chart(record.received_at, shown, len(rows)))


def warntag_rows(session: Session, record: AlertRecord) -> list[DeliveryRow]:
    """The Warntag report's provider (``app.extensions["aushang_alert_deliveries"]``)."""
    by_display = {d.display_id: d for d in _deliveries(session, [record.id])}
    displays = {d.id: d for d in target_displays(session, record)}
    for delivery in by_display.values():
        displays.setdefault(delivery.display_id, delivery.display)
    rows = []
    for display in displays.values():
        d = by_display.get(display.id)
        latency = None
        if d is not None and d.latency_s is not None:
            latency = timedelta(seconds=d.latency_s)
        rows.append(
            DeliveryRow(
                display=display.name,
                location=display.location,
                delivered_at=d.delivered_at if d else None,
                shown_at=d.shown_at if d else None,
                latency=latency,
            )
        )
    return rows


# --- the incident ---------------------------------------------------------------------------


def incident_records(session: Session, record: AlertRecord) -> list[AlertRecord]:
    """The message with its predecessors and successors (Updates, the Cancel), oldest first."""
    chain = [record]
    current = record
    while True:
        previous = session.scalar(
            select(AlertRecord)
            .where(AlertRecord.replaced_by_id == current.id)
            .order_by(AlertRecord.id)
        )
        if previous is None or previous in chain:
            break
        chain.insert(0, previous)
        current = previous
    current = record
    while current.replaced_by is not None and current.replaced_by not in chain:
        chain.append(current.replaced_by)
        current = current.replaced_by
    return chain


def _life(record: AlertRecord) -> MessageLife:
    return MessageLife(
        msg_type=record.msg_type,
        ended_at=record.ended_at,
        end_reason=record.end_reason,
        expires=record.expires,
        all_clear_until=record.all_clear_until,
    )


@dataclass(frozen=True)
class DisplayTakeover:
    display: str
    message: str
    msg_type: str
    span: TakeoverSpan


def takeovers(
    records: Sequence[AlertRecord], deliveries: Sequence[AlertDelivery], now: datetime
) -> list[DisplayTakeover]:
    """Per display and message: when it was on screen (start = the drawn acknowledgement)."""
    shown = {(d.display_id, d.alert_id): d for d in deliveries if d.shown_at is not None}
    out = []
    for d in sorted(shown.values(), key=lambda d: (d.shown_at, d.display.name)):
        record = next(r for r in records if r.id == d.alert_id)
        successor = shown.get((d.display_id, record.replaced_by_id or -1))
        assert d.shown_at is not None
        span = takeover_span(
            _life(record), d.shown_at, successor.shown_at if successor else None, now
        )
        out.append(DisplayTakeover(d.display.name, record.identifier, record.msg_type, span))
    return out


def _audit_rows(session: Session, records: Sequence[AlertRecord]) -> list[AuditEntry]:
    ids = [str(r.id) for r in records]
    return list(
        session.scalars(
            select(AuditEntry)
            .where(AuditEntry.object_type == "alert", AuditEntry.object_id.in_(ids))
            .order_by(AuditEntry.seq)
        )
    )


def incident_timeline(session: Session, record: AlertRecord, now: datetime) -> list[TimelineEvent]:
    """Everything that happened in the incident, in time order (W14)."""
    records = incident_records(session, record)
    by_id = {str(r.id): r for r in records}
    events: list[TimelineEvent] = []
    for r in records:
        for doc in r.documents:
            verb = {"generated": "erzeugt", "duplicate": "erneut empfangen"}.get(
                doc.direction, "empfangen"
            )
            events.append(
                TimelineEvent(
                    at=doc.received_at,
                    kind=f"document.{doc.direction}",
                    text=f"{MSG_TYPE_TEXTS.get(r.msg_type, r.msg_type)}: Dokument {verb}",
                    message=r.identifier,
                    details=(
                        ("mediaType", doc.media_type),
                        ("origin", doc.origin),
                        ("originRef", doc.origin_ref),
                        ("sha256", doc.sha256),
                        ("bytes", len(doc.content)),
                    ),
                )
            )
        if r.ended_at is not None and r.end_reason:
            try:
                reason = END_REASON_LABELS[EndReason(r.end_reason)]
            except ValueError:
                reason = r.end_reason
            events.append(
                TimelineEvent(
                    at=r.ended_at,
                    kind="lifecycle.ended",
                    text=f"{MSG_TYPE_TEXTS.get(r.msg_type, r.msg_type)} beendet: {reason}",
                    message=r.identifier,
                    details=(("reason", r.end_reason),),
                )
            )
    for entry in _audit_rows(session, records):
        rec = by_id.get(entry.object_id)
        details = json.loads(entry.details or "{}")
        extra = tuple((k, details[k]) for k in ("reason",) if details.get(k))
        events.append(
            TimelineEvent(
                at=entry.at,
                kind=entry.action,
                text=f"{AUDIT_TEXTS.get(entry.action, entry.action)} ({entry.actor})",
                message=rec.identifier if rec else "",
                details=(("actor", entry.actor), ("auditSeq", entry.seq), *extra),
            )
        )
    deliveries = _deliveries(session, [r.id for r in records])
    for d in deliveries:
        rec = by_id[str(d.alert_id)]
        events.append(
            TimelineEvent(
                at=d.delivered_at,
                kind="display.delivered",
                text=f"{MSG_TYPE_TEXTS.get(rec.msg_type, rec.msg_type)} zugestellt",
                message=rec.identifier,
                display=d.display.name,
            )
        )
    for t in takeovers(records, deliveries, now):
        label = "Entwarnungsbildschirm" if t.msg_type == "Cancel" else "Warnbildschirm"
        events.append(
            TimelineEvent(
                at=t.span.start,
                kind="display.takeover_start",
                text=f"{label} angezeigt",
                message=t.message,
                display=t.display,
            )
        )
        if t.span.end is not None and t.span.basis is not None:
            events.append(
                TimelineEvent(
                    at=t.span.end,
                    kind="display.takeover_end",
                    text=f"{label} beendet ({BASIS_LABELS[t.span.basis]})",
                    message=t.message,
                    display=t.display,
                    details=(("basis", t.span.basis),),
                )
            )
    return build_timeline(events)


def timeline_json(
    record: AlertRecord, records: Sequence[AlertRecord], events: Sequence[TimelineEvent]
) -> dict[str, Any]:
    """The export: stable field names, times ISO 8601 with offset."""
    return {
        "incident": record.identifier,
        "messages": [
            {
                "identifier": r.identifier,
                "msgType": r.msg_type,
                "status": r.status,
                "headline": r.headline,
                "receivedAt": r.received_at.isoformat(),
                "phase": r.phase,
                "endedAt": r.ended_at.isoformat() if r.ended_at else None,
                "endReason": r.end_reason,
            }
            for r in records
        ],
        "events": [e.as_json() for e in events],
    }
