"""The push outbox (issue 15): what displays must learn, written in the transaction of
the change, and the per-channel message counters of the publisher."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import Model
from .types import UTCDateTime


class PushOutbox(Model):
    """One row per changed scope and transaction ("tenant:<id>", "alerts"). The publisher
    sends unsent rows in id order and sets ``sent_at``; a crash between the commit of the
    change and the publish leaves the row unsent, so it goes out after a restart."""

    __tablename__ = "push_outbox"
    __table_args__ = (Index("ix_push_outbox_unsent", "sent_at", "id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    scope: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class PushChannel(Model):
    """The last message number per channel: ids increase by one per message, so a player
    that sees a gap knows it missed something and fetches the snapshot."""

    __tablename__ = "push_channel"

    channel: Mapped[str] = mapped_column(String(80), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)
