"""Warnings (issue 6): alert records, the raw document archive, API tokens, feed health,
and which tenant may warn whose displays.

The CAP message itself lives in :class:`AlertDocument` exactly as received or generated
(W14); :class:`AlertRecord` holds the CAP header fields for queries plus what we derive:
Warnstufe, display behaviour (W8), targets (W4) and lifecycle state (W6).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import Model
from .tenants import Tenant, User
from .types import UTCDateTime

ALERT_ORIGINS = ("manual", "api", "nina")
ALERT_ORIGIN_LABELS = {
    "manual": "Manuell ausgelöst",
    "api": "Leitstelle (Schnittstelle)",
    "nina": "NINA (BBK)",
}
API_SCOPES = ("alerts",)
# Archived documents that never become a record's current message: the same message
# delivered again, and an older version that arrived after a newer one (W6).
SIDE_DOCUMENTS = frozenset({"duplicate", "out_of_order"})


class AlertRecord(Model):
    """One CAP message (Alert, Update or Cancel) and where it stands."""

    __tablename__ = "alert"
    __table_args__ = (UniqueConstraint("feed_key", "identifier"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Local alerts (manual, API) have no feed; NINA alerts are per Kreis dashboard, and
    # the same NINA warning on two dashboards is two records (each feed has its lifecycle).
    feed_key: Mapped[str] = mapped_column(String(12), default="", index=True)
    identifier: Mapped[str] = mapped_column(String(300), index=True)
    sender: Mapped[str] = mapped_column(String(300))
    sent: Mapped[datetime] = mapped_column(UTCDateTime)
    # The sent time as written in the message: references must quote it unchanged.
    sent_text: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20))
    msg_type: Mapped[str] = mapped_column(String(20))
    scope: Mapped[str] = mapped_column(String(20))
    references: Mapped[str] = mapped_column(Text, default="")
    origin: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(20))

    event: Mapped[str] = mapped_column(String(300), default="")
    headline: Mapped[str] = mapped_column(Text, default="")
    severity: Mapped[str] = mapped_column(String(20), default="Unknown")
    urgency: Mapped[str] = mapped_column(String(20), default="Unknown")
    certainty: Mapped[str] = mapped_column(String(20), default="Unknown")
    sender_name: Mapped[str] = mapped_column(String(300), default="")
    onset: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires: Mapped[datetime | None] = mapped_column(UTCDateTime)

    warnstufe: Mapped[int] = mapped_column(Integer, default=3)
    behaviour: Mapped[str] = mapped_column(String(20))
    phase: Mapped[str] = mapped_column(String(20), index=True)
    all_clear_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str | None] = mapped_column(String(40))
    replaced_by_id: Mapped[int | None] = mapped_column(ForeignKey("alert.id", ondelete="SET NULL"))
    missing_polls: Mapped[int] = mapped_column(Integer, default=0)
    # NINA's payload version (W6 order: sent, then version); None for local messages.
    nina_version: Mapped[int | None] = mapped_column(Integer)
    # Area codes the message names (comma-separated 12-digit ARS), for relevance.
    target_ars: Mapped[str] = mapped_column(Text, default="")
    # Equal for the same warning delivered several times (W5).
    dedup_key: Mapped[str] = mapped_column(String(120), default="")

    issuer_tenant_id: Mapped[int | None] = mapped_column(
        ForeignKey("tenant.id", ondelete="SET NULL"), index=True
    )
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    api_token_id: Mapped[int | None] = mapped_column(
        ForeignKey("api_token.id", ondelete="SET NULL")
    )
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)

    issuer_tenant: Mapped[Tenant | None] = relationship(foreign_keys=[issuer_tenant_id])
    created_by: Mapped[User | None] = relationship()
    replaced_by: Mapped[AlertRecord | None] = relationship(remote_side=[id])
    targets: Mapped[list[AlertTarget]] = relationship(
        back_populates="alert", cascade="all, delete-orphan"
    )
    documents: Mapped[list[AlertDocument]] = relationship(
        back_populates="alert", order_by="AlertDocument.id"
    )

    @property
    def showing(self) -> bool:
        return self.phase in ("active", "all_clear")

    @property
    def target_ars_list(self) -> list[str]:
        return [c for c in self.target_ars.split(",") if c]

    @property
    def document(self) -> AlertDocument | None:
        """The current version of the message as received or generated."""
        current = [d for d in self.documents if d.direction not in SIDE_DOCUMENTS]
        return current[-1] if current else None


class AlertTarget(Model):
    """A tenant whose displays a message is meant for (manual and API alerts)."""

    __tablename__ = "alert_target"

    alert_id: Mapped[int] = mapped_column(
        ForeignKey("alert.id", ondelete="CASCADE"), primary_key=True
    )
    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("tenant.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    # Which key of W4 made the message relevant for this tenant, e.g. "warncell:815003000",
    # "ars:150030000000", "geometry", "area_text:Harz", "token" (no area: the sender's own).
    matched_by: Mapped[str] = mapped_column(String(120), default="", server_default="")

    alert: Mapped[AlertRecord] = relationship(back_populates="targets")
    tenant: Mapped[Tenant] = relationship()


class TenantArea(Model):
    """A tenant's territory as GeoJSON (Polygon/MultiPolygon), for geometry relevance (W4).

    Imported by a tenant admin; stored as the validated, normalised GeoJSON geometry.
    """

    __tablename__ = "tenant_area"

    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("tenant.id", ondelete="CASCADE"), primary_key=True
    )
    geojson: Mapped[str] = mapped_column(Text)
    source_name: Mapped[str] = mapped_column(String(300), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )

    tenant: Mapped[Tenant] = relationship()


class AlertDocument(Model):
    """Raw archive (W14): every received NINA JSON / CAP XML and every generated CAP
    document, byte for byte, with its receipt time. Never updated, never deleted."""

    __tablename__ = "alert_document"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    alert_id: Mapped[int | None] = mapped_column(
        ForeignKey("alert.id", ondelete="SET NULL"), index=True
    )
    # received | generated | duplicate (the same message delivered again) |
    # out_of_order (older than the stored version: kept, not applied)
    direction: Mapped[str] = mapped_column(String(20))
    media_type: Mapped[str] = mapped_column(String(60))  # application/cap+xml | application/json
    origin: Mapped[str] = mapped_column(String(20))
    origin_ref: Mapped[str] = mapped_column(String(500), default="")  # URL or token name
    content: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)

    alert: Mapped[AlertRecord | None] = relationship(back_populates="documents")


class ApiToken(Model):
    """A bearer token for a control centre; only its SHA-256 is stored."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[str] = mapped_column(String(200), default="alerts")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    tenant: Mapped[Tenant] = relationship()

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes.split()


class AlertFeed(Model):
    """One NINA dashboard we poll: conditional-request validators and health (W2, W3)."""

    __tablename__ = "alert_feed"

    key: Mapped[str] = mapped_column(String(12), primary_key=True)
    etag: Mapped[str | None] = mapped_column(String(300))
    last_modified: Mapped[str | None] = mapped_column(String(100))
    # JSON: {"present": {id: [version, hash]}, "seen": {...}}
    entries_json: Mapped[str] = mapped_column(Text, default="{}")
    watching_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    stale_notified: Mapped[bool] = mapped_column(Boolean, default=False)


class AlertPermission(Model):
    """``tenant`` allows ``grantee`` (e.g. its Landkreis) to warn its displays."""

    __tablename__ = "alert_permission"

    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("tenant.id", ondelete="CASCADE"), primary_key=True
    )
    grantee_tenant_id: Mapped[int] = mapped_column(
        ForeignKey("tenant.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    tenant: Mapped[Tenant] = relationship(foreign_keys=[tenant_id])
    grantee: Mapped[Tenant] = relationship(foreign_keys=[grantee_tenant_id])
