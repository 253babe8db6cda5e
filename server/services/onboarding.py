"""A Kommune in five minutes (issue 17, build 5): a starter set that matches a typical
Hauptsatzung, the first admin created with the Kommune, a checklist until each step is
done, and the public page marked "im Aufbau" until the first notice is online.

The starter set is a proposal, editable on the pages for categories and publication
forms: the Internet as the binding form for Satzungen and Verordnungen (the common
modern Hauptsatzung, with a nachrichtlicher Hinweis on the board), the notice board for
the rest, and the statutory minimum periods (a week for ordinary notices, a month for
Bauleitplanung as in § 3 Abs. 2 BauGB, two weeks for elections).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import Membership, Notice, PublicationChannel, Tenant, User
from . import audit, people
from .tenant_config import CategoryInput, save_category, save_channel

# Europe/Berlin first: every German Kommune; then the neighbours a German-language
# installation may serve. The whole IANA list (Africa/Abidjan first) helps nobody.
TIMEZONES = (
    "Europe/Berlin",
    "Europe/Vienna",
    "Europe/Zurich",
    "Europe/Luxembourg",
    "Europe/Brussels",
    "Europe/Amsterdam",
    "Europe/Copenhagen",
    "Europe/Paris",
    "Europe/Prague",
    "Europe/Warsaw",
    "Europe/Busingen",
)

STARTER_CHANNELS = (
    ("internet", "Internetseite der {name}", "{url}"),
    ("board", "Bekanntmachungstafel", "Rathaus, Eingang"),
)
# name, minimum days, binding kinds, description
STARTER_CATEGORIES = (
    ("Satzungen und Verordnungen", 7, ("internet",), "Ortsrecht nach der Hauptsatzung."),
    ("Sitzungen des Rates und der Ausschüsse", 7, ("internet",), "Tagesordnungen, Termine."),
    ("Bauleitplanung", 30, ("internet", "board"), "Auslegungen nach § 3 BauGB."),
    ("Wahlen und Abstimmungen", 14, ("board",), "Wahlbekanntmachungen."),
    ("Sonstige Bekanntmachungen", 7, ("board",), "Alles, was keiner Kategorie zugehört."),
)


def apply_starter_set(
    session: Session, tenant: Tenant, actor: User, now: datetime, *, public_url: str
) -> None:
    """Create the starter publication forms and categories (only into an empty tenant);
    ``public_url`` is the address of the tenant's public page (the Internet form)."""
    if tenant.channels or tenant.categories:
        return
    channels: dict[str, PublicationChannel] = {}
    for kind, name, location in STARTER_CHANNELS:
        channels[kind] = save_channel(
            session,
            tenant,
            actor,
            kind=kind,
            name=name.format(name=tenant.name),
            location=location.format(url=public_url),
            now=now,
        )
    for name, min_days, kinds, description in STARTER_CATEGORIES:
        save_category(
            session,
            tenant,
            actor,
            CategoryInput(
                name=name,
                min_days=min_days,
                description=description,
                binding_channel_ids=[channels[k].id for k in kinds],
            ),
            now,
        )
    audit.record(
        session,
        now=now,
        action="tenant.starter_set",
        object_type="tenant",
        object_id=tenant.id,
        actor=actor,
        tenant_id=tenant.id,
        details={"categories": [c[0] for c in STARTER_CATEGORIES]},
    )


def create_first_admin(
    session: Session,
    tenant: Tenant,
    actor: User,
    *,
    name: str,
    email: str,
    password: str,
    now: datetime,
) -> User:
    return people.create_user(
        session,
        email=email,
        name=name,
        password=password,
        now=now,
        actor=actor,
        tenant=tenant,
        roles=["admin"],
        require_roles=True,
    )


@dataclass(frozen=True)
class Step:
    label: str
    done: bool
    endpoint: str  # admin endpoint that does the step
    hint: str


def _people_with(session: Session, tenant: Tenant, roles: set[str]) -> int:
    return int(
        session.scalar(
            select(func.count(func.distinct(Membership.user_id))).where(
                Membership.tenant_id == tenant.id, Membership.role.in_(roles)
            )
        )
        or 0
    )


def is_live(session: Session, tenant: Tenant) -> bool:
    """Whether any notice of the tenant has ever been provided online."""
    return (
        session.scalar(
            select(Notice.id)
            .where(Notice.tenant_id == tenant.id, Notice.provided_at.is_not(None))
            .limit(1)
        )
        is not None
    )


def checklist(session: Session, tenant: Tenant) -> list[Step]:
    """The steps from a new Kommune to its first notice online, each with its state."""
    bound = [c for c in tenant.categories if c.binding_channels]
    staff = _people_with(session, tenant, {"editor", "admin"})
    approvers = _people_with(session, tenant, {"approver", "admin"})
    return [
        Step(
            "Erste Administratorin oder erster Administrator",
            _people_with(session, tenant, {"admin"}) > 0,
            "admin.user_new",
            "Legt Konten an und pflegt die Einstellungen.",
        ),
        Step(
            "Bekanntmachungsformen der Hauptsatzung",
            bool(tenant.channels),
            "admin.channels",
            "Internet, Bekanntmachungstafel, Amtsblatt – wie in der Hauptsatzung.",
        ),
        Step(
            "Kategorien mit Mindestfrist und verbindlicher Form",
            bool(bound),
            "admin.categories",
            "Der Vorschlag ist angelegt; bitte mit der Hauptsatzung abgleichen.",
        ),
        Step(
            "Angaben zur Kommune (Kontakt, Hauptsatzung, Barrierefreiheit)",
            bool(tenant.contact_email and tenant.hauptsatzung_ref),
            "admin.tenant_settings",
            "Erscheinen auf der öffentlichen Seite und im Aushangvermerk.",
        ),
        Step(
            "Zwei Personen für Redaktion und Freigabe (Vier-Augen-Prinzip)",
            staff >= 1
            and approvers >= 1
            and _people_with(session, tenant, {"editor", "approver", "admin"}) >= 2,
            "admin.user_new",
            "Wer eine Fassung schreibt, darf sie nicht selbst freigeben.",
        ),
        Step(
            "Erste Bekanntmachung freigegeben",
            is_live(session, tenant),
            "admin.notice_new",
            "Bis dahin ist die öffentliche Seite als „im Aufbau“ gekennzeichnet.",
        ),
    ]
