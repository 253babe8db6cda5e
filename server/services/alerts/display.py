"""What a display shows: the warnings for one place, most urgent first."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ...domain.alerts import (
    Alert,
    Behaviour,
    Place,
    Presentation,
    Source,
    nina_dashboard_key,
    present,
    relevance,
)
from ...models import (
    AlertRecord,
    AlertTarget,
    Tenant,
)
from .areas import tenant_place
from .policy import AlertPolicy
from .records import MessageCache, load_message

# --- what a display shows (the seam for the player work) -------------------------------


@dataclass(frozen=True)
class DisplayAlert:
    """One warning for one display: the record, its message and how to show it."""

    record: AlertRecord
    alert: Alert
    presentation: Presentation


def _still_showing(record: AlertRecord, now: datetime) -> bool:
    # Correctness never depends on the tick job having run.
    if record.phase == "active":
        return record.expires is None or record.expires > now
    if record.phase == "all_clear":
        return record.all_clear_until is not None and record.all_clear_until > now
    return False


def active_alerts_for_place(
    session: Session,
    *,
    tenant: Tenant,
    place: Place | None = None,
    test_display: bool = False,
    now: datetime,
    policy: AlertPolicy | None = None,
    cache: MessageCache | None = None,
) -> list[DisplayAlert]:
    """Warnings a display of ``tenant`` at ``place`` shows now, most urgent first.

    Local (manual/API) alerts count if the tenant is a target and, when the display
    has its own ARS, the message's area covers it; NINA alerts of the display's Kreis
    dashboard count if relevant (W4). Status filter (W7), priority (W8) and
    de-duplication (W5) are applied. Messages are parsed once per document
    (``cache``, the process-wide :data:`message_cache` by default).
    """
    policy = policy or AlertPolicy()
    if place is None or (place.ars == tenant.ars and not (place.area or place.names)):
        place = tenant_place(session, tenant)  # with the tenant's names and area (W4)
    local = session.scalars(
        select(AlertRecord)
        .join(AlertTarget, AlertTarget.alert_id == AlertRecord.id)
        .where(
            AlertTarget.tenant_id == tenant.id,
            AlertRecord.feed_key == "",
            AlertRecord.phase.in_(("active", "all_clear")),
        )
        .options(selectinload(AlertRecord.documents))
    ).all()
    nina = session.scalars(
        select(AlertRecord)
        .where(
            AlertRecord.feed_key == nina_dashboard_key(place.ars),
            AlertRecord.phase.in_(("active", "all_clear")),
        )
        .options(selectinload(AlertRecord.documents))
    ).all()
    result: dict[str, DisplayAlert] = {}
    for record in [*local, *nina]:
        if not _still_showing(record, now):
            continue
        alert = load_message(record, cache)
        if record.feed_key:
            if not relevance(alert, place, from_own_dashboard=True).relevant:
                continue
        elif record.target_ars and not relevance(alert, place).relevant:
            if place.ars != tenant.ars:
                continue
        shown = present(alert, Source(record.source), test_display=test_display, table=policy.table)
        if shown is None:
            continue
        key = record.dedup_key or f"id:{record.id}"
        if key not in result or record.sent > result[key].record.sent:
            result[key] = DisplayAlert(record, alert, shown)

    def urgency(item: DisplayAlert) -> tuple[int, int, datetime]:
        rank = item.presentation.behaviour.rank
        return (-rank, item.presentation.warnstufe, item.record.sent)

    return sorted(result.values(), key=urgency)


def takeover_needed(alerts: Sequence[DisplayAlert]) -> bool:
    """True if any of the warnings takes over the screen."""
    return any(
        a.presentation.behaviour in (Behaviour.TAKEOVER, Behaviour.ALTERNATE) for a in alerts
    )
