"""Notices (amtliche Bekanntmachungen), their immutable versions and attachments."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import Model
from .history import NoticeExtension
from .tenants import Category, Tenant, User
from .types import UTCDateTime

# Stored publication status of a notice. Whether a released notice is scheduled, in
# Aushang or ended is derived from its window and `now` (server.domain.posting).
NOTICE_STATUSES = ("draft", "submitted", "released", "withdrawn")
VERSION_STATUSES = ("draft", "submitted", "released")


class Notice(Model):
    __tablename__ = "notice"
    __table_args__ = (UniqueConstraint("tenant_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), index=True)
    # Public, stable number within the tenant, e.g. "2026-0007"; part of every URL.
    number: Mapped[str] = mapped_column(String(20))
    category_id: Mapped[int] = mapped_column(ForeignKey("category.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="draft", index=True)
    # Aushangfrist as local dates (tenant time zone), both days inclusive.
    posting_start: Mapped[date | None] = mapped_column(Date)
    posting_end: Mapped[date | None] = mapped_column(Date)
    # The same window as UTC instants: local midnight to the local midnight after the end.
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    # Bereitstellung (L4): first time the notice was online; never changes afterwards.
    provided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    provided_on: Mapped[date | None] = mapped_column(Date)
    contains_personal_data: Mapped[bool] = mapped_column(Boolean, default=False)
    # Withdrawal or early removal (L14): content stays, status says why.
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    withdrawal_kind: Mapped[str | None] = mapped_column(String(20))  # withdrawn | ended_early
    withdrawal_reason: Mapped[str | None] = mapped_column(Text)
    # Nachrichtlicher Hinweis (L13).
    hint_required: Mapped[bool] = mapped_column(Boolean, default=False)
    hint_posted_on: Mapped[date | None] = mapped_column(Date)
    hint_posted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    hint_note: Mapped[str | None] = mapped_column(Text)
    # When the phase job wrote the "in Aushang" and "ended" audit rows (L17).
    start_recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Where the notice came from (manual, oparl:<url>) for imports that update drafts.
    source: Mapped[str] = mapped_column(String(500), default="manual", index=True)
    source_flag: Mapped[str | None] = mapped_column(String(200))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    current_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("notice_version.id", use_alter=True, ondelete="SET NULL")
    )
    # Full-text search over the current released version (server.services.search):
    # the text folded (umlauts, accents), and on SQLite its German word stems.
    search_text: Mapped[str] = mapped_column(Text, default="")
    search_stems: Mapped[str] = mapped_column(Text, default="")

    tenant: Mapped[Tenant] = relationship()
    category: Mapped[Category] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    withdrawn_by: Mapped[User | None] = relationship(foreign_keys=[withdrawn_by_id])
    hint_posted_by: Mapped[User | None] = relationship(foreign_keys=[hint_posted_by_id])
    versions: Mapped[list[NoticeVersion]] = relationship(
        back_populates="notice",
        foreign_keys="NoticeVersion.notice_id",
        order_by="NoticeVersion.number",
        cascade="all, delete-orphan",
    )
    current_version: Mapped[NoticeVersion | None] = relationship(
        foreign_keys=[current_version_id], post_update=True
    )
    extensions: Mapped[list[NoticeExtension]] = relationship(
        order_by="NoticeExtension.id", cascade="all, delete-orphan"
    )

    @property
    def effective_posting_end(self) -> date | None:
        """The last day of Aushang: the released end, or a later recorded extension."""
        return self.extensions[-1].new_end if self.extensions else self.posting_end

    @property
    def released_versions(self) -> list[NoticeVersion]:
        return [v for v in self.versions if v.status == "released"]

    @property
    def working_version(self) -> NoticeVersion | None:
        """The newest version that is not released yet (a draft or a correction)."""
        pending = [v for v in self.versions if v.status != "released"]
        return pending[-1] if pending else None

    @property
    def latest_version(self) -> NoticeVersion:
        return self.versions[-1]


class NoticeVersion(Model):
    """One version of a notice's text; immutable once released (L5)."""

    __tablename__ = "notice_version"
    __table_args__ = (UniqueConstraint("notice_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notice.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="draft")
    title: Mapped[str] = mapped_column(String(300), default="")
    summary: Mapped[str] = mapped_column(Text, default="")
    body_md: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str] = mapped_column(Text, default="")
    issuing_office: Mapped[str] = mapped_column(String(300), default="")
    file_number: Mapped[str] = mapped_column(String(100), default="")
    legal_basis: Mapped[str] = mapped_column(String(500), default="")
    signed_on: Mapped[date | None] = mapped_column(Date)
    signatory_name: Mapped[str] = mapped_column(String(200), default="")
    signatory_function: Mapped[str] = mapped_column(String(200), default="")
    corrects_version_id: Mapped[int | None] = mapped_column(ForeignKey("notice_version.id"))
    correction_note: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    released_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    release_comment: Mapped[str] = mapped_column(Text, default="")
    # SHA-256 of the canonical text (server.domain.integrity), set at release (L6).
    content_hash: Mapped[str | None] = mapped_column(String(64))
    # Print PDF rendered once at release and kept content-addressed (sha256 of the bytes).
    pdf_sha256: Mapped[str | None] = mapped_column(String(64))
    pdf_size: Mapped[int | None] = mapped_column(BigInteger)

    notice: Mapped[Notice] = relationship(back_populates="versions", foreign_keys=[notice_id])
    corrects_version: Mapped[NoticeVersion | None] = relationship(remote_side=[id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    submitted_by: Mapped[User | None] = relationship(foreign_keys=[submitted_by_id])
    released_by: Mapped[User | None] = relationship(foreign_keys=[released_by_id])
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="version", order_by="Attachment.position", cascade="all, delete-orphan"
    )
    editors: Mapped[list[VersionEditor]] = relationship(
        back_populates="version",
        order_by="VersionEditor.id",
        cascade="all, delete-orphan",
    )

    @property
    def is_released(self) -> bool:
        return self.status == "released"

    @property
    def editor_ids(self) -> set[int]:
        """Everyone who changed this version's content (four eyes, L3). Creator and
        submitter count even where no editor row exists (rows from before 0009)."""
        ids = {e.user_id for e in self.editors}
        ids.update(i for i in (self.created_by_id, self.submitted_by_id) if i is not None)
        return ids

    @property
    def editors_by_person(self) -> list[tuple[User, list[str]]]:
        """(person, kinds in order) for the version history, first change first."""
        out: dict[int, tuple[User, list[str]]] = {}
        for e in self.editors:
            entry = out.setdefault(e.user_id, (e.user, []))
            if e.kind not in entry[1]:
                entry[1].append(e.kind)
        return list(out.values())


# What a person did to a version's content; every kind excludes them from releasing it.
EDITOR_KINDS = ("created", "edited", "submitted")


class VersionEditor(Model):
    """One person who changed one version, by kind of change (four eyes by content)."""

    __tablename__ = "notice_version_editor"
    __table_args__ = (UniqueConstraint("version_id", "user_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("notice_version.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # created | edited | submitted
    first_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime)

    version: Mapped[NoticeVersion] = relationship(back_populates="editors")
    user: Mapped[User] = relationship()


class Attachment(Model):
    """A file attached to one version. The bytes live in the blob store under their
    SHA-256; a correction that keeps a file gets a new row pointing to the same blob."""

    __tablename__ = "attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("notice_version.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)
    filename: Mapped[str] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(String(300), default="")
    media_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    # Text of a PDF attachment, extracted once at upload, for the search.
    text_content: Mapped[str] = mapped_column(Text, default="")

    version: Mapped[NoticeVersion] = relationship(back_populates="attachments")
