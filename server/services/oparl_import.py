"""OParl import (L21): meetings become draft Sitzungsbekanntmachungen.

Everything is fetched and mapped first; only then does anything touch the database, so
a timeout, an HTML error page or broken JSON changes nothing. New meetings become drafts
under the source's author; a re-import updates drafts that are still drafts and flags
notices that are already submitted or released (they change only through a correction
and the normal four-eyes release). Cancelled and deleted meetings are flagged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain import posting
from ..domain.errors import ValidationFailed
from ..domain.oparl import MeetingNoticeDraft, OParlError, meeting_to_draft
from ..models import Category, Notice, NoticeMeeting, OParlSource, Tenant, User
from . import audit
from . import notices as notice_svc

log = logging.getLogger(__name__)

FLAG_CANCELLED = "OParl: Sitzung abgesagt"
FLAG_DELETED = "OParl: Sitzung im Ratsinformationssystem gelöscht"
FLAG_CHANGED = "OParl: Sitzung nach der Vorlage geändert – bitte prüfen (ggf. Berichtigung)"


class MeetingSource(Protocol):
    def fetch_meetings(self, url: str, *, modified_since: datetime | None = None) -> list: ...


@dataclass
class ImportResult:
    created: list[str] = field(default_factory=list)  # notice numbers
    updated: list[str] = field(default_factory=list)
    flagged: list[str] = field(default_factory=list)
    unchanged: int = 0
    skipped: int = 0
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{len(self.created)} neu, {len(self.updated)} aktualisiert, "
            f"{len(self.flagged)} markiert, {self.unchanged} unverändert, "
            f"{self.skipped} übersprungen"
        )


def source_key(draft: MeetingNoticeDraft) -> str:
    return f"oparl:{draft.source_id}"[:500]


def _window(
    draft: MeetingNoticeDraft, tenant: Tenant, category: Category, now: datetime
) -> tuple[date | None, date | None, str | None]:
    """Aushang from today until the meeting day, if that meets the category's minimum."""
    if draft.start is None:
        return None, None, None
    today = posting.local_date(now, tenant.timezone)
    meeting_day = posting.local_date(draft.start, tenant.timezone)
    if meeting_day <= today:
        return None, None, "Die Sitzung liegt nicht in der Zukunft; bitte Aushangfrist prüfen."
    try:
        posting.make_window(today, meeting_day, min_days=category.min_days, tz=tenant.timezone)
    except ValidationFailed:
        return (
            None,
            None,
            (
                f"Bis zur Sitzung bleiben weniger als {category.min_days} Tage Aushangfrist; "
                "bitte Aushangfrist festlegen."
            ),
        )
    return today, meeting_day, None


def _input(
    draft: MeetingNoticeDraft,
    base: notice_svc.NoticeInput,
    tenant: Tenant,
    category: Category,
    now: datetime,
) -> tuple[notice_svc.NoticeInput, str | None]:
    start, end, warning = _window(draft, tenant, category, now)
    base.title = draft.title[:300]
    base.summary = draft.summary
    base.body_md = draft.body_md
    base.category_id = category.id
    if not base.issuing_office:
        base.issuing_office = (draft.organizations[0] if draft.organizations else tenant.name)[:300]
    if start is not None:
        base.posting_start, base.posting_end = start, end
    return base, warning


def _store_meeting(meeting: NoticeMeeting, draft: MeetingNoticeDraft, now: datetime) -> None:
    meeting.source_url = draft.source_id[:1000]
    meeting.title = (draft.meeting_name or draft.title)[:300]
    meeting.organization = ", ".join(draft.organizations)[:300]
    if not draft.deleted:
        meeting.starts_at = draft.start
        meeting.ends_at = draft.end
        meeting.place = draft.place
        meeting.invitation_url = (draft.invitation.url if draft.invitation else "")[:1000]
    meeting.cancelled = draft.cancelled
    meeting.deleted = draft.deleted
    meeting.source_modified = draft.modified
    meeting.imported_at = now


def _flag_for(draft: MeetingNoticeDraft) -> str | None:
    if draft.deleted:
        return FLAG_DELETED
    if draft.cancelled:
        return FLAG_CANCELLED
    return None


def import_meetings(
    session: Session,
    *,
    tenant: Tenant,
    category: Category,
    author: User,
    url: str,
    now: datetime,
    client: MeetingSource,
    modified_since: datetime | None = None,
) -> ImportResult:
    """Fetch the meetings behind ``url`` and create or update drafts. Adds and flushes;
    the caller commits. Raises :class:`OParlError` before any change if the source fails."""
    if category.tenant_id != tenant.id:
        raise ValidationFailed(
            "Die Kategorie gehört nicht zu dieser Kommune.", {"category": "Falsche Kategorie."}
        )
    notice_svc.require_role(author, tenant.id, "editor")
    zone = ZoneInfo(tenant.timezone)
    drafts = [
        meeting_to_draft(m, zone) for m in client.fetch_meetings(url, modified_since=modified_since)
    ]
    result = ImportResult()
    for draft in drafts:
        _apply(session, draft, tenant, category, author, now, result)
    log.info("oparl event=import tenant=%s url=%s %s", tenant.slug, url, result.summary())
    return result


def _apply(
    session: Session,
    draft: MeetingNoticeDraft,
    tenant: Tenant,
    category: Category,
    author: User,
    now: datetime,
    result: ImportResult,
) -> None:
    row = session.execute(
        select(NoticeMeeting, Notice)
        .join(Notice, Notice.id == NoticeMeeting.notice_id)
        .where(Notice.tenant_id == tenant.id, NoticeMeeting.source_url == draft.source_id[:1000])
    ).first()
    for draft_warning in draft.warnings:
        result.warnings.append(f"{draft.title}: {draft_warning}")
    if row is None:
        if draft.deleted:
            result.skipped += 1
            return
        data, warning = _input(draft, notice_svc.NoticeInput(), tenant, category, now)
        if warning:
            result.warnings.append(f"{draft.title}: {warning}")
        notice = notice_svc.create_notice(
            session, tenant, author, data, now, source=source_key(draft)
        )
        notice.source_flag = _flag_for(draft)
        meeting = NoticeMeeting(notice_id=notice.id)
        _store_meeting(meeting, draft, now)
        session.add(meeting)
        session.flush()
        result.created.append(notice.number)
        return
    meeting, notice = row
    unchanged = (
        draft.modified is not None
        and meeting.source_modified is not None
        and draft.modified <= meeting.source_modified
        and draft.cancelled == meeting.cancelled
        and draft.deleted == meeting.deleted
    )
    if unchanged:
        result.unchanged += 1
        return
    is_plain_draft = notice.status == "draft" and not notice.released_versions
    if is_plain_draft and not draft.deleted:
        working = notice.working_version
        assert working is not None
        base = notice_svc.input_from_version(notice, working)
        data, warning = _input(draft, base, tenant, category, now)
        if warning:
            result.warnings.append(f"{draft.title}: {warning}")
        notice_svc.update_draft(session, notice, author, data, now)
        notice.source_flag = _flag_for(draft)
        _store_meeting(meeting, draft, now)
        result.updated.append(notice.number)
        return
    # Submitted, released or deleted at the source: staff decide; the text stays.
    flag = _flag_for(draft) or FLAG_CHANGED
    if is_plain_draft:
        _store_meeting(meeting, draft, now)
    else:
        meeting.source_modified = draft.modified
    notice.source_flag = flag
    notice.updated_at = now
    session.flush()
    audit.record(
        session,
        now=now,
        action="notice.oparl_flag",
        object_type="notice",
        object_id=notice.id,
        actor="oparl",
        tenant_id=tenant.id,
        details={"number": notice.number, "flag": flag, "source": draft.source_id},
    )
    result.flagged.append(notice.number)


def sync_source(
    session: Session, source: OParlSource, now: datetime, client: MeetingSource
) -> ImportResult | None:
    """One scheduled run for a tenant's source; errors are stored on the source, and
    the run's own changes are rolled back (savepoint)."""
    source.last_run_at = now
    try:
        with session.begin_nested():
            result = import_meetings(
                session,
                tenant=source.tenant,
                category=source.category,
                author=source.author,
                url=source.url,
                now=now,
                client=client,
                modified_since=source.synced_until,
            )
    except (OParlError, ValidationFailed) as exc:
        source.last_error = str(getattr(exc, "message", None) or exc)[:2000]
        log.warning("oparl event=sync-failed source=%s error=%s", source.id, source.last_error)
        return None
    source.synced_until = now
    source.last_error = ""
    return result


def sync_active_sources(session: Session, now: datetime, client: MeetingSource) -> int:
    """One scheduled run over every active source; returns how many synced."""
    sources = session.scalars(select(OParlSource).where(OParlSource.active)).all()
    return sum(sync_source(session, source, now, client) is not None for source in sources)
