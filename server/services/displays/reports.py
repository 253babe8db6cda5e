"""What players report: heartbeats and proof of play (D1), and their retention.

Acknowledgements are in ``acks``, online status and outages (D2) in ``outages``; their
names are re-exported here, where the player API and the views know them."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, func, select
from sqlalchemy.orm import Session

from ...domain.errors import ValidationFailed
from ...models import (
    Display,
    Heartbeat,
    Notice,
    Outage,
    PlayEvent,
)
from .acks import AlertMeta as AlertMeta
from .acks import AlertMetaCache as AlertMetaCache
from .acks import ack_row as ack_row
from .acks import alert_meta as alert_meta
from .acks import store_acks as store_acks
from .outages import ONLINE_WITHIN as ONLINE_WITHIN
from .outages import SKEW_LIMIT_S as SKEW_LIMIT_S
from .outages import decide_outage as decide_outage
from .outages import detect_outages as detect_outages
from .outages import is_online as is_online
from .outages import skew_alarm as skew_alarm
from .sent import Truth
from .wire import _count, _num, _text, parse_utc
from .wire import db_id as db_id

_UUID_RE = re.compile(r"^[0-9a-f-]{36}$")
_CODE_RE = re.compile(r"^[a-z0-9_]+$")
MAX_EVENTS = 500


class HeartbeatLimiter:
    """Per display, a token bucket of heartbeats: ``burst`` at once, then one every
    ``60 / per_minute`` seconds. A player sends one a minute (more right after a fault);
    a device sending hundreds a second gets 429 instead of filling the table.
    Per process, keyed by display id; times are the API clock's, so tests pass them."""

    def __init__(self, per_minute: float = 12, burst: int = 10, limit: int = 100_000) -> None:
        self.interval_s = 60.0 / per_minute
        self.burst = burst
        self.limit = limit
        self._buckets: dict[int, tuple[float, datetime]] = {}
        self._lock = threading.Lock()

    def take(self, display_id: int, now: datetime) -> float:
        """0 if the heartbeat may pass, else the seconds until the next one may."""
        with self._lock:
            tokens, at = self._buckets.get(display_id, (float(self.burst), now))
            elapsed = max(0.0, (now - at).total_seconds())
            tokens = min(float(self.burst), tokens + elapsed / self.interval_s)
            if tokens < 1:
                self._buckets[display_id] = (tokens, now)
                return (1 - tokens) * self.interval_s
            if len(self._buckets) >= self.limit:
                self._buckets.clear()
            self._buckets[display_id] = (tokens - 1, now)
            return 0.0

    def clear(self) -> None:
        with self._lock:
            self._buckets.clear()


@dataclass(frozen=True)
class HeartbeatRow:
    """One validated heartbeat: the display's latest status and the row to keep."""

    display_id: int
    status: dict[str, Any]
    row: dict[str, Any]


def heartbeat_row(display_id: int, body: Any, now: datetime) -> HeartbeatRow:
    """Validate a heartbeat body (422 on bad input) before anything is written."""
    if not isinstance(body, dict) or not isinstance(body.get("player_version"), str):
        raise ValidationFailed("Herzschlag unvollständig.", {"player_version": "fehlt"})
    sent_at = parse_utc(body["sent_at"], "sent_at") if "sent_at" in body else None
    screen = body.get("screen") if isinstance(body.get("screen"), dict) else None
    error = body.get("last_error") if isinstance(body.get("last_error"), dict) else None
    latest = {
        "player_version": body["player_version"][:50],
        "uptime_s": _num(body.get("uptime_s")),
        "clock_skew_s": _num(body.get("clock_skew_s")),
        "current_item": _text(body.get("current_item"), 100),
        "manifest_etag": _text(body.get("manifest_etag"), 200),
    }
    status = {
        **latest,
        "last_seen": now,
        "free_disk_bytes": _count(body.get("free_disk_bytes")),
        "screen_state": json.dumps(screen, sort_keys=True) if screen else None,
        "last_error": json.dumps(error, sort_keys=True, ensure_ascii=False) if error else None,
    }
    row = {
        **latest,
        "display_id": display_id,
        "received_at": now,
        "sent_at": sent_at,
        "payload": json.dumps(body, sort_keys=True, ensure_ascii=False)[:20000],
    }
    return HeartbeatRow(display_id, status, row)


def without_item(beat: HeartbeatRow) -> HeartbeatRow:
    """The heartbeat without its claim of what is on screen."""
    return HeartbeatRow(
        beat.display_id, {**beat.status, "current_item": None}, {**beat.row, "current_item": None}
    )


def store_heartbeats(conn: Connection, beats: Sequence[HeartbeatRow]) -> list[bool]:
    """Store heartbeats in three statements, however many: which displays are enrolled,
    their latest status, the heartbeat rows. Core statements on the tables (the ORM's
    bookkeeping cost more than the database did). One result per heartbeat: False if
    its display is not enrolled (any more)."""
    display = Display.__table__
    ids = sorted({b.display_id for b in beats})
    enrolled = set(
        conn.execute(
            select(display.c.id).where(
                display.c.id.in_(ids),
                display.c.token_hash.is_not(None),
                display.c.revoked_at.is_(None),
            )
        ).scalars()
    )
    kept = [b for b in beats if b.display_id in enrolled]
    if kept:
        latest = {b.display_id: b.status for b in kept}  # the last one per display wins
        columns = list(kept[0].status)  # every status has the same keys (heartbeat_row)
        conn.execute(
            display.update()
            .where(display.c.id == bindparam("b_id"))
            .values({c: bindparam(f"b_{c}") for c in columns}),
            [{"b_id": i, **{f"b_{c}": status[c] for c in columns}} for i, status in latest.items()],
        )
        conn.execute(Heartbeat.__table__.insert(), [b.row for b in kept])
    return [b.display_id in enrolled for b in beats]


def record_heartbeat(session: Session, display_id: int, body: Any, now: datetime) -> bool:
    """One heartbeat in the session's transaction. False if the display is not enrolled."""
    return store_heartbeats(session.connection(), [heartbeat_row(display_id, body, now)])[0]


def _event_row(n: int, ev: Any) -> PlayEvent:
    """Event ``n`` of a batch as a row (without display and receipt); field errors name it."""
    if not isinstance(ev, dict) or not _UUID_RE.match(str(ev.get("id", ""))):
        raise ValidationFailed(f"Ereignis {n}: ungültige id.", {f"events[{n}]": "id"})
    if ev.get("type") == "play":
        version_hash = ev.get("version_hash")
        row = PlayEvent(
            kind="play",
            item_id=_text(ev.get("item_id"), 100),
            notice_id=db_id(ev.get("notice_id")),
            version_hash=version_hash if isinstance(version_hash, str) else None,
            at=parse_utc(ev.get("shown_at"), f"events[{n}].shown_at"),
        )
    elif ev.get("type") == "error":
        code = ev.get("code")
        if not isinstance(code, str) or not _CODE_RE.match(code):
            raise ValidationFailed(f"Ereignis {n}: ungültiger code.", {})
        row = PlayEvent(
            kind="error",
            code=code[:100],
            message=_text(ev.get("message"), 2000) or "",
            at=parse_utc(ev.get("at"), f"events[{n}].at"),
        )
    else:
        raise ValidationFailed(f"Ereignis {n}: unbekannter Typ.", {f"events[{n}]": "type"})
    row.event_id = ev["id"]
    return row


def _keep_genuine_proof(
    session: Session, display: Display, rows: Iterable[PlayEvent], truth: Truth | None
) -> None:
    """Strip the notice from every play event that is no proof of play for it."""
    rows = list(rows)
    # Proof of play counts only for the display's own tenant's notices: another tenant's
    # notice id or version hash in a forged event must not become evidence for it.
    claimed = {row.notice_id for row in rows if row.notice_id is not None}
    own = set(
        session.scalars(
            select(Notice.id).where(Notice.id.in_(claimed), Notice.tenant_id == display.tenant_id)
        )
        if claimed
        else ()
    )
    if truth is not None:
        truth.preload("notice", own)
    for row in rows:
        if row.kind != "play" or (row.notice_id is None and row.version_hash is None):
            continue  # mixed-in content: no evidence claimed
        genuine = row.notice_id in own and (
            truth is None
            or truth.sent("notice", row.notice_id, row.at, version_hash=row.version_hash)
        )
        if not genuine:
            if truth is not None:
                truth.rejected.append(f"Wiedergabe von {row.item_id or row.notice_id}")
            row.notice_id = None
            row.version_hash = None


def record_events(
    session: Session, display: Display, body: Any, now: datetime, truth: Truth | None = None
) -> int:
    """Store new events; repeats (same id) are ignored, so a batch may be resent.

    With ``truth`` (the player API always passes it), a play event counts as proof of
    play only for a notice version the server sent this display at ``shown_at``; any
    other is stored without its notice and named in ``truth.rejected``."""
    events = body.get("events") if isinstance(body, dict) else None
    if not isinstance(events, list) or not events:
        raise ValidationFailed("Keine Ereignisse übermittelt.", {"events": "Liste erwartet."})
    if len(events) > MAX_EVENTS:
        raise ValidationFailed(f"Höchstens {MAX_EVENTS} Ereignisse je Sendung.", {})
    rows: dict[str, PlayEvent] = {}
    for n, ev in enumerate(events):
        row = _event_row(n, ev)
        row.display_id = display.id
        row.received_at = now
        rows.setdefault(row.event_id, row)
    _keep_genuine_proof(session, display, rows.values(), truth)
    known = set(
        session.scalars(select(PlayEvent.event_id).where(PlayEvent.event_id.in_(list(rows))))
    )
    for event_id, row in rows.items():
        if event_id not in known:
            session.add(row)
    session.flush()
    return len(events)


# --- retention --------------------------------------------------------------------------


def thin_heartbeats(session: Session, now: datetime, keep_all_for: timedelta) -> int:
    """Thin heartbeats older than ``keep_all_for``: per display, hour and named item
    (``current_item``) the first and the last row stay, the others go. Returns how
    many rows were deleted.

    What the Aushangvermerk reads stays: the first and last heartbeat inside every
    window (windows open at local midnight, an hour boundary) and the first and last
    heartbeat naming each notice; its counts then count the rows kept. Outage
    detection reads the display's last_seen and, for an outage still open, the
    heartbeats after its start: a display with an open outage keeps every row from
    that start on. Recent rows (the last ``keep_all_for``) are never touched."""
    table = Heartbeat.__table__
    cutoff = now - keep_all_for
    if session.get_bind().dialect.name == "postgresql":
        bucket = func.date_trunc("hour", table.c.received_at)
    else:  # SQLite keeps "YYYY-MM-DD HH:MM:SS…" text
        bucket = func.substr(table.c.received_at, 1, 13)
    open_since = dict(
        session.execute(
            select(Outage.display_id, func.min(Outage.started_at))
            .where(Outage.ended_at.is_(None))
            .group_by(Outage.display_id)
        ).all()
    )
    display_ids = session.scalars(
        select(table.c.display_id).where(table.c.received_at < cutoff).distinct()
    ).all()
    deleted = 0
    for display_id in display_ids:
        until = min(cutoff, open_since.get(display_id, cutoff))
        old = (table.c.display_id == display_id) & (table.c.received_at < until)
        kept = select(func.min(table.c.id)).where(old).group_by(bucket, table.c.current_item)
        kept_last = select(func.max(table.c.id)).where(old).group_by(bucket, table.c.current_item)
        result = session.execute(
            table.delete().where(old, table.c.id.not_in(kept), table.c.id.not_in(kept_last))
        )
        deleted += result.rowcount or 0  # type: ignore[attr-defined]
    session.flush()
    return deleted
