"""Messages to people (issue 18): the outbox, citizens' subscriptions, staff invitations.

Nothing here is sent directly by a request: a request (or job) writes an
:class:`OutboxMessage` in its own transaction, and the sender job delivers it, with
retries, afterwards. A row is deleted only once delivered (or found undeliverable by
design, e.g. a password reset for an address without account: ``skipped``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import Model
from .tenants import Tenant
from .types import UTCDateTime

OUTBOX_STATUSES = ("pending", "sent", "skipped", "failed")
SUBSCRIPTION_MODES = ("immediate", "digest")


class OutboxMessage(Model):
    """One message to hand over: ``channel`` ``mail`` (one address), ``push`` (one
    push subscription) or ``fanout`` (one event to every subscriber of a tenant,
    expanded by the sender job so the event's transaction stays small)."""

    __tablename__ = "outbox_message"
    __table_args__ = (Index("ix_outbox_message_status_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(10))
    kind: Mapped[str] = mapped_column(String(40))
    recipient: Mapped[str] = mapped_column(String(320), default="")
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"))
    payload: Mapped[str] = mapped_column(Text, default="{}")
    # Events that must be told once (a hint overdue, a warning) carry a key.
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(Text, default="")
    message_id: Mapped[str] = mapped_column(String(200), default="")


class EmailSubscription(Model):
    """A citizen's confirmed e-mail subscription: only the address and the choice."""

    __tablename__ = "email_subscription"
    __table_args__ = (
        Index("uq_email_subscription_tenant_email", "tenant_id", "email", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(320))
    # Category ids, comma-separated; empty with ``notices`` = all categories.
    categories: Mapped[str] = mapped_column(String(500), default="")
    notices: Mapped[bool] = mapped_column(Boolean, default=True)
    warnings: Mapped[bool] = mapped_column(Boolean, default=False)
    mode: Mapped[str] = mapped_column(String(10), default="immediate")
    confirmed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    digest_sent_until: Mapped[datetime | None] = mapped_column(UTCDateTime)

    tenant: Mapped[Tenant] = relationship()

    def category_ids(self) -> set[int]:
        return {int(c) for c in self.categories.split(",") if c.strip().isdigit()}


class PushSubscription(Model):
    """A browser's Web Push subscription (RFC 8030) for one tenant."""

    __tablename__ = "push_subscription"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), index=True)
    endpoint: Mapped[str] = mapped_column(String(1000), unique=True)
    p256dh: Mapped[str] = mapped_column(String(200))
    auth: Mapped[str] = mapped_column(String(100))
    warnings: Mapped[bool] = mapped_column(Boolean, default=True)
    notices: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class StaffInvitation(Model):
    """A tenant admin invited an address with roles; the roles become a membership
    only when the link in the mail is used (new account or existing one alike)."""

    __tablename__ = "staff_invitation"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(200))
    roles: Mapped[str] = mapped_column(String(200))
    invited_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    tenant: Mapped[Tenant] = relationship()

    def role_list(self) -> list[str]:
        return [r for r in self.roles.split(",") if r]


class InstallationKey(Model):
    """Keys made once per installation and shared by all hosts (the VAPID key pair)."""

    __tablename__ = "installation_key"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
