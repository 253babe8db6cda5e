"""The citizens' warning page of a tenant (issue 6): active warnings with every language
version, and the Entwarnungen of the last hours. Only ``Actual`` + ``Public`` messages
(W7), the same selection as the warning feeds (W16). Read-only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from ..domain.alerts import SOURCE_LABELS, Info, Source, nina_dashboard_key, relevance
from ..domain.alerts.lifecycle import EndReason
from ..domain.alerts.policy import source_name, without_all_clear_prefix
from ..models import AlertRecord, AlertTarget, Tenant
from .alerts import HELD_PHASES, load_message, public_alerts
from .alerts.areas import tenant_place

ALL_CLEARS_WITHIN = timedelta(hours=6)
LANGUAGE_NAMES = {
    "de": "Deutsch",
    "en": "Englisch",
    "fr": "Französisch",
    "tr": "Türkisch",
    "ar": "Arabisch",
    "ru": "Russisch",
    "uk": "Ukrainisch",
    "pl": "Polnisch",
    "es": "Spanisch",
    "it": "Italienisch",
}


def language_name(code: str) -> str:
    """German name of a CAP language code (``en-US`` → Englisch)."""
    return LANGUAGE_NAMES.get((code or "").split("-")[0].lower(), code)


def html_lang(code: str) -> str:
    """A BCP 47 tag for the ``lang`` attribute (CAP uses RFC 3066 codes)."""
    return (code or "de").split("-")[0].lower() or "de"


@dataclass(frozen=True)
class PublicWarning:
    record: AlertRecord
    primary: Info
    others: tuple[Info, ...]  # further language versions (W13)
    source_label: str
    warnstufe: int
    area: str


def active_warnings(session: Session, tenant: Tenant, now: datetime) -> list[PublicWarning]:
    """Warnings in force for the tenant's place, most urgent first."""
    out = []
    for item in public_alerts(session, tenant, now):
        infos = [i for i in item.alert.infos if (i.headline or i.event)]
        primary = item.alert.primary_info()
        if primary is None:
            continue
        out.append(
            PublicWarning(
                record=item.record,
                primary=primary,
                others=tuple(i for i in infos if i is not primary),
                source_label=source_name(item.presentation.source),
                warnstufe=item.presentation.warnstufe,
                area=", ".join(a.area_desc for a in primary.areas if a.area_desc),
            )
        )
    return out


@dataclass(frozen=True)
class PublicAllClear:
    record: AlertRecord
    headline: str
    description: str
    lifted: tuple[str, ...]  # headlines of the warnings it lifted
    source_label: str


def recent_all_clears(
    session: Session, tenant: Tenant, now: datetime, within: timedelta = ALL_CLEARS_WITHIN
) -> list[PublicAllClear]:
    """Entwarnungen for the tenant's place received in the last ``within``, newest first."""
    kreis_key = nina_dashboard_key(tenant.ars)
    targeted = select(AlertTarget.alert_id).where(AlertTarget.tenant_id == tenant.id)
    rows = session.scalars(
        select(AlertRecord)
        .where(
            AlertRecord.msg_type == "Cancel",
            AlertRecord.status == "Actual",
            AlertRecord.scope == "Public",
            AlertRecord.received_at >= now - within,
            AlertRecord.received_at <= now,
            AlertRecord.phase.not_in(HELD_PHASES),
            or_(
                AlertRecord.end_reason.is_(None),
                AlertRecord.end_reason != EndReason.NOTHING_TO_CANCEL.value,
            ),
            or_(
                AlertRecord.id.in_(targeted) & (AlertRecord.feed_key == ""),
                AlertRecord.feed_key == kreis_key,
            ),
        )
        .options(selectinload(AlertRecord.documents))
        .order_by(AlertRecord.received_at.desc())
    ).all()
    place = tenant_place(session, tenant)
    out = []
    for record in rows:
        alert = load_message(record)
        if record.feed_key and not relevance(alert, place, from_own_dashboard=True).relevant:
            continue
        info = alert.primary_info()
        lifted = session.scalars(
            select(AlertRecord.headline)
            .where(AlertRecord.replaced_by_id == record.id)
            .order_by(AlertRecord.id)
        ).all()
        out.append(
            PublicAllClear(
                record=record,
                # The page writes "Entwarnung: …" itself; NINA's and our own headlines
                # already start with it.
                headline=without_all_clear_prefix(
                    (info.headline if info else None) or record.headline or ""
                ),
                description=(info.description if info else None) or "",
                lifted=tuple(h for h in lifted if h),
                source_label=SOURCE_LABELS[Source(record.source)],
            )
        )
    return out
