"""Warnings that concern no tenant of the installation (W4): stored, never displayed.

A control centre's message whose area names none of the tenants gets no target; a NINA
warning on a Kreis dashboard may concern none of the tenants polling it. Both stay in
the archive, and the system admin sees them here, so a wrongly coded area (or a missing
tenant) is noticed instead of silently dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ...domain.alerts import nina_dashboard_key, relevance
from ...domain.errors import ValidationFailed
from ...models import AlertRecord, AlertTarget, Tenant
from .areas import tenant_place
from .records import load_message

SHOWN_PHASES = ("active", "all_clear")


@dataclass(frozen=True)
class Unmatched:
    record: AlertRecord
    why: str  # German


def _tenants_by_dashboard(session: Session) -> dict[str, list[Tenant]]:
    found: dict[str, list[Tenant]] = {}
    for tenant in session.scalars(select(Tenant).where(Tenant.active)):
        try:
            found.setdefault(nina_dashboard_key(tenant.ars), []).append(tenant)
        except ValidationFailed:
            continue
    return found


def unmatched_alerts(session: Session, *, limit: int = 100) -> list[Unmatched]:
    """Current (active or Entwarnung) messages relevant for no tenant, newest first."""
    local = session.scalars(
        select(AlertRecord)
        .outerjoin(AlertTarget, AlertTarget.alert_id == AlertRecord.id)
        .where(
            AlertRecord.feed_key == "",
            AlertRecord.phase.in_(SHOWN_PHASES),
            AlertTarget.alert_id.is_(None),
        )
        .order_by(AlertRecord.received_at.desc())
        .limit(limit)
    ).all()
    found = [
        Unmatched(r, "Das Warngebiet nennt keinen Mandanten dieser Installation.") for r in local
    ]
    by_key = _tenants_by_dashboard(session)
    nina = session.scalars(
        select(AlertRecord)
        .where(AlertRecord.feed_key != "", AlertRecord.phase.in_(SHOWN_PHASES))
        .options(selectinload(AlertRecord.documents))
        .order_by(AlertRecord.received_at.desc())
        .limit(limit)
    ).all()
    for record in nina:
        alert = load_message(record)
        tenants = by_key.get(record.feed_key, [])
        if not any(
            relevance(alert, tenant_place(session, t), from_own_dashboard=True).relevant
            for t in tenants
        ):
            found.append(
                Unmatched(
                    record,
                    f"Auf der NINA-Kreisübersicht {record.feed_key}, aber für keinen der "
                    f"{len(tenants)} Mandanten dort relevant.",
                )
            )
    found.sort(key=lambda u: u.record.received_at, reverse=True)
    return found[:limit]
