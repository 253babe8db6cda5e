"""Server-side login sessions and the shared rate-limit log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import Model
from .types import UTCDateTime


class LoginSession(Model):
    """One signed-in browser. The cookie carries a random token, the row its SHA-256:
    deleting the row (logout) makes a copied cookie worthless at once."""

    __tablename__ = "login_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LimitEvent(Model):
    """One counted attempt (a failed login, a refused pairing code, an enrolment) of
    one key in one scope. Kept in the database so that every worker process and every
    host sees the same counts. ``key`` is an HMAC of the client address and/or account,
    so the table holds no addresses in the clear."""

    __tablename__ = "limit_event"
    __table_args__ = (
        Index("ix_limit_event_scope_key_at", "scope", "key", "at"),
        Index("ix_limit_event_scope_at", "scope", "at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    scope: Mapped[str] = mapped_column(String(30))
    key: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
