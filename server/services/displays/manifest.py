"""The manifest of a display (protocol v1), built once per change and cached.

A manifest has two parts with their own cache keys:

* items + screen hours, per *content key* (tenant, orientation, selection, mixed-in
  content, screen hours): every display with the same configuration shares one build;
  stale when the tenant's scope changes or the next window boundary passes;
* warnings, per (tenant, place, test display): stale when the alerts scope changes or a
  warning expires.

The per-display envelope (display name, revision, ETag) is assembled from the parts'
pre-serialised JSON, so answering an unchanged long-poll costs a dictionary lookup and
a string comparison. The ETag is a hash of the body without ``server_time``.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from ... import notify
from ...domain.playlist import PlaylistEntry, next_boundary
from ...models import ContentItem, DisplayChange, Notice, NoticeVersion, Tenant
from ..files import BlobStore
from . import board as board_svc
from . import slides as slide_svc
from .reports import AlertMetaCache, HeartbeatLimiter
from .sent import Ref, SentLog
from .snapshot import DisplaySnapshot, TokenCache
from .warnings import build_warnings

# Items whose window opens within this horizon are sent ahead, so a player shows them
# on time even if it is offline when the window opens.
HORIZON = timedelta(hours=24)


def isoz(value: datetime) -> str:
    value = value.astimezone(UTC)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond // 1000:03d}"
    return text + "Z"


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


@dataclass
class Part:
    fragment: str  # serialised JSON value(s) of the part
    digest: str
    blobs: dict[str, str]  # sha256 → media type, for the asset route
    expires_at: datetime | None
    revision: int
    built_for: datetime
    entries: list[PlaylistEntry] = field(default_factory=list)
    items: list[dict[str, Any]] = field(default_factory=list)
    gens: tuple[int, ...] = ()
    # What the part carries as evidence can name it (see sent.py): notice versions, alerts.
    refs: frozenset[Ref] = frozenset()

    def fresh(self, gens: tuple[int, ...], now: datetime) -> bool:
        return (
            self.gens == gens
            and self.built_for <= now
            and (self.expires_at is None or now < self.expires_at)
        )


class PartCache:
    def __init__(self, limit: int = 20_000) -> None:
        self._parts: dict[Any, Part] = {}
        self._locks: dict[Any, threading.Lock] = {}
        self._lock = threading.Lock()
        self.builds = 0
        self.limit = limit

    def get(
        self, key: Any, scopes: tuple[str, ...], now: datetime, build: Callable[[], Part]
    ) -> Part:
        gens = tuple(notify.hub.generation(s) for s in scopes)
        part = self._parts.get(key)
        if part is not None and part.fresh(gens, now):
            return part
        with self._lock:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:  # one build per key; concurrent waiters reuse it
            gens = tuple(notify.hub.generation(s) for s in scopes)
            part = self._parts.get(key)
            if part is not None and part.fresh(gens, now):
                return part
            part = build()
            part.gens = gens
            self.builds += 1
            with self._lock:
                if len(self._parts) >= self.limit:
                    self._parts.clear()
                self._parts[key] = part
            return part

    def clear(self) -> None:
        with self._lock:
            self._parts.clear()


@dataclass
class DisplayCaches:
    """What the player API keeps in memory between requests: built parts, whole
    manifests per display, and token snapshots. One set per application, not per
    process: two applications in one process (a test server beside the test suite's,
    or two tenants' staging apps) have different databases with the same ids."""

    parts: PartCache = field(default_factory=PartCache)
    envelopes: dict[int, tuple[int, int, str, Manifest]] = field(default_factory=dict)
    tokens: TokenCache = field(default_factory=TokenCache)
    alerts: AlertMetaCache = field(default_factory=AlertMetaCache)
    # Group commits of the player API (server/web/player_api.py creates them).
    writers: dict[str, Any] = field(default_factory=dict)
    sent: SentLog = field(default_factory=SentLog)
    heartbeat_limit: HeartbeatLimiter | None = None  # created by the player API from config


def scope_revisions(session: Session, scopes: tuple[str, ...]) -> int:
    rows = session.execute(
        select(DisplayChange.revision).where(DisplayChange.scope.in_(scopes))
    ).scalars()
    return int(sum(rows))


# --- items ---------------------------------------------------------------------------


def _notice_query(snap: DisplaySnapshot) -> Any:
    stmt = select(Notice).where(
        Notice.tenant_id == snap.tenant_id,
        Notice.status == "released",
        Notice.current_version_id.is_not(None),
    )
    if snap.category_ids is not None:
        stmt = stmt.where(Notice.category_id.in_(snap.category_ids or (-1,)))
    return stmt


def build_items(
    session: Session, snap: DisplaySnapshot, now: datetime, store: BlobStore, base_url: str
) -> Part:
    """Items (notices in or near their window, mixed-in content) and screen hours."""
    tenant = session.get(Tenant, snap.tenant_id)
    assert tenant is not None
    horizon = now + HORIZON
    notices = session.scalars(
        _notice_query(snap)
        .where(Notice.ends_at > now, Notice.starts_at <= horizon)
        .options(
            selectinload(Notice.current_version).selectinload(NoticeVersion.attachments),
            selectinload(Notice.category),
        )
        .order_by(Notice.starts_at, Notice.number)
    ).all()
    later = session.scalar(
        _notice_query(snap)
        .with_only_columns(func.min(Notice.starts_at))
        .where(Notice.starts_at > horizon)
    )
    items: list[dict[str, Any]] = []
    entries: list[PlaylistEntry] = []
    refs: set[Ref] = set()
    moments: list[datetime | None] = [later - HORIZON if later else None]
    for notice in notices:
        version = notice.current_version
        assert version is not None and notice.starts_at is not None
        url = slide_svc.public_notice_url(base_url, tenant, notice)
        refs.add(Ref("notice", notice.id, version.number, version.content_hash))
        for slide in slide_svc.notice_slides(store, notice, version, snap.orientation, url):
            capped = {"max_pages": snap.max_pages} if snap.max_pages and slide.paged else {}
            items.append(
                {
                    **capped,
                    "id": f"notice-{notice.id}-v{version.number}{slide.suffix}",
                    "kind": "notice",
                    "title": slide_svc.strip_bidi(version.title),
                    "notice_id": str(notice.id),
                    "version_hash": version.content_hash,
                    "slide": slide.slide,
                    "duration_s": snap.notice_duration_s,
                    "valid_from": isoz(notice.starts_at),
                    "valid_until": isoz(notice.ends_at) if notice.ends_at else None,
                    "assets": slide.assets,
                }
            )
            entries.append(
                PlaylistEntry(
                    label=f"{notice.number} {version.title}",
                    duration_s=snap.notice_duration_s,
                    text_chars=slide.text_chars,
                    paged=slide.paged,
                    is_notice=True,
                    max_pages=snap.max_pages,
                )
            )
        moments.append(notice.ends_at)
    if snap.content_ids:
        contents = session.scalars(
            select(ContentItem)
            .where(ContentItem.id.in_(snap.content_ids))
            .order_by(ContentItem.position, ContentItem.id)
        ).all()
        for content in contents:
            if content.valid_until is not None and content.valid_until <= now:
                continue
            if content.valid_from > horizon:
                moments.append(content.valid_from - HORIZON)
                continue
            item = _content_item(store, tenant, content, snap.orientation)
            if item is None:
                continue
            items.append(item)
            entries.append(
                PlaylistEntry(
                    label=content.title,
                    duration_s=content.duration_s,
                    text_chars=len(content.body) if content.kind == "page" else 0,
                    paged=content.kind == "page",
                )
            )
            moments.append(content.valid_until)
    screen = {"timezone": snap.tenant_tz, "schedule": json.loads(snap.schedule)}
    board = board_svc.board_json(session, tenant, store)
    fragment = f'"items":{_dumps(items)},"screen":{_dumps(screen)},"board":{_dumps(board)}'
    blobs: dict[str, str] = {}
    for item in items:
        for b in [item["slide"], *item["assets"]]:
            blobs[b["sha256"]] = b["media_type"]
    if board["crest"] is not None:
        blobs[board["crest"]["sha256"]] = board["crest"]["media_type"]
    return Part(
        fragment=fragment,
        digest=hashlib.sha256(fragment.encode()).hexdigest(),
        blobs=blobs,
        expires_at=next_boundary(moments, now),
        revision=scope_revisions(session, (snap.tenant_scope,)),
        built_for=now,
        entries=entries,
        items=items,
        refs=frozenset(refs),
    )


def _content_item(
    store: BlobStore, tenant: Tenant, content: ContentItem, orientation: str
) -> dict[str, Any] | None:
    if content.kind == "image":
        if not content.image_sha256 or not store.exists(content.image_sha256):
            return None
        if slide_svc.image_too_large(store.path_for(content.image_sha256)):
            return None  # stored before the upload checked it: no player decodes it
        slide = slide_svc.blob(
            content.image_sha256, content.image_size or 0, content.image_media_type or "image/png"
        )
        assets: list[dict[str, Any]] = []
    else:
        rendered = slide_svc.page_slide(store, tenant, content.title, content.body, orientation)
        slide, assets = rendered.slide, rendered.assets
    return {
        "id": f"content-{content.id}",
        "kind": content.kind,
        "title": slide_svc.strip_bidi(content.title),
        "slide": slide,
        "duration_s": content.duration_s,
        "valid_from": isoz(content.valid_from),
        "valid_until": isoz(content.valid_until) if content.valid_until else None,
        "assets": assets,
    }


# --- the manifest ----------------------------------------------------------------------


@dataclass(frozen=True)
class Manifest:
    etag: str
    head: str  # the JSON after server_time
    items: Part
    warnings: Part

    def body(self, server_time: datetime) -> bytes:
        return ('{"protocol":1,"server_time":"' + isoz(server_time) + '",' + self.head).encode()

    @property
    def expires_at(self) -> datetime | None:
        ends = [e for e in (self.items.expires_at, self.warnings.expires_at) if e is not None]
        return min(ends) if ends else None

    def allows(self, sha256: str) -> str | None:
        return self.items.blobs.get(sha256) or self.warnings.blobs.get(sha256)

    @property
    def refs(self) -> frozenset[Ref]:
        return self.items.refs | self.warnings.refs


def manifest_for(
    session: Session,
    snap: DisplaySnapshot,
    now: datetime,
    *,
    store: BlobStore,
    base_url: str,
    policy: Any,
    cache: DisplayCaches,
) -> Manifest:
    """The display's manifest, from ``cache`` (the application's, ``runtime.caches()``)
    where nothing it depends on changed."""
    items = cache.parts.get(
        ("items", snap.content_key),
        (snap.tenant_scope,),
        now,
        lambda: build_items(session, snap, now, store, base_url),
    )
    warnings = cache.parts.get(
        ("warnings", snap.warning_key),
        (notify.ALERTS,),
        now,
        lambda: build_warnings(session, snap, now, store, policy, base_url),
    )
    envelopes = cache.envelopes
    cached = envelopes.get(snap.id)
    if cached and cached[0] == id(items) and cached[1] == id(warnings) and cached[2] == snap.name:
        return cached[3]
    revision = items.revision + warnings.revision
    ref = snap.ref_json
    etag = (
        "m1-"
        + hashlib.sha256(f"{ref}|{revision}|{items.digest}|{warnings.digest}".encode()).hexdigest()[
            :40
        ]
    )
    head = (
        f'"display":{ref},"etag":"{etag}","revision":{revision},'
        f'"warnings":{warnings.fragment},{items.fragment}}}'
    )
    manifest = Manifest(etag=etag, head=head, items=items, warnings=warnings)
    if len(envelopes) > 100_000:
        envelopes.clear()
    envelopes[snap.id] = (id(items), id(warnings), snap.name, manifest)
    return manifest
