"""A display as the player API needs it: a frozen snapshot, detached from any session.

The API keeps snapshots in memory by token hash; a change of the tenant's scope
(display configuration, revocation) makes them stale, so an idle player's long-poll and
its 304 need no database query at all.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from ... import notify
from ...models import ContentItem, Display
from .slides import strip_bidi


@dataclass(frozen=True)
class DisplaySnapshot:
    id: int
    tenant_id: int
    tenant_slug: str
    tenant_name: str
    tenant_tz: str
    tenant_ars: str
    name: str
    orientation: str
    width: int
    height: int
    place_ars: str
    test_display: bool
    legal_board: bool
    category_ids: tuple[int, ...] | None  # None: every category of the tenant
    content_ids: tuple[int, ...]
    schedule: str  # canonical JSON of the screen hours
    notice_duration_s: int
    cycle_limit_s: int
    enrolled: bool
    max_pages: int = 0  # pages of one notice per cycle; 0 = all

    @property
    def tenant_scope(self) -> str:
        return notify.tenant_scope(self.tenant_id)

    @property
    def content_key(self) -> tuple[Any, ...]:
        """Displays with equal keys share one built items part."""
        return (
            self.tenant_id,
            self.orientation,
            self.category_ids,
            self.content_ids,
            self.schedule,
            self.tenant_tz,
            self.notice_duration_s,
            self.max_pages,
        )

    @property
    def warning_key(self) -> tuple[Any, ...]:
        return (self.tenant_id, self.place_ars, self.test_display)

    @property
    def ref_json(self) -> str:
        return json.dumps({"id": str(self.id), "name": strip_bidi(self.name)}, ensure_ascii=False)


def applicable_content(session: Session, display: Display) -> list[ContentItem]:
    """Content items for all displays of the tenant, the display's groups, or itself."""
    group_ids = [g.id for g in display.groups]
    conditions: list[ColumnElement[bool]] = [
        ContentItem.display_id.is_(None) & ContentItem.group_id.is_(None)
    ]
    if display.id is not None:
        conditions.append(ContentItem.display_id == display.id)
    if group_ids:
        conditions.append(ContentItem.group_id.in_(group_ids))
    return list(
        session.scalars(
            select(ContentItem)
            .where(ContentItem.tenant_id == display.tenant_id, or_(*conditions))
            .order_by(ContentItem.position, ContentItem.id)
        )
    )


def snapshot_of(session: Session, display: Display) -> DisplaySnapshot:
    tenant = display.tenant
    try:
        schedule = json.loads(display.screen_schedule or "[]")
    except ValueError:
        schedule = []
    return DisplaySnapshot(
        id=display.id,
        tenant_id=display.tenant_id,
        tenant_slug=tenant.slug,
        tenant_name=tenant.name,
        tenant_tz=tenant.timezone or "Europe/Berlin",
        tenant_ars=tenant.ars,
        name=display.name,
        orientation=display.orientation,
        width=display.resolution_w,
        height=display.resolution_h,
        place_ars=display.ars or tenant.ars,
        test_display=display.test_display,
        legal_board=display.legal_board,
        category_ids=None
        if display.all_categories
        else tuple(sorted(c.id for c in display.categories)),
        content_ids=tuple(c.id for c in applicable_content(session, display)),
        schedule=json.dumps(schedule, sort_keys=True, separators=(",", ":")),
        notice_duration_s=display.notice_duration_s,
        cycle_limit_s=display.cycle_limit_s,
        enrolled=display.enrolled,
        max_pages=display.max_pages or 0,
    )


class TokenCache:
    """token hash → (snapshot, generation of its tenant scope when loaded)."""

    def __init__(self, limit: int = 50_000) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[DisplaySnapshot, int]] = {}
        self.limit = limit

    def get(self, token_hash: str) -> DisplaySnapshot | None:
        entry = self._entries.get(token_hash)
        if entry is None:
            return None
        snap, gen = entry
        if notify.hub.generation(snap.tenant_scope) != gen:
            return None
        return snap

    def load(self, session: Session, token_hash: str) -> DisplaySnapshot | None:
        changes_before = notify.hub.changes
        display = session.scalar(select(Display).where(Display.token_hash == token_hash))
        if display is None or display.revoked_at is not None:
            with self._lock:
                self._entries.pop(token_hash, None)
            return None
        gen = notify.hub.generation(notify.tenant_scope(display.tenant_id))
        snap = snapshot_of(session, display)
        if notify.hub.changes != changes_before:
            return snap  # something changed while we read: use it, but do not keep it
        with self._lock:
            if len(self._entries) >= self.limit:
                self._entries.clear()
            self._entries[token_hash] = (snap, gen)
        return snap

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
