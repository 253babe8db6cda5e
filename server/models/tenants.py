"""Tenants (Kommunen), their publication forms and categories, and people."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import Model, db
from .types import UTCDateTime

ROLES = ("editor", "approver", "alerter", "admin")
ROLE_LABELS = {
    "editor": "Redaktion",
    "approver": "Freigabe",
    "alerter": "Bevölkerungsschutz",
    "admin": "Mandanten-Administration",
}
CHANNEL_KINDS = ("internet", "board", "amtsblatt", "newspaper")
CHANNEL_KIND_LABELS = {
    "internet": "Internet (Bereitstellung)",
    "board": "Aushang (Bekanntmachungstafel, auch digital)",
    "amtsblatt": "Amtsblatt",
    "newspaper": "Zeitung",
}


class Tenant(Model):
    __tablename__ = "tenant"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    ars: Mapped[str] = mapped_column(String(12))
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Berlin")
    website_url: Mapped[str] = mapped_column(String(500), default="")
    contact_email: Mapped[str] = mapped_column(String(200), default="")
    contact_phone: Mapped[str] = mapped_column(String(100), default="")
    address: Mapped[str] = mapped_column(Text, default="")
    hauptsatzung_ref: Mapped[str] = mapped_column(String(300), default="")
    # Where the "nachrichtlicher Hinweis" (L13) goes when the Internet is binding.
    hint_channel_id: Mapped[int | None] = mapped_column(
        ForeignKey("publication_channel.id", use_alter=True, ondelete="SET NULL")
    )
    hint_due_days: Mapped[int] = mapped_column(Integer, default=3)
    accessibility_statement: Mapped[str] = mapped_column(Text, default="")
    # W10: a manual warning issued by one person waits until a second person confirms it.
    alerts_need_confirmation: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    channels: Mapped[list[PublicationChannel]] = relationship(
        back_populates="tenant",
        foreign_keys="PublicationChannel.tenant_id",
        order_by="PublicationChannel.id",
        cascade="all, delete-orphan",
    )
    categories: Mapped[list[Category]] = relationship(
        back_populates="tenant", order_by="Category.name", cascade="all, delete-orphan"
    )
    hint_channel: Mapped[PublicationChannel | None] = relationship(foreign_keys=[hint_channel_id])


class PublicationChannel(Model):
    """One publication form laid down in the Hauptsatzung (L1)."""

    __tablename__ = "publication_channel"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    # URL for internet, place for boards, title for Amtsblatt/newspaper.
    location: Mapped[str] = mapped_column(String(500), default="")

    tenant: Mapped[Tenant] = relationship(back_populates="channels", foreign_keys=[tenant_id])

    @property
    def kind_label(self) -> str:
        return CHANNEL_KIND_LABELS.get(self.kind, self.kind)


category_binding_channel = Table(
    "category_binding_channel",
    db.metadata,
    Column("category_id", ForeignKey("category.id", ondelete="CASCADE"), primary_key=True),
    Column(
        "channel_id", ForeignKey("publication_channel.id", ondelete="CASCADE"), primary_key=True
    ),
)


class Category(Model):
    __tablename__ = "category"
    __table_args__ = (UniqueConstraint("tenant_id", "slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(64))
    # Minimum Aushangfrist in days, counted without the day of posting and of removal (L11).
    min_days: Mapped[int] = mapped_column(Integer, default=7)
    description: Mapped[str] = mapped_column(Text, default="")

    tenant: Mapped[Tenant] = relationship(back_populates="categories")
    binding_channels: Mapped[list[PublicationChannel]] = relationship(
        secondary=category_binding_channel, order_by="PublicationChannel.id"
    )


class User(UserMixin, Model):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(200), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(300))
    is_system_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Bumped on password change so other sessions of the user end.
    session_epoch: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Set when someone else chose the password (an admin reset): changed at next login.
    password_must_change: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    # Staff mail kinds this user turned off, comma-separated (issue 18).
    mail_opt_out: Mapped[str] = mapped_column(String(500), default="", server_default="")

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.active

    def get_id(self) -> str:  # Flask-Login: the epoch invalidates old sessions
        return f"{self.id}:{self.session_epoch}"

    def roles_in(self, tenant_id: int) -> set[str]:
        return {m.role for m in self.memberships if m.tenant_id == tenant_id}

    def tenant_ids(self) -> set[int]:
        return {m.tenant_id for m in self.memberships}


class Membership(Model):
    __tablename__ = "membership"
    __table_args__ = (UniqueConstraint("user_id", "tenant_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(20))

    user: Mapped[User] = relationship(back_populates="memberships")
    tenant: Mapped[Tenant] = relationship()
