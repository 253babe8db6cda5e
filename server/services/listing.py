"""Read-only queries of the public site: the central index and the archive (L9).

The SQL conditions mirror ``notices.is_public`` so that lists never show what the
notice page would refuse (not yet provided; personal data after its period, L15).
Search is full text with German stemming and umlaut folding on both databases
(server.services.search), ranked, with highlighted snippets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from math import ceil

from markupsafe import Markup
from sqlalchemy import ColumnElement, and_, false, func, or_, select
from sqlalchemy.orm import Session, contains_eager, selectinload

from ..models import Category, Notice, NoticeVersion, Tenant
from . import search


def public_condition(now: datetime) -> ColumnElement[bool]:
    """Notices the public may see at ``now`` (see ``notices.is_public``)."""
    return and_(
        Notice.current_version_id.is_not(None),
        Notice.provided_at.is_not(None),
        Notice.provided_at <= now,
        or_(
            Notice.contains_personal_data == false(),
            and_(Notice.status == "released", Notice.ends_at > now),
        ),
    )


def in_aushang_condition(now: datetime) -> ColumnElement[bool]:
    return and_(
        Notice.status == "released",
        Notice.starts_at <= now,
        Notice.ends_at > now,
        public_condition(now),
    )


def _base(tenant: Tenant):
    return (
        select(Notice)
        .join(NoticeVersion, NoticeVersion.id == Notice.current_version_id)
        .options(
            contains_eager(Notice.current_version),
            selectinload(Notice.category),
        )
        .where(Notice.tenant_id == tenant.id)
    )


def in_aushang(
    session: Session, tenant: Tenant, now: datetime, category: Category | None = None
) -> list[Notice]:
    """Every notice of the tenant in Aushang at ``now``, newest window first."""
    stmt = _base(tenant).where(in_aushang_condition(now))
    if category is not None:
        stmt = stmt.where(Notice.category_id == category.id)
    stmt = stmt.order_by(Notice.starts_at.desc(), Notice.number.desc())
    return list(session.scalars(stmt).unique())


@dataclass
class ArchivePage:
    items: list[Notice]
    total: int
    page: int
    per_page: int
    snippets: dict[int, Markup] = field(default_factory=dict)

    @property
    def pages(self) -> int:
        return max(1, ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def search_archive(
    session: Session,
    tenant: Tenant,
    now: datetime,
    *,
    query: str = "",
    category: Category | None = None,
    provided_from: date | None = None,
    provided_to: date | None = None,
    page: int = 1,
    per_page: int = 20,
) -> ArchivePage:
    """Every public notice (in Aushang, ended, withdrawn) matching the filters.

    Every word of ``query`` must match (by stem, or as a word's beginning) in the
    title, summary, text, Aktenzeichen or a PDF attachment's text, or the query is
    part of the Aktenzeichen; best matches first. Dates filter the
    Bereitstellungstag, both inclusive.
    """
    parsed = search.parse(query)
    stmt = _base(tenant).where(public_condition(now), search.condition(session, parsed))
    if category is not None:
        stmt = stmt.where(Notice.category_id == category.id)
    if provided_from is not None:
        stmt = stmt.where(Notice.provided_on >= provided_from)
    if provided_to is not None:
        stmt = stmt.where(Notice.provided_on <= provided_to)
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    pages = max(1, ceil(total / per_page))
    page = min(max(page, 1), pages)
    newest = (Notice.provided_at.desc(), Notice.number.desc())
    rank = search.rank(session, parsed)
    if parsed.empty or rank is not None:
        order = (rank.desc(), *newest) if rank is not None else newest
        items = list(
            session.scalars(
                stmt.order_by(*order).limit(per_page).offset((page - 1) * per_page)
            ).unique()
        )
    else:
        # SQLite: rank the matches in Python (a municipality's archive, not the web).
        ranked = sorted(
            session.scalars(stmt.order_by(*newest)).unique(),
            key=lambda n: search.python_score(n, parsed),
            reverse=True,
        )
        items = ranked[(page - 1) * per_page : page * per_page]
    snippets = {n.id: s for n in items if (s := search.snippet(n, parsed)) is not None}
    return ArchivePage(items=items, total=total, page=page, per_page=per_page, snippets=snippets)


def notice_path(tenant_slug: str, number: str, version: int | None = None) -> str:
    """The stable public path of a notice (or of one of its versions), also usable
    without a request (PDFs, archive export, Aushangvermerk)."""
    path = f"/{tenant_slug}/bekanntmachungen/{number}"
    return f"{path}/v{version}" if version is not None else path


def file_path(tenant_slug: str, sha256: str, filename: str) -> str:
    """The public path of an attachment: addressed by its SHA-256 under its tenant."""
    from urllib.parse import quote

    return f"/{tenant_slug}/dateien/{sha256}/{quote(filename)}"
