"""Displays (issue 4): screens, their groups and content, enrolment, and the evidence
they leave (heartbeats, proof of play, outages, warning deliveries).

Heartbeats and play events are append-only (D1); an outage is one row per gap with the
staff decision (D2). Tokens are stored as SHA-256 only (D6).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import Model, db
from .alerts import AlertRecord
from .tenants import Category, Tenant, User
from .types import UTCDateTime

ORIENTATIONS = ("landscape", "portrait")
ORIENTATION_LABELS = {"landscape": "Querformat", "portrait": "Hochformat"}
CONTENT_KINDS = ("image", "page")
CONTENT_KIND_LABELS = {"image": "Bild", "page": "Infoseite (Text)"}
OUTAGE_DECISIONS = ("extend", "irrelevant")
OUTAGE_DECISION_LABELS = {
    "extend": "Aushang wird verlängert",
    "irrelevant": "Unerheblich",
}
_BIG_ID = BigInteger().with_variant(Integer, "sqlite")

display_group_member = Table(
    "display_group_member",
    db.metadata,
    Column("display_id", ForeignKey("display.id", ondelete="CASCADE"), primary_key=True),
    Column("group_id", ForeignKey("display_group.id", ondelete="CASCADE"), primary_key=True),
)

display_category = Table(
    "display_category",
    db.metadata,
    Column("display_id", ForeignKey("display.id", ondelete="CASCADE"), primary_key=True),
    Column("category_id", ForeignKey("category.id", ondelete="CASCADE"), primary_key=True),
)


class DisplayGroup(Model):
    __tablename__ = "display_group"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    tenant: Mapped[Tenant] = relationship()
    displays: Mapped[list[Display]] = relationship(
        secondary=display_group_member, back_populates="groups", order_by="Display.name"
    )


class Display(Model):
    __tablename__ = "display"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    location: Mapped[str] = mapped_column(String(300), default="")
    orientation: Mapped[str] = mapped_column(String(20), default="landscape")
    resolution_w: Mapped[int] = mapped_column(Integer, default=1920)
    resolution_h: Mapped[int] = mapped_column(Integer, default=1080)
    # Amtlicher Regionalschlüssel of the place (12 digits); empty = the tenant's.
    ars: Mapped[str] = mapped_column(String(12), default="")
    legal_board: Mapped[bool] = mapped_column(Boolean, default=False)  # D3
    test_display: Mapped[bool] = mapped_column(Boolean, default=False)  # W7
    # Content selection: all notices of the tenant, or only the chosen categories.
    all_categories: Mapped[bool] = mapped_column(Boolean, default=True)
    notice_duration_s: Mapped[int] = mapped_column(Integer, default=15)
    # Pages of one notice per cycle (issue 16): the next ones follow in the next cycle,
    # all of them are reachable by the QR code at once. 0 = every page in every cycle.
    max_pages: Mapped[int] = mapped_column(Integer, default=3, server_default="3")
    cycle_limit_s: Mapped[int] = mapped_column(Integer, default=300)
    # Screen hours as the contract's JSON list (PLAYER_CONTRACT "screen").
    screen_schedule: Mapped[str] = mapped_column(Text, default="[]")
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    enrolled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    hostname: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # What the last heartbeat said (the rows in display_heartbeat are the evidence).
    last_seen: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    player_version: Mapped[str] = mapped_column(String(50), default="")
    uptime_s: Mapped[float | None] = mapped_column(Float)
    current_item: Mapped[str | None] = mapped_column(String(100))
    clock_skew_s: Mapped[float | None] = mapped_column(Float)
    free_disk_bytes: Mapped[int | None] = mapped_column(BigInteger)
    screen_state: Mapped[str | None] = mapped_column(Text)  # JSON of the heartbeat's screen
    last_error: Mapped[str | None] = mapped_column(Text)  # JSON of the heartbeat's last_error
    manifest_etag: Mapped[str | None] = mapped_column(String(200))
    # Set the first time the player claimed content the server never sent it (a forged
    # or foreign heartbeat, play event or acknowledgement); staff clear it.
    suspicious_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    suspicious_reason: Mapped[str | None] = mapped_column(Text)
    # Hash of the device identity the player keeps across reboots (issue 16): re-enrolment
    # with it returns this display, so its evidence stays on one record.
    device_key_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # außer Betrieb

    tenant: Mapped[Tenant] = relationship()
    groups: Mapped[list[DisplayGroup]] = relationship(
        secondary=display_group_member, back_populates="displays", order_by="DisplayGroup.name"
    )
    categories: Mapped[list[Category]] = relationship(
        secondary=display_category, order_by="Category.name"
    )

    @property
    def enrolled(self) -> bool:
        return self.token_hash is not None and self.revoked_at is None

    @property
    def place_ars(self) -> str:
        return self.ars or self.tenant.ars


class ContentItem(Model):
    """Other content a municipality mixes in: an image, or an info page (opening hours,
    a short notice), for all displays of the tenant, one group or one display."""

    __tablename__ = "display_content"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), index=True)
    display_id: Mapped[int | None] = mapped_column(
        ForeignKey("display.id", ondelete="CASCADE"), index=True
    )
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("display_group.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    image_sha256: Mapped[str | None] = mapped_column(String(64))
    image_media_type: Mapped[str | None] = mapped_column(String(100))
    image_size: Mapped[int | None] = mapped_column(BigInteger)
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime)
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    position: Mapped[int] = mapped_column(Integer, default=100)
    duration_s: Mapped[int] = mapped_column(Integer, default=10)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    display: Mapped[Display | None] = relationship()
    group: Mapped[DisplayGroup | None] = relationship()


class PairingRequest(Model):
    """A code shown on a new player's screen; only the player knows the claim secret."""

    __tablename__ = "display_pairing"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), index=True)
    claim_secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    player_version: Mapped[str] = mapped_column(String(50), default="")
    hostname: Mapped[str] = mapped_column(String(200), default="")
    remote_addr: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    display_id: Mapped[int | None] = mapped_column(ForeignKey("display.id", ondelete="CASCADE"))
    paired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paired_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    collected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    device_key_hash: Mapped[str | None] = mapped_column(String(64))
    # A device with a new identity enrolled by provisioning key under the hostname of an
    # existing display: staff decide "Gerät tauschen" or a new display (issue 16).
    candidate_display_id: Mapped[int | None] = mapped_column(
        ForeignKey("display.id", ondelete="CASCADE"), index=True
    )
    provisioning_token_id: Mapped[int | None] = mapped_column(
        ForeignKey("display_provisioning_token.id", ondelete="SET NULL")
    )

    display: Mapped[Display | None] = relationship(foreign_keys=[display_id])
    candidate_display: Mapped[Display | None] = relationship(foreign_keys=[candidate_display_id])
    provisioning_token: Mapped[ProvisioningToken | None] = relationship()
    paired_by: Mapped[User | None] = relationship()


class ProvisioningToken(Model):
    """Enrols players without a screen (roll-out of many players); revocable."""

    __tablename__ = "display_provisioning_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("display_group.id", ondelete="SET NULL")
    )
    max_uses: Mapped[int | None] = mapped_column(Integer)
    uses: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    tenant: Mapped[Tenant] = relationship()
    group: Mapped[DisplayGroup | None] = relationship()


class Heartbeat(Model):
    """One heartbeat as received (D1); never updated."""

    __tablename__ = "display_heartbeat"

    id: Mapped[int] = mapped_column(_BIG_ID, primary_key=True)
    display_id: Mapped[int] = mapped_column(
        ForeignKey("display.id", ondelete="CASCADE"), index=True
    )
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    player_version: Mapped[str] = mapped_column(String(50), default="")
    uptime_s: Mapped[float | None] = mapped_column(Float)
    clock_skew_s: Mapped[float | None] = mapped_column(Float)
    current_item: Mapped[str | None] = mapped_column(String(100))
    manifest_etag: Mapped[str | None] = mapped_column(String(200))
    payload: Mapped[str] = mapped_column(Text)  # the body as received, canonical JSON


class PlayEvent(Model):
    """Proof of play or a player error (D1); idempotent by the player's event UUID."""

    __tablename__ = "display_play_event"

    id: Mapped[int] = mapped_column(_BIG_ID, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    display_id: Mapped[int] = mapped_column(
        ForeignKey("display.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(10))  # play | error
    item_id: Mapped[str | None] = mapped_column(String(100))
    notice_id: Mapped[int | None] = mapped_column(Integer, index=True)
    version_hash: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    code: Mapped[str | None] = mapped_column(String(100))
    message: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SentItem(Model):
    """What the server sent one display: a notice version or a warning, from the first
    manifest answer that carried it until the first one that no longer did (open while
    the display has not fetched a newer manifest). Heartbeats, proof of play and
    acknowledgements count only for what is recorded here (or in the current manifest)."""

    __tablename__ = "display_sent"

    id: Mapped[int] = mapped_column(_BIG_ID, primary_key=True)
    display_id: Mapped[int] = mapped_column(ForeignKey("display.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(10))  # notice | alert
    ref_id: Mapped[int] = mapped_column(BigInteger)  # notice id or alert id
    version: Mapped[int | None] = mapped_column(Integer)  # notice version number
    version_hash: Mapped[str | None] = mapped_column(String(64))
    sent_from: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_until: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_display_sent_lookup", "display_id", "kind", "ref_id"),)


class Outage(Model):
    """A heartbeat gap on a display that carried a notice in Aushang (D2)."""

    __tablename__ = "display_outage"

    id: Mapped[int] = mapped_column(primary_key=True)
    display_id: Mapped[int] = mapped_column(
        ForeignKey("display.id", ondelete="CASCADE"), index=True
    )
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Notice numbers in Aushang on this display when the gap was detected.
    notices: Mapped[str] = mapped_column(Text, default="")
    decision: Mapped[str | None] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )

    display: Mapped[Display] = relationship()
    decided_by: Mapped[User | None] = relationship()

    @property
    def notice_numbers(self) -> list[str]:
        return [n for n in self.notices.split(",") if n]


class AlertDelivery(Model):
    """Delivery of one warning to one display; the first shown_at counts."""

    __tablename__ = "display_alert_delivery"
    __table_args__ = (UniqueConstraint("display_id", "alert_id"),)

    id: Mapped[int] = mapped_column(_BIG_ID, primary_key=True)
    display_id: Mapped[int] = mapped_column(
        ForeignKey("display.id", ondelete="CASCADE"), index=True
    )
    alert_id: Mapped[int] = mapped_column(ForeignKey("alert.id", ondelete="CASCADE"), index=True)
    delivered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    shown_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Seconds from the alert's receipt by the server to the display drawing it.
    latency_s: Mapped[float | None] = mapped_column(Float)

    display: Mapped[Display] = relationship()
    alert: Mapped[AlertRecord] = relationship()


class DisplayChange(Model):
    """A revision counter per change scope ("tenant:<id>", "alerts"); bumped in the
    transaction that changes what displays show, so every server process can tell
    (LISTEN/NOTIFY, or by reading this table) that its cached manifests are stale."""

    __tablename__ = "display_change"

    scope: Mapped[str] = mapped_column(String(40), primary_key=True)
    revision: Mapped[int] = mapped_column(BigInteger, default=0)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TenantCrest(Model):
    """The Kommune's crest (Wappen) that every display of the tenant shows beside its name
    (issue 16); uploaded by the tenant admin, checked by content, stored by hash."""

    __tablename__ = "display_crest"

    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("tenant.id", ondelete="CASCADE"), primary_key=True
    )
    sha256: Mapped[str] = mapped_column(String(64))
    media_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
