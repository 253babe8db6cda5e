"""Staff configuration of displays, groups and mixed-in content, with the D3 check."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...domain.ars import validate_ars
from ...domain.errors import NotFound, ValidationFailed
from ...domain.playlist import PlaylistEntry, check_cycle, cycle_seconds
from ...models import (
    CONTENT_KINDS,
    ORIENTATIONS,
    Category,
    ContentItem,
    Display,
    DisplayGroup,
    Tenant,
    User,
)
from .. import audit, display_history
from ..files import BlobStore
from .manifest import build_items
from .snapshot import applicable_content, snapshot_of


@dataclass
class DisplayInput:
    name: str = ""
    location: str = ""
    orientation: str = "landscape"
    resolution_w: int | None = 1920
    resolution_h: int | None = 1080
    ars: str = ""
    legal_board: bool = False
    test_display: bool = False
    all_categories: bool = True
    category_ids: list[int] = field(default_factory=list)
    group_ids: list[int] = field(default_factory=list)
    notice_duration_s: int | None = 15
    max_pages: int | None = 3
    cycle_limit_s: int | None = 300
    screen_schedule: list[dict[str, object]] = field(default_factory=list)
    extra_errors: dict[str, str] = field(default_factory=dict)


def applicable_contents(session: Session, display: Display) -> list[ContentItem]:
    """Mixed-in content this display shows (tenant-wide, its groups, its own)."""
    return applicable_content(session, display)


def get_display(session: Session, tenant: Tenant, display_id: int) -> Display:
    display = session.get(Display, display_id)
    if display is None or display.tenant_id != tenant.id:
        raise NotFound("Diese Anzeige gibt es nicht.")
    return display


def list_displays(session: Session, tenant: Tenant) -> list[Display]:
    return list(
        session.scalars(
            select(Display).where(Display.tenant_id == tenant.id).order_by(Display.name)
        )
    )


def _validate(session: Session, tenant: Tenant, data: DisplayInput) -> None:
    errors = dict(data.extra_errors)
    if not data.name.strip() or len(data.name) > 200:
        errors["name"] = "Bitte einen Namen (höchstens 200 Zeichen) angeben."
    if len(data.location) > 300:
        errors["location"] = "Höchstens 300 Zeichen."
    if data.orientation not in ORIENTATIONS:
        errors["orientation"] = "Bitte Quer- oder Hochformat wählen."
    for key in ("resolution_w", "resolution_h"):
        value = getattr(data, key)
        if value is None or not 200 <= value <= 10000:
            errors.setdefault(key, "Bildpunkte zwischen 200 und 10000.")
    if data.ars.strip():
        try:
            data.ars = validate_ars(data.ars, "ars")
        except ValidationFailed as exc:
            errors.update(exc.field_errors)
    if data.notice_duration_s is None or not 3 <= data.notice_duration_s <= 600:
        errors.setdefault("notice_duration_s", "Sekunden zwischen 3 und 600.")
    if data.max_pages is None or not 0 <= data.max_pages <= 100:
        errors.setdefault("max_pages", "Zwischen 1 und 100 Seiten, 0 für alle Seiten.")
    if data.cycle_limit_s is None or not 30 <= data.cycle_limit_s <= 3600:
        errors.setdefault("cycle_limit_s", "Sekunden zwischen 30 und 3600.")
    if not data.all_categories:
        own = {c.id for c in tenant.categories}
        if not data.category_ids or not set(data.category_ids) <= own:
            errors["categories"] = "Bitte mindestens eine Kategorie dieser Kommune wählen."
    if errors:
        raise ValidationFailed("Bitte prüfen Sie die Angaben zur Anzeige.", errors)


def _apply(session: Session, tenant: Tenant, display: Display, data: DisplayInput) -> None:
    display.name = data.name.strip()
    display.location = data.location.strip()
    display.orientation = data.orientation
    display.resolution_w = int(data.resolution_w or 1920)
    display.resolution_h = int(data.resolution_h or 1080)
    display.ars = data.ars.strip()
    display.legal_board = data.legal_board
    display.test_display = data.test_display
    display.all_categories = data.all_categories
    display.notice_duration_s = int(data.notice_duration_s or 15)
    display.max_pages = int(data.max_pages or 0)
    display.cycle_limit_s = int(data.cycle_limit_s or 300)
    display.screen_schedule = json.dumps(data.screen_schedule, separators=(",", ":"))
    display.categories = (
        []
        if data.all_categories
        else list(
            session.scalars(
                select(Category).where(
                    Category.tenant_id == tenant.id, Category.id.in_(data.category_ids)
                )
            )
        )
    )
    display.groups = list(
        session.scalars(
            select(DisplayGroup).where(
                DisplayGroup.tenant_id == tenant.id, DisplayGroup.id.in_(data.group_ids or [-1])
            )
        )
    )


def current_entries(
    session: Session, display: Display, now: datetime, store: BlobStore, base_url: str
) -> list[PlaylistEntry]:
    """The rotation the display shows at ``now`` (the manifest's items valid now)."""
    from .manifest import isoz

    part = build_items(session, snapshot_of(session, display), now, store, base_url)
    stamp = isoz(now)
    return [
        entry
        for entry, item in zip(part.entries, part.items, strict=True)
        if item["valid_from"] <= stamp
        and (item["valid_until"] is None or item["valid_until"] > stamp)
    ]


def playlist_cycle(
    session: Session, display: Display, now: datetime, store: BlobStore, base_url: str
) -> tuple[int, int]:
    """(cycle seconds, number of entries) of what the display shows now."""
    entries = current_entries(session, display, now, store, base_url)
    return (
        cycle_seconds(entries, display.orientation, display.resolution_w, display.resolution_h),
        len(entries),
    )


def check_legal_board(
    session: Session, display: Display, now: datetime, store: BlobStore, base_url: str
) -> int:
    """D3: refuse a configuration whose rotation would not show every notice in Aushang
    within the display's cycle limit. Returns the cycle length in seconds."""
    return check_cycle(
        current_entries(session, display, now, store, base_url),
        orientation=display.orientation,
        width=display.resolution_w,
        height=display.resolution_h,
        limit_s=display.cycle_limit_s,
    )


def save_display(
    session: Session,
    tenant: Tenant,
    user: User,
    data: DisplayInput,
    now: datetime,
    *,
    store: BlobStore,
    base_url: str,
    display: Display | None = None,
) -> Display:
    _validate(session, tenant, data)
    created = display is None
    if display is None:
        display = Display(tenant_id=tenant.id, created_at=now)
        session.add(display)
    _apply(session, tenant, display, data)
    session.flush()
    display_history.record(session, display, now)  # evidence follows history (issue 17)
    if display.legal_board:
        check_legal_board(session, display, now, store, base_url)
    audit.record(
        session,
        now=now,
        action="display.create" if created else "display.update",
        object_type="display",
        object_id=display.id,
        actor=user,
        tenant_id=tenant.id,
        details={
            "name": display.name,
            "legal_board": display.legal_board,
            "test_display": display.test_display,
            "orientation": display.orientation,
            "categories": None if display.all_categories else [c.name for c in display.categories],
            "groups": [g.name for g in display.groups],
            "notice_duration_s": display.notice_duration_s,
            "max_pages": display.max_pages,
        },
    )
    return display


# --- groups ------------------------------------------------------------------------------


def create_group(session: Session, tenant: Tenant, user: User, name: str, now: datetime):
    name = name.strip()
    if not name or len(name) > 200:
        raise ValidationFailed(
            "Bitte einen Gruppennamen angeben.", {"group_name": "1–200 Zeichen."}
        )
    if session.scalar(
        select(DisplayGroup.id).where(
            DisplayGroup.tenant_id == tenant.id, DisplayGroup.name == name
        )
    ):
        raise ValidationFailed("Diese Gruppe gibt es schon.", {"group_name": "Name vergeben."})
    group = DisplayGroup(tenant_id=tenant.id, name=name, created_at=now)
    session.add(group)
    session.flush()
    audit.record(
        session,
        now=now,
        action="display.group_create",
        object_type="display_group",
        object_id=group.id,
        actor=user,
        tenant_id=tenant.id,
        details={"name": name},
    )
    return group


def delete_group(session: Session, tenant: Tenant, user: User, group_id: int, now: datetime):
    group = session.get(DisplayGroup, group_id)
    if group is None or group.tenant_id != tenant.id:
        raise NotFound("Diese Gruppe gibt es nicht.")
    audit.record(
        session,
        now=now,
        action="display.group_delete",
        object_type="display_group",
        object_id=group.id,
        actor=user,
        tenant_id=tenant.id,
        details={"name": group.name},
    )
    session.delete(group)
    session.flush()


# --- mixed-in content ----------------------------------------------------------------------


@dataclass
class ContentInput:
    kind: str = "page"
    title: str = ""
    body: str = ""
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    position: int | None = 100
    duration_s: int | None = 10
    display_id: int | None = None
    group_id: int | None = None
    image: object | None = None  # a StoredBlob for kind image
    extra_errors: dict[str, str] = field(default_factory=dict)


def add_content(
    session: Session, tenant: Tenant, user: User, data: ContentInput, now: datetime
) -> ContentItem:
    errors = dict(data.extra_errors)
    if data.kind not in CONTENT_KINDS:
        errors["kind"] = "Bitte Bild oder Infoseite wählen."
    if not data.title.strip() or len(data.title) > 300:
        errors["title"] = "Bitte einen Titel (höchstens 300 Zeichen) angeben."
    if data.kind == "page" and not data.body.strip():
        errors["body"] = "Bitte den Text der Infoseite angeben."
    if data.kind == "page" and len(data.body) > 20000:
        errors["body"] = "Höchstens 20000 Zeichen."
    if data.kind == "image" and data.image is None:
        errors.setdefault("image", "Bitte ein Bild (PNG oder JPEG) hochladen.")
    if data.duration_s is None or not 3 <= data.duration_s <= 600:
        errors.setdefault("duration_s", "Sekunden zwischen 3 und 600.")
    if data.position is None:
        errors.setdefault("position", "Bitte eine Zahl angeben.")
    start = data.valid_from or now
    if data.valid_until is not None and data.valid_until <= start:
        errors["valid_until"] = "Das Ende muss nach dem Beginn liegen."
    if errors:
        raise ValidationFailed("Bitte prüfen Sie den Inhalt.", errors)
    image = data.image
    item = ContentItem(
        tenant_id=tenant.id,
        display_id=data.display_id,
        group_id=data.group_id,
        kind=data.kind,
        title=data.title.strip(),
        body=data.body.replace("\r\n", "\n").strip() if data.kind == "page" else "",
        image_sha256=getattr(image, "sha256", None),
        image_media_type=getattr(image, "media_type", None),
        image_size=getattr(image, "size", None),
        valid_from=start,
        valid_until=data.valid_until,
        position=int(data.position or 0),
        duration_s=int(data.duration_s or 10),
        created_at=now,
        updated_at=now,
    )
    session.add(item)
    session.flush()
    audit.record(
        session,
        now=now,
        action="display.content_add",
        object_type="display_content",
        object_id=item.id,
        actor=user,
        tenant_id=tenant.id,
        details={
            "title": item.title,
            "kind": item.kind,
            "display_id": data.display_id,
            "group_id": data.group_id,
        },
    )
    return item


def remove_content(session: Session, tenant: Tenant, user: User, item_id: int, now: datetime):
    item = session.get(ContentItem, item_id)
    if item is None or item.tenant_id != tenant.id:
        raise NotFound("Diesen Inhalt gibt es nicht.")
    audit.record(
        session,
        now=now,
        action="display.content_remove",
        object_type="display_content",
        object_id=item.id,
        actor=user,
        tenant_id=tenant.id,
        details={"title": item.title},
    )
    session.delete(item)
    session.flush()
