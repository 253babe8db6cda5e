"""What players report: heartbeats and proof of play (D1), warning acknowledgements, and
the outages found in the heartbeat record (D2)."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, case, func, select
from sqlalchemy.orm import Session

from ...domain.ars import nina_dashboard_key
from ...domain.errors import NotFound, ValidationFailed
from ...models import (
    AlertDelivery,
    AlertRecord,
    AlertTarget,
    Display,
    Heartbeat,
    Notice,
    Outage,
    PlayEvent,
)
from .. import audit
from .sent import Truth
from .snapshot import DisplaySnapshot

_UUID_RE = re.compile(r"^[0-9a-f-]{36}$")
_CODE_RE = re.compile(r"^[a-z0-9_]+$")
_ID_RE = re.compile(r"^[0-9]{1,18}$")
MAX_EVENTS = 500
ONLINE_WITHIN = timedelta(seconds=150)  # heartbeats come at least every 60 s
SKEW_LIMIT_S = 30.0  # D7


def parse_utc(value: Any, field: str) -> datetime:
    if not isinstance(value, str):
        raise ValidationFailed(f"{field}: Zeitangabe fehlt.", {field: "Zeitangabe fehlt."})
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationFailed(f"{field}: ungültige Zeitangabe.", {field: "RFC 3339"}) from None
    if parsed.tzinfo is None:
        raise ValidationFailed(f"{field}: Zeitzone fehlt.", {field: "Mit Z angeben."})
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00:00+01:00 lies before year 1 in UTC
        raise ValidationFailed(f"{field}: ungültige Zeitangabe.", {field: "RFC 3339"}) from None


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _count(value: Any) -> int | None:
    """A non-negative count that fits a BIGINT column; anything else is not a count."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63:
        return value
    return None


def db_id(value: Any) -> int | None:
    """An id sent as a string of ASCII digits that fits the database's integer keys."""
    if isinstance(value, str) and _ID_RE.match(value):
        return int(value)
    return None


def _text(value: Any, limit: int) -> str | None:
    return value[:limit] if isinstance(value, str) else None


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
        if not isinstance(ev, dict) or not _UUID_RE.match(str(ev.get("id", ""))):
            raise ValidationFailed(f"Ereignis {n}: ungültige id.", {f"events[{n}]": "id"})
        if ev.get("type") == "play":
            notice_id = ev.get("notice_id")
            version_hash = ev.get("version_hash")
            row = PlayEvent(
                kind="play",
                item_id=_text(ev.get("item_id"), 100),
                notice_id=db_id(notice_id),
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
        row.display_id = display.id
        row.received_at = now
        rows.setdefault(row.event_id, row)
    # Proof of play counts only for the display's own tenant's notices: another tenant's
    # notice id or version hash in a forged event must not become evidence for it.
    claimed = {row.notice_id for row in rows.values() if row.notice_id is not None}
    own = set(
        session.scalars(
            select(Notice.id).where(Notice.id.in_(claimed), Notice.tenant_id == display.tenant_id)
        )
        if claimed
        else ()
    )
    if truth is not None:
        truth.preload("notice", own)
    for row in rows.values():
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
    known = set(
        session.scalars(select(PlayEvent.event_id).where(PlayEvent.event_id.in_(list(rows))))
    )
    for event_id, row in rows.items():
        if event_id not in known:
            session.add(row)
    session.flush()
    return len(events)


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


# --- status for staff ------------------------------------------------------------------


def is_online(display: Display, now: datetime) -> bool:
    return display.last_seen is not None and now - display.last_seen <= ONLINE_WITHIN


def skew_alarm(display: Display) -> bool:
    return display.clock_skew_s is not None and abs(display.clock_skew_s) > SKEW_LIMIT_S


# --- outages (D2) ----------------------------------------------------------------------


def _notices_in_aushang(session: Session, display: Display, at: datetime) -> list[str]:
    stmt = select(Notice.number).where(
        Notice.tenant_id == display.tenant_id,
        Notice.status == "released",
        Notice.starts_at <= at,
        Notice.ends_at > at,
    )
    if not display.all_categories:
        stmt = stmt.where(Notice.category_id.in_([c.id for c in display.categories] or [-1]))
    return list(session.scalars(stmt.order_by(Notice.number)))


def detect_outages(session: Session, now: datetime, threshold: timedelta) -> int:
    """Open one outage per heartbeat gap longer than ``threshold`` on a display that
    carries a notice in Aushang; close it when heartbeats resume. Returns changes."""
    changes = 0
    displays = session.scalars(
        select(Display).where(Display.enrolled_at.is_not(None), Display.revoked_at.is_(None))
    ).all()
    for display in displays:
        open_outage = session.scalar(
            select(Outage).where(Outage.display_id == display.id, Outage.ended_at.is_(None))
        )
        if open_outage is not None:
            resumed = session.scalar(
                select(func.min(Heartbeat.received_at)).where(
                    Heartbeat.display_id == display.id,
                    Heartbeat.received_at > open_outage.started_at,
                )
            )
            if resumed is not None:
                open_outage.ended_at = resumed
                changes += 1
            continue
        last = display.last_seen or display.enrolled_at
        if last is None or now - last <= threshold:
            continue
        already = session.scalar(
            select(Outage.id).where(Outage.display_id == display.id, Outage.started_at == last)
        )
        if already is not None:
            continue
        numbers = _notices_in_aushang(session, display, last) or _notices_in_aushang(
            session, display, now
        )
        if not numbers:
            continue
        session.add(
            Outage(
                display_id=display.id,
                started_at=last,
                detected_at=now,
                notices=",".join(numbers),
            )
        )
        changes += 1
    session.flush()
    return changes


def decide_outage(
    session: Session, outage: Outage, user: Any, decision: str, note: str, now: datetime
) -> Outage:
    from ..extensions import check_decision, extend_for_outage

    outage.note = check_decision(decision, note)
    outage.decision = decision
    outage.decided_at = now
    outage.decided_by_id = user.id
    session.flush()
    audit.record(
        session,
        now=now,
        action="display.outage_decision",
        object_type="display_outage",
        object_id=outage.id,
        actor=user,
        tenant_id=outage.display.tenant_id,
        details={
            "display": outage.display.name,
            "started_at": outage.started_at,
            "ended_at": outage.ended_at,
            "decision": decision,
            "note": outage.note,
            "notices": outage.notice_numbers,
        },
    )
    if decision == "extend":  # the remedy: extend the notices' windows (issue 17)
        extend_for_outage(session, outage, user, now)
    return outage
