"""Warning acknowledgements of the players: who may acknowledge what, stored idempotently."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, case, select
from sqlalchemy.orm import Session

from ...domain.ars import nina_dashboard_key
from ...domain.errors import NotFound
from ...models import (
    AlertDelivery,
    AlertRecord,
    AlertTarget,
)
from .snapshot import DisplaySnapshot
from .wire import parse_utc


@dataclass(frozen=True)
class AlertMeta:
    """What deciding whether a display may acknowledge an alert needs."""

    feed_key: str | None
    received_at: datetime
    target_tenants: frozenset[int]

    def meant_for(self, snap: DisplaySnapshot) -> bool:
        """Could the alert ever have been in this display's manifest? Local alerts
        through the display's tenant being a target, NINA alerts through its Kreis
        dashboard."""
        if self.feed_key:
            ours = {nina_dashboard_key(snap.place_ars), nina_dashboard_key(snap.tenant_ars)}
            return self.feed_key in ours
        return snap.tenant_id in self.target_tenants


def alert_meta(session: Session, alert_id: int) -> AlertMeta | None:
    row = session.execute(
        select(AlertRecord.feed_key, AlertRecord.received_at).where(AlertRecord.id == alert_id)
    ).first()
    if row is None:
        return None
    targets = session.scalars(
        select(AlertTarget.tenant_id).where(AlertTarget.alert_id == alert_id)
    ).all()
    return AlertMeta(row.feed_key, row.received_at, frozenset(targets))


class AlertMetaCache:
    """Alert facts for acknowledgements, kept while no alert changes: after a warning,
    2,000 displays acknowledge the same alert within a second and need one query (the
    first loads, the others wait for it instead of all querying at once)."""

    def __init__(self, limit: int = 10_000) -> None:
        self._entries: dict[int, tuple[int, AlertMeta | None]] = {}
        self._lock = threading.Lock()
        self._loading: dict[int, threading.Lock] = {}
        self.limit = limit

    def get(self, session: Session, alert_id: int) -> AlertMeta | None:
        from ... import notify

        generation = notify.hub.generation(notify.ALERTS)
        entry = self._entries.get(alert_id)
        if entry is not None and entry[0] == generation:
            return entry[1]
        with self._lock:
            loading = self._loading.setdefault(alert_id, threading.Lock())
        with loading:
            generation = notify.hub.generation(notify.ALERTS)
            entry = self._entries.get(alert_id)
            if entry is not None and entry[0] == generation:
                return entry[1]
            meta = alert_meta(session, alert_id)
            if notify.hub.generation(notify.ALERTS) == generation:
                with self._lock:
                    if len(self._entries) >= self.limit:
                        self._entries.clear()
                        self._loading.clear()
                    self._entries[alert_id] = (generation, meta)
            return meta

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._loading.clear()


def ack_row(
    snap: DisplaySnapshot, alert_id: int, meta: AlertMeta | None, body: Any, now: datetime
) -> dict[str, Any]:
    """A validated acknowledgement as a row; NotFound for an alert that was never meant
    for this display (another tenant's, or none)."""
    if meta is None or not meta.meant_for(snap):
        raise NotFound("Diese Warnung gibt es nicht.")
    delivered = parse_utc(body.get("delivered_at"), "delivered_at")
    shown = body.get("shown_at")
    shown_at = parse_utc(shown, "shown_at") if shown is not None else None
    return {
        "display_id": snap.id,
        "alert_id": alert_id,
        "delivered_at": delivered,
        "received_at": now,
        "shown_at": shown_at,
        "latency_s": round((shown_at - meta.received_at).total_seconds(), 3) if shown_at else None,
    }


def store_acks(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Acknowledgements as INSERT … ON CONFLICT: idempotent, the first drawing counts,
    whatever was stored before (one statement for many rows)."""
    merged: dict[tuple[int, int], dict[str, Any]] = {}
    for row in rows:  # the same display and alert twice in one batch: keep the first drawing
        key = (row["display_id"], row["alert_id"])
        if key not in merged or merged[key]["shown_at"] is None:
            merged[key] = row
    table = AlertDelivery.__table__
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as upsert
    else:
        from sqlalchemy.dialects.sqlite import insert as upsert  # type: ignore[assignment]
    stmt = upsert(table)
    first_shown = table.c.shown_at.is_(None)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[table.c.display_id, table.c.alert_id],
            set_={
                "shown_at": case((first_shown, stmt.excluded.shown_at), else_=table.c.shown_at),
                "latency_s": case((first_shown, stmt.excluded.latency_s), else_=table.c.latency_s),
            },
        ),
        list(merged.values()),
    )
