"""A tenant's own configuration: settings, publication forms (Hauptsatzung) and
categories with their minimum Aushangfrist and binding channels (L1, L11).

Only tenant admins (and system admins) change it; every change is audited (L17).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain.errors import Conflict, NotFound, ValidationFailed
from ..models import (
    CHANNEL_KINDS,
    Category,
    PublicationChannel,
    Tenant,
    User,
    category_binding_channel,
)
from . import audit
from .notices import require_role
from .people import EMAIL_RE, validate_tenant_fields

MAX_MIN_DAYS = 366
MAX_HINT_DUE_DAYS = 60
MAX_STATEMENT = 50_000
URL_RE = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)


def require_admin(user: User, tenant: Tenant) -> None:
    """Tenant admin (or system admin): ``require_role`` with no staff role means admin."""
    require_role(user, tenant.id)


def _too_long(errors: dict[str, str], name: str, value: str, limit: int) -> None:
    if len(value) > limit:
        errors.setdefault(name, f"Höchstens {limit} Zeichen.")


# --- settings ----------------------------------------------------------------------


@dataclass
class TenantSettingsInput:
    name: str = ""
    ars: str = ""
    timezone: str = "Europe/Berlin"
    website_url: str = ""
    contact_email: str = ""
    contact_phone: str = ""
    address: str = ""
    hauptsatzung_ref: str = ""
    hint_channel_id: int | None = None
    hint_due_days: int | None = 3
    accessibility_statement: str = ""
    alerts_need_confirmation: bool = False
    extra_errors: dict[str, str] = field(default_factory=dict)


def settings_input(tenant: Tenant) -> TenantSettingsInput:
    return TenantSettingsInput(
        name=tenant.name,
        ars=tenant.ars,
        timezone=tenant.timezone,
        website_url=tenant.website_url,
        contact_email=tenant.contact_email,
        contact_phone=tenant.contact_phone,
        address=tenant.address,
        hauptsatzung_ref=tenant.hauptsatzung_ref,
        hint_channel_id=tenant.hint_channel_id,
        hint_due_days=tenant.hint_due_days,
        accessibility_statement=tenant.accessibility_statement,
        alerts_need_confirmation=tenant.alerts_need_confirmation,
    )


def update_settings(
    session: Session, tenant: Tenant, actor: User, data: TenantSettingsInput, now: datetime
) -> Tenant:
    require_admin(actor, tenant)
    errors = dict(data.extra_errors)
    for k, v in validate_tenant_fields(data.name, tenant.slug, data.ars, data.timezone).items():
        errors.setdefault(k, v)
    website = data.website_url.strip()
    if website and not URL_RE.match(website):
        errors.setdefault("website_url", "Bitte eine Adresse mit http:// oder https:// angeben.")
    email = data.contact_email.strip()
    if email and not EMAIL_RE.match(email):
        errors.setdefault("contact_email", "Bitte eine gültige E-Mail-Adresse angeben.")
    _too_long(errors, "name", data.name.strip(), 200)
    _too_long(errors, "website_url", website, 500)
    _too_long(errors, "contact_email", email, 200)
    _too_long(errors, "contact_phone", data.contact_phone.strip(), 100)
    _too_long(errors, "hauptsatzung_ref", data.hauptsatzung_ref.strip(), 300)
    _too_long(errors, "address", data.address, 2000)
    _too_long(errors, "accessibility_statement", data.accessibility_statement, MAX_STATEMENT)
    if data.hint_due_days is None:
        errors.setdefault("hint_due_days", "Bitte eine Anzahl von Tagen angeben.")
    elif not 0 <= data.hint_due_days <= MAX_HINT_DUE_DAYS:
        errors.setdefault("hint_due_days", f"Zwischen 0 und {MAX_HINT_DUE_DAYS} Tagen.")
    if data.hint_channel_id is not None and not any(
        c.id == data.hint_channel_id for c in tenant.channels
    ):
        errors.setdefault(
            "hint_channel_id", "Bitte eine Bekanntmachungsform dieser Kommune wählen."
        )
    if errors:
        raise ValidationFailed("Bitte prüfen Sie die Einstellungen.", errors)
    before = settings_input(tenant)
    tenant.name = data.name.strip()
    tenant.ars = data.ars.strip().replace(" ", "")
    tenant.timezone = data.timezone.strip()
    tenant.website_url = website
    tenant.contact_email = email
    tenant.contact_phone = data.contact_phone.strip()
    tenant.address = data.address.strip()
    tenant.hauptsatzung_ref = data.hauptsatzung_ref.strip()
    tenant.hint_channel_id = data.hint_channel_id
    tenant.hint_due_days = data.hint_due_days  # type: ignore[assignment]
    tenant.accessibility_statement = data.accessibility_statement.strip()
    tenant.alerts_need_confirmation = bool(data.alerts_need_confirmation)
    session.flush()
    after = settings_input(tenant)
    changed = sorted(
        k for k in vars(after) if k != "extra_errors" and getattr(before, k) != getattr(after, k)
    )
    audit.record(
        session,
        now=now,
        action="tenant.settings",
        object_type="tenant",
        object_id=tenant.id,
        actor=actor,
        tenant_id=tenant.id,
        details={
            "changed": changed,
            "ars": tenant.ars,
            "timezone": tenant.timezone,
            "alerts_need_confirmation": tenant.alerts_need_confirmation,
        },
    )
    return tenant


# --- publication channels ------------------------------------------------------------


def get_channel(session: Session, tenant: Tenant, channel_id: int) -> PublicationChannel:
    channel = session.get(PublicationChannel, channel_id)
    if channel is None or channel.tenant_id != tenant.id:
        raise NotFound("Diese Bekanntmachungsform gibt es nicht.")
    return channel


def save_channel(
    session: Session,
    tenant: Tenant,
    actor: User,
    *,
    kind: str,
    name: str,
    location: str,
    now: datetime,
    channel: PublicationChannel | None = None,
) -> PublicationChannel:
    """Create or change one publication form of the Hauptsatzung."""
    require_admin(actor, tenant)
    errors: dict[str, str] = {}
    name, location = name.strip(), location.strip()
    if kind not in CHANNEL_KINDS:
        errors["kind"] = "Bitte eine Art der Bekanntmachung wählen."
    if not name:
        errors["name"] = "Bitte eine Bezeichnung angeben."
    _too_long(errors, "name", name, 200)
    _too_long(errors, "location", location, 500)
    if kind == "internet" and not URL_RE.match(location):
        errors.setdefault("location", "Bitte die Internetadresse (https://…) angeben.")
    if kind == "board" and not location:
        errors.setdefault("location", "Bitte den Standort der Tafel angeben.")
    if errors:
        raise ValidationFailed("Bitte prüfen Sie die Angaben zur Bekanntmachungsform.", errors)
    created = channel is None
    if channel is None:
        channel = PublicationChannel(kind=kind, name=name, location=location)
        tenant.channels.append(channel)
    else:
        channel.kind, channel.name, channel.location = kind, name, location
    session.flush()
    audit.record(
        session,
        now=now,
        action="channel.create" if created else "channel.update",
        object_type="publication_channel",
        object_id=channel.id,
        actor=actor,
        tenant_id=tenant.id,
        details={"kind": kind, "name": name, "location": location},
    )
    return channel


def channel_in_use(session: Session, tenant: Tenant, channel: PublicationChannel) -> bool:
    bound = session.scalar(
        select(category_binding_channel.c.category_id)
        .where(category_binding_channel.c.channel_id == channel.id)
        .limit(1)
    )
    return bound is not None or tenant.hint_channel_id == channel.id


def delete_channel(
    session: Session, tenant: Tenant, actor: User, channel: PublicationChannel, now: datetime
) -> None:
    """Only an unused form may go: a binding form is part of what notices promised."""
    require_admin(actor, tenant)
    if channel_in_use(session, tenant, channel):
        raise Conflict(
            f"„{channel.name}“ ist für eine Kategorie verbindlich oder nimmt die "
            "Hinweisbekanntmachungen auf und kann daher nicht gelöscht werden."
        )
    audit.record(
        session,
        now=now,
        action="channel.delete",
        object_type="publication_channel",
        object_id=channel.id,
        actor=actor,
        tenant_id=tenant.id,
        details={"kind": channel.kind, "name": channel.name},
    )
    tenant.channels.remove(channel)
    session.flush()


# --- categories --------------------------------------------------------------------


def slugify(text: str) -> str:
    text = text.lower()
    for a, b in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss")):
        text = text.replace(a, b)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    text = re.sub(r"[^a-z0-9]+", "-", text).strip("-")
    return text[:50].strip("-") or "kategorie"


def get_category(session: Session, tenant: Tenant, category_id: int) -> Category:
    category = session.get(Category, category_id)
    if category is None or category.tenant_id != tenant.id:
        raise NotFound("Diese Kategorie gibt es nicht.")
    return category


@dataclass
class CategoryInput:
    name: str = ""
    min_days: int | None = 7
    description: str = ""
    binding_channel_ids: list[int] = field(default_factory=list)
    extra_errors: dict[str, str] = field(default_factory=dict)


def save_category(
    session: Session,
    tenant: Tenant,
    actor: User,
    data: CategoryInput,
    now: datetime,
    *,
    category: Category | None = None,
) -> Category:
    """Create or change a category. Its slug is fixed at creation (stable URLs)."""
    require_admin(actor, tenant)
    errors = dict(data.extra_errors)
    name = data.name.strip()
    if not name:
        errors.setdefault("name", "Bitte einen Namen angeben.")
    _too_long(errors, "name", name, 200)
    _too_long(errors, "description", data.description, 5000)
    others = [c for c in tenant.categories if c is not category]
    if name and any(c.name.lower() == name.lower() for c in others):
        errors.setdefault("name", "Eine Kategorie mit diesem Namen gibt es bereits.")
    if data.min_days is None:
        errors.setdefault("min_days", "Bitte die Mindestfrist in Tagen angeben.")
    elif not 0 <= data.min_days <= MAX_MIN_DAYS:
        errors.setdefault("min_days", f"Zwischen 0 und {MAX_MIN_DAYS} Tagen.")
    channels = {c.id: c for c in tenant.channels}
    if any(cid not in channels for cid in data.binding_channel_ids):
        errors.setdefault(
            "binding_channels", "Bitte nur Bekanntmachungsformen dieser Kommune wählen."
        )
    if errors:
        raise ValidationFailed("Bitte prüfen Sie die Angaben zur Kategorie.", errors)
    created = category is None
    if category is None:
        taken = {c.slug for c in tenant.categories}
        base = slug = slugify(name)
        n = 2
        while slug in taken:
            slug = f"{base}-{n}"
            n += 1
        category = Category(name=name, slug=slug)
        tenant.categories.append(category)
    category.name = name
    category.min_days = data.min_days  # type: ignore[assignment]
    category.description = data.description.strip()
    category.binding_channels = [channels[cid] for cid in dict.fromkeys(data.binding_channel_ids)]
    session.flush()
    audit.record(
        session,
        now=now,
        action="category.create" if created else "category.update",
        object_type="category",
        object_id=category.id,
        actor=actor,
        tenant_id=tenant.id,
        details={
            "name": category.name,
            "slug": category.slug,
            "min_days": category.min_days,
            "binding": [c.kind for c in category.binding_channels],
        },
    )
    return category
