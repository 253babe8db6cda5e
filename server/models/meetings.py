"""Council meetings behind Sitzungsbekanntmachungen, and OParl import sources (L21)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import Model
from .notices import Notice
from .tenants import Category, Tenant, User
from .types import UTCDateTime


class NoticeMeeting(Model):
    """Date, place and state of the meeting a notice announces (for iCalendar and the
    OParl re-import). Written by the import for drafts only; a released notice changes
    through a correction."""

    __tablename__ = "notice_meeting"

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(
        ForeignKey("notice.id", ondelete="CASCADE"), unique=True, index=True
    )
    # OParl Meeting id (a URL); empty for meetings entered by hand.
    source_url: Mapped[str] = mapped_column(String(1000), default="", index=True)
    title: Mapped[str] = mapped_column(String(300), default="")
    organization: Mapped[str] = mapped_column(String(300), default="")
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    place: Mapped[str] = mapped_column(Text, default="")
    invitation_url: Mapped[str] = mapped_column(String(1000), default="")
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    source_modified: Mapped[datetime | None] = mapped_column(UTCDateTime)
    imported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    notice: Mapped[Notice] = relationship()


class OParlSource(Model):
    """A tenant's council information system, polled by the scheduler."""

    __tablename__ = "oparl_source"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), index=True)
    # A meeting list, Body or System URL of the OParl endpoint.
    url: Mapped[str] = mapped_column(String(1000))
    category_id: Mapped[int] = mapped_column(ForeignKey("category.id"))
    # The staff account the drafts are created under (an editor); releasing them needs
    # somebody else (four eyes).
    author_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The next run asks for objects modified since this instant.
    synced_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(Text, default="")

    tenant: Mapped[Tenant] = relationship()
    category: Mapped[Category] = relationship()
    author: Mapped[User] = relationship()
