"""What players report: heartbeats and proof of play (D1), warning acknowledgements, and
the outages found in the heartbeat record (D2)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import case, func, insert, select, update
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


def record_heartbeat(session: Session, display_id: int, body: Any, now: datetime) -> bool:
    """Store one heartbeat and the display's latest status: one UPDATE and one INSERT
    (2,000 players send 30 a second). False if the display is not enrolled (any more)."""
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
    updated = session.execute(
        update(Display)
        .where(
            Display.id == display_id,
            Display.token_hash.is_not(None),
            Display.revoked_at.is_(None),
        )
        .values(
            last_seen=now,
            free_disk_bytes=_count(body.get("free_disk_bytes")),
            screen_state=json.dumps(screen, sort_keys=True) if screen else None,
            last_error=json.dumps(error, sort_keys=True, ensure_ascii=False) if error else None,
            **latest,
        )
        .execution_options(synchronize_session="evaluate")
    )
    if not updated.rowcount:  # type: ignore[attr-defined]
        return False
    session.execute(
        insert(Heartbeat).values(
            display_id=display_id,
            received_at=now,
            sent_at=sent_at,
            payload=json.dumps(body, sort_keys=True, ensure_ascii=False)[:20000],
            **latest,
        )
    )
    return True


def record_events(session: Session, display: Display, body: Any, now: datetime) -> int:
    """Store new events; repeats (same id) are ignored, so a batch may be resent."""
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
    for row in rows.values():
        if row.kind == "play" and row.notice_id not in own:
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


def _alert_for(session: Session, alert_id: int, snap: DisplaySnapshot) -> Any:
    """The alert's receipt time, if ``alert_id`` could ever have been in this display's
    manifest: local alerts through the display's tenant being a target, NINA alerts
    through its Kreis dashboard. One query; None for any other alert."""
    targeted = (
        select(AlertTarget.alert_id)
        .where(AlertTarget.alert_id == AlertRecord.id, AlertTarget.tenant_id == snap.tenant_id)
        .exists()
    )
    row = session.execute(
        select(AlertRecord.feed_key, AlertRecord.received_at, targeted).where(
            AlertRecord.id == alert_id
        )
    ).first()
    if row is None:
        return None
    feed_key, received_at, is_target = row
    if feed_key:
        ours = {nina_dashboard_key(snap.place_ars), nina_dashboard_key(snap.tenant_ars)}
        return received_at if feed_key in ours else None
    return received_at if is_target else None


def record_ack(
    session: Session, snap: DisplaySnapshot, alert_id: int, body: dict[str, Any], now: datetime
) -> None:
    """Delivery and drawing of a warning; idempotent, the first shown_at counts.

    A fan-out brings every display's acknowledgement within the same second, so this is
    one SELECT and one INSERT … ON CONFLICT, whatever was stored before."""
    received_at = _alert_for(session, alert_id, snap)
    if received_at is None:
        raise NotFound("Diese Warnung gibt es nicht.")
    delivered = parse_utc(body.get("delivered_at"), "delivered_at")
    shown = body.get("shown_at")
    shown_at = parse_utc(shown, "shown_at") if shown is not None else None
    latency = round((shown_at - received_at).total_seconds(), 3) if shown_at else None
    table = AlertDelivery.__table__
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as upsert
    else:
        from sqlalchemy.dialects.sqlite import insert as upsert  # type: ignore[assignment]
    stmt = upsert(table).values(
        display_id=snap.id,
        alert_id=alert_id,
        delivered_at=delivered,
        received_at=now,
        shown_at=shown_at,
        latency_s=latency,
    )
    first_shown = table.c.shown_at.is_(None)
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=[table.c.display_id, table.c.alert_id],
            set_={
                "shown_at": case((first_shown, stmt.excluded.shown_at), else_=table.c.shown_at),
                "latency_s": case((first_shown, stmt.excluded.latency_s), else_=table.c.latency_s),
            },
        )
    )


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
    from ...models import OUTAGE_DECISIONS

    errors = {}
    if decision not in OUTAGE_DECISIONS:
        errors["decision"] = "Bitte eine Entscheidung wählen."
    if not note.strip():
        errors["note"] = "Bitte die Entscheidung kurz begründen."
    if len(note) > 2000:
        errors["note"] = "Höchstens 2000 Zeichen."
    if errors:
        raise ValidationFailed("Bitte prüfen Sie die Entscheidung zum Ausfall.", errors)
    outage.decision = decision
    outage.note = note.strip()
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
    return outage
