"""What evidence needs from the past (issue 17): a display's flags as they were, the
server's own availability, outages of the Internet channel and extensions of a
posting window after an outage."""

from __future__ import annotations

import json
from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import Model
from .tenants import User
from .types import UTCDateTime


class DisplayState(Model):
    """A display's evidence-relevant settings from ``valid_from`` until the next row.

    Written whenever the legal-board flag, the test flag or the content selection
    change (server.services.display_history), so that an Aushangvermerk reports what a
    display was at the time, never what it is today."""

    __tablename__ = "display_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    display_id: Mapped[int] = mapped_column(
        ForeignKey("display.id", ondelete="CASCADE"), index=True
    )
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    location: Mapped[str] = mapped_column(String(300), default="")
    legal_board: Mapped[bool] = mapped_column(Boolean, default=False)
    test_display: Mapped[bool] = mapped_column(Boolean, default=False)
    all_categories: Mapped[bool] = mapped_column(Boolean, default=True)
    # JSON list of category ids (when not all categories).
    category_ids: Mapped[str] = mapped_column(Text, default="[]")

    @property
    def categories(self) -> set[int]:
        return {int(i) for i in json.loads(self.category_ids or "[]")}


class ServerHeartbeat(Model):
    """One row per minute in which the server's scheduler ran (issue 17, build 2)."""

    __tablename__ = "server_heartbeat"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, unique=True, index=True)


class InternetOutage(Model):
    """A gap in the server's own availability during the Aushangfrist of notices: the
    Internet publication was not reachable (or not provably so) in that time."""

    __tablename__ = "internet_outage"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ended_at: Mapped[datetime] = mapped_column(UTCDateTime)
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Comma-separated numbers of the tenant's notices in Aushang during the gap.
    notices: Mapped[str] = mapped_column(Text, default="")
    decision: Mapped[str | None] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )

    decided_by: Mapped[User | None] = relationship()

    @property
    def notice_numbers(self) -> list[str]:
        return [n for n in self.notices.split(",") if n]


class NoticeExtension(Model):
    """A recorded extension of a released notice's posting window (D2): not a content
    change, so no new version and no new hash; the released ``posting_end`` stays as
    signed, the window's end moves to ``new_end``."""

    __tablename__ = "notice_extension"

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notice.id", ondelete="CASCADE"), index=True)
    previous_end: Mapped[date] = mapped_column(Date)
    new_end: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text, default="")
    # Which outage made it necessary: "display:<id>" or "internet:<id>" (or "").
    outage_ref: Mapped[str] = mapped_column(String(100), default="")
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    created_by: Mapped[User | None] = relationship()
