"""Feeds of released notices: from rows to ``feeds`` input values, and a cache that
builds each feed once per change (L20, L15).

A feed's content depends on the data and on time: a notice appears when its
Bereitstellung begins and a notice with personal data leaves after its window (L15).
So a cached body is valid while the scope's *fingerprint* (an aggregate over the
notices, one small query) is unchanged and ``now`` has not reached the next such
instant. The ETag is a hash of the body, so equal content has equal ETags in every
process.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

import feeds
from feeds import Enclosure, FeedEntry, FeedMeta, MeetingEvent

from ..domain.posting import local_date
from ..models import Category, Notice, NoticeMeeting, NoticeVersion, Tenant
from . import notices as notice_svc
from .listing import file_path, notice_path

FORMATS = ("rss", "atom", "json", "ics")
EXTENSIONS = {"rss": "rss", "atom": "atom", "json": "json", "ics": "ics"}
DEFAULT_MAX_NOTICES = 500
# Even without a change, rebuild now and then (e.g. a renamed category); same content
# gives the same ETag, so readers still get 304.
MAX_CACHE_AGE = timedelta(minutes=15)
EPOCH = date(2026, 1, 1)  # tag date for feeds that have no date of their own


@dataclass(frozen=True)
class FeedScope:
    """Whose notices: the Land (all tenants), one tenant, or one category of a tenant."""

    tenant: Tenant | None = None
    category: Category | None = None

    @property
    def key(self) -> str:
        if self.tenant is None:
            return "land"
        if self.category is None:
            return f"t:{self.tenant.slug}"
        return f"t:{self.tenant.slug}/c:{self.category.slug}"

    @property
    def path(self) -> str:
        if self.tenant is None:
            return "/feeds"
        if self.category is None:
            return f"/{self.tenant.slug}/feeds"
        return f"/{self.tenant.slug}/feeds/{self.category.slug}"

    def title(self) -> str:
        if self.tenant is None:
            return "Amtliche Bekanntmachungen – alle Kommunen"
        if self.category is None:
            return f"{self.tenant.name} – Amtliche Bekanntmachungen"
        return f"{self.tenant.name} – {self.category.name}"


def _scoped(query: Any, scope: FeedScope) -> Any:
    if scope.tenant is not None:
        query = query.where(Notice.tenant_id == scope.tenant.id)
    else:
        query = query.where(Notice.tenant_id.in_(select(Tenant.id).where(Tenant.active)))
    if scope.category is not None:
        query = query.where(Notice.category_id == scope.category.id)
    return query


def _visible(query: Any, now: datetime) -> Any:
    """Released (or withdrawn after its release: it stays, as a withdrawal), already
    provided, and not personal data past its window (L15; is_public drops withdrawn
    personal data)."""
    return query.where(
        Notice.status.in_(("released", "withdrawn")),
        Notice.current_version_id.is_not(None),
        Notice.provided_at <= now,
        or_(Notice.contains_personal_data.is_(False), Notice.ends_at > now),
    )


def fingerprint(session: Session, scope: FeedScope) -> tuple[Any, ...]:
    """Changes whenever a notice of the scope is released, corrected or withdrawn."""
    query = select(
        func.count(Notice.id), func.count(Notice.withdrawn_at), func.max(Notice.updated_at)
    ).where(Notice.status.in_(("released", "withdrawn")))
    count, withdrawn, latest = session.execute(_scoped(query, scope)).one()
    return (count, withdrawn, latest.isoformat() if latest else None)


def next_transition(session: Session, scope: FeedScope, now: datetime) -> datetime | None:
    """The next instant at which the scope's feed changes by time alone."""
    appear = session.scalar(
        _scoped(select(func.min(Notice.provided_at)), scope).where(
            Notice.status == "released", Notice.provided_at > now
        )
    )
    leave = session.scalar(
        _scoped(select(func.min(Notice.ends_at)), scope).where(
            Notice.status == "released",
            Notice.contains_personal_data.is_(True),
            Notice.ends_at > now,
        )
    )
    candidates = [t for t in (appear, leave) if t is not None]
    return min(candidates) if candidates else None


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


@dataclass(frozen=True)
class FeedData:
    meta: FeedMeta
    entries: list[FeedEntry]
    meetings: list[MeetingEvent]


def collect(
    session: Session,
    scope: FeedScope,
    now: datetime,
    base_url: str,
    *,
    max_notices: int = DEFAULT_MAX_NOTICES,
) -> FeedData:
    """Load the newest visible notices of the scope and map them to feed values."""
    query = _visible(_scoped(select(Notice), scope), now)
    rows = session.scalars(
        query.options(
            selectinload(Notice.versions).selectinload(NoticeVersion.attachments),
            selectinload(Notice.category),
            selectinload(Notice.tenant),
        )
        .order_by(Notice.updated_at.desc(), Notice.id.desc())
        .limit(max_notices)
    ).all()
    meetings_by_notice = {}
    if rows:
        meetings_by_notice = {
            m.notice_id: m
            for m in session.scalars(
                select(NoticeMeeting).where(NoticeMeeting.notice_id.in_([n.id for n in rows]))
            )
        }
    entries: list[FeedEntry] = []
    meetings: list[MeetingEvent] = []
    changed_at: datetime | None = None
    for notice in rows:
        if not notice_svc.is_public(notice, now):
            continue
        entries += notice_entries(notice, base_url)
        stamp = max(_aware(notice.updated_at), _aware(notice.provided_at or notice.updated_at))
        changed_at = stamp if changed_at is None else max(changed_at, stamp)
        meeting = meetings_by_notice.get(notice.id)
        if meeting is not None and meeting.starts_at is not None and notice.status == "released":
            meetings.append(meeting_event(notice, meeting, base_url))
    # A personal-data notice that just left changes the feed too.
    left = session.scalar(
        _scoped(select(func.max(Notice.ends_at)), scope).where(
            Notice.status == "released",
            Notice.contains_personal_data.is_(True),
            Notice.ends_at <= now,
        )
    )
    if left is not None:
        changed_at = _aware(left) if changed_at is None else max(changed_at, _aware(left))
    meta = scope_meta(
        scope, base_url, changed_at or datetime.combine(EPOCH, datetime.min.time(), UTC)
    )
    return FeedData(meta=meta, entries=entries, meetings=meetings)


def scope_meta(scope: FeedScope, base_url: str, updated: datetime) -> FeedMeta:
    """Channel data of a scope; ``self_url`` is set per format by :func:`build`."""
    tenant = scope.tenant
    minted = local_date(_aware(tenant.created_at)) if tenant is not None else EPOCH
    name = scope.path.strip("/") + "/notices"
    html_url = base_url + (f"/{tenant.slug}/" if tenant is not None else "/")
    return FeedMeta(
        title=scope.title(),
        subtitle=(
            "Amtliche Bekanntmachungen mit Bereitstellungstag, Aushangfrist, Kategorie, "
            "Aktenzeichen und Prüfsumme"
        ),
        self_url="",
        html_url=html_url,
        feed_id=feeds.feed_tag(base_url, minted, name),
        updated=updated,
        author_name=tenant.name if tenant is not None else "Aushang",
        author_url=html_url,
        docs_url=base_url + scope.path + "/",
        category_scheme=(base_url + f"/{tenant.slug}/kategorien") if tenant is not None else "",
    )


def _withdrawal(notice: Notice, version: NoticeVersion) -> Any:
    """A FeedEntry factory: as it is for a released notice; for the current version of a
    withdrawn one, the same id as a withdrawal (status, day, reason, updated then)."""
    if notice.status != "withdrawn" or version.id != notice.current_version_id:
        return FeedEntry
    assert notice.withdrawn_at is not None
    kind = notice.withdrawal_kind or "withdrawn"
    label = "Vorzeitig beendet" if kind == "ended_early" else "Zurückgezogen"
    day = local_date(_aware(notice.withdrawn_at), notice.tenant.timezone)
    reason = notice.withdrawal_reason or ""

    def make(**kw: Any) -> FeedEntry:
        kw["title"] = f"{label}: {kw['title']}"
        kw["summary"] = f"{label} am {day:%d.%m.%Y}. Grund: {reason}"
        kw["updated"] = max(kw["published"], _aware(notice.withdrawn_at))  # type: ignore[arg-type]
        return FeedEntry(status=kind, withdrawn_on=day, withdrawal_reason=reason, **kw)

    return make


def notice_entries(notice: Notice, base_url: str) -> list[FeedEntry]:
    """One entry per released version of a notice; ids never change (L20)."""
    tenant = notice.tenant
    assert notice.provided_on is not None and notice.provided_at is not None
    notice_uri = feeds.notice_tag(base_url, notice.provided_on, tenant.slug, notice.number)
    released = notice.released_versions
    numbers = {v.id: v.number for v in notice.versions}
    entries = []
    for version in released:
        assert version.released_at is not None
        published = max(_aware(version.released_at), _aware(notice.provided_at))
        corrects = numbers.get(version.corrects_version_id) if version.corrects_version_id else None
        entries.append(
            _withdrawal(notice, version)(
                id=feeds.version_tag(notice_uri, version.number),
                notice_uri=notice_uri,
                notice_number=notice.number,
                version=version.number,
                title=version.title,
                summary=version.summary or version.title,
                content_html=version.body_html,
                link=base_url + notice_path(tenant.slug, notice.number, version.number),
                provided_on=notice.provided_on,
                category=notice.category.name,
                category_slug=notice.category.slug,
                file_number=version.file_number,
                issuing_office=version.issuing_office,
                tenant_name=tenant.name,
                content_hash=version.content_hash or "",
                published=published,
                updated=published,
                posting_start=notice.posting_start,
                posting_end=notice.posting_end,
                corrects_id=feeds.version_tag(notice_uri, corrects) if corrects else "",
                enclosures=tuple(
                    Enclosure(
                        url=base_url + file_path(tenant.slug, a.sha256, a.filename),
                        media_type=a.media_type,
                        length=a.size,
                        sha256=a.sha256,
                        title=a.title or a.filename,
                    )
                    for a in version.attachments
                ),
            )
        )
    return entries


def meeting_event(notice: Notice, meeting: NoticeMeeting, base_url: str) -> MeetingEvent:
    assert meeting.starts_at is not None
    version = notice.current_version
    title = meeting.title or (version.title if version else notice.number)
    return MeetingEvent(
        uid=f"{meeting.source_url or notice.number}#aushang-{notice.tenant.slug}",
        summary=title,
        start=_aware(meeting.starts_at),
        end=_aware(meeting.ends_at) if meeting.ends_at else None,
        location=meeting.place,
        description=version.summary if version else "",
        url=base_url + notice_path(notice.tenant.slug, notice.number),
        status="CANCELLED" if meeting.cancelled else "CONFIRMED",
        sequence=version.number - 1 if version else 0,
        last_modified=_aware(notice.updated_at),
    )


def render(data: FeedData, fmt: str, self_url: str) -> bytes:
    meta = replace(data.meta, self_url=self_url)
    if fmt == "rss":
        return feeds.build_rss(meta, data.entries)
    if fmt == "atom":
        return feeds.build_atom(meta, data.entries)
    if fmt == "json":
        return feeds.build_json_feed(meta, data.entries)
    if fmt == "ics":
        return feeds.build_ical(meta, data.entries, data.meetings)
    raise ValueError(f"unknown feed format {fmt!r}")


@dataclass(frozen=True)
class BuiltFeed:
    body: bytes
    etag: str
    last_modified: datetime
    fingerprint: tuple[Any, ...]
    valid_until: datetime
    content_type: str


class FeedCache:
    """Per-process cache of built feeds, keyed by scope and format."""

    def __init__(self) -> None:
        self._items: dict[tuple[str, str], BuiltFeed] = {}
        self._lock = threading.Lock()
        self.builds = 0

    def get(
        self,
        key: tuple[str, str],
        current: tuple[Any, ...],
        now: datetime,
        build: Callable[[], BuiltFeed],
    ) -> BuiltFeed:
        item = self._items.get(key)
        if item is not None and item.fingerprint == current and now < item.valid_until:
            return item
        with self._lock:  # one build per key at a time; others wait and reuse it
            item = self._items.get(key)
            if item is None or item.fingerprint != current or now >= item.valid_until:
                item = build()
                self._items[key] = item
                self.builds += 1
        return item

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def build(
    session: Session,
    scope: FeedScope,
    fmt: str,
    now: datetime,
    base_url: str,
    *,
    current: tuple[Any, ...] | None = None,
    max_notices: int = DEFAULT_MAX_NOTICES,
) -> BuiltFeed:
    """Build one feed document with its HTTP validators."""
    current = current if current is not None else fingerprint(session, scope)
    data = collect(session, scope, now, base_url, max_notices=max_notices)
    self_url = f"{base_url}{scope.path}/notices.{EXTENSIONS[fmt]}"
    body = render(data, fmt, self_url)
    horizon = now + MAX_CACHE_AGE
    transition = next_transition(session, scope, now)
    valid_until = min(horizon, _aware(transition)) if transition else horizon
    return BuiltFeed(
        body=body,
        etag=hashlib.sha256(body).hexdigest()[:32],
        last_modified=data.meta.updated,
        fingerprint=current,
        valid_until=valid_until,
        content_type=feeds.CONTENT_TYPES[fmt],
    )
