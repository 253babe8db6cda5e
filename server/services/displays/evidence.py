"""The displays' part of the Aushangvermerk (L16, D1, D2).

For every digital display that carried a notice — by its content selection, or because
it reported playing it — the record states:

* the configured window (the notice's Aushang window, cut short by a withdrawal);
* ``posted_from`` / ``posted_until``: the first and the last moment inside that window
  at which the display reported the notice on screen — by a proof-of-play event, or by a
  heartbeat naming one of its slides as the current item (what the screen demonstrably
  showed, not what was planned), with the versions (content hashes) it played and how
  often;
* the heartbeats received inside the window (first, last, count): the screen was alive;
* every outage (heartbeat gap, D2) that overlaps the window, with the staff decision
  ("extend" / "irrelevant" and the note) or the fact that none has been taken yet;
* whether the display is a legal notice board (D3). Legal boards come first.

Test displays (W7) are not a publication channel and are left out.

``display_channels`` is the provider registered in
``app.extensions["aushang_evidence_channels"]`` (see :mod:`server.services.evidence`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, object_session, selectinload

from ...domain import posting
from ...models import (
    OUTAGE_DECISION_LABELS,
    Display,
    Heartbeat,
    Notice,
    Outage,
    PlayEvent,
)
from .. import display_history


def _iso(value: datetime | None, tz: str) -> str | None:
    return posting.to_local(value, tz).isoformat() if value is not None else None


def configured_window(notice: Notice) -> tuple[datetime | None, datetime | None]:
    """Start and end of the notice's Aushang on displays: the window, or up to an earlier
    withdrawal (withdrawn before the start: never posted, no window)."""
    start, end = notice.starts_at, notice.ends_at
    if notice.withdrawn_at is not None:
        if start is not None and notice.withdrawn_at <= start:
            return None, None
        end = notice.withdrawn_at if end is None else min(end, notice.withdrawn_at)
    return start, end


def _carrying_displays(
    session: Session, notice: Notice, played: set[int], now: datetime
) -> list[tuple[Display, display_history.State]]:
    """Displays of the tenant whose selection covered the notice and that were enrolled
    during the window, plus every display of the tenant that reported playing it, each
    with its state at the start of the window. The selection, the test flag and the
    legal-board flag are taken from the display's history (what it was then), never
    from today's settings. Another tenant's display is never a channel of this notice."""
    start, end = configured_window(notice)
    candidates = session.scalars(
        select(Display)
        .where(Display.tenant_id == notice.tenant_id)
        .options(selectinload(Display.categories))
    ).all()
    chosen: list[tuple[Display, display_history.State]] = []
    for display in candidates:
        if start is None:
            states = [display_history.current(display)]
        else:
            until = min(end, now) if end is not None else now
            states = display_history.states_between(session, display, start, max(until, start))
        live = [s for s in states if not s.test_display]
        if not live:
            continue  # a test display all along (W7): not a publication channel
        if display.id not in played:
            if not any(s.selects(notice.category_id) for s in live):
                continue
            if start is None or display.enrolled_at is None:
                continue
            if end is not None and display.enrolled_at >= end:
                continue  # enrolled only after the posting ended
            if display.revoked_at is not None and display.revoked_at <= start:
                continue  # revoked before the posting began
        chosen.append((display, live[0]))
    chosen.sort(key=lambda ds: (not ds[1].legal_board, ds[1].name.casefold(), ds[0].id))
    return chosen


def _outage_record(outage: Outage, notice: Notice, tz: str) -> dict[str, Any]:
    return {
        "start": _iso(outage.started_at, tz),
        "end": _iso(outage.ended_at, tz),
        "ongoing": outage.ended_at is None,
        "detected_at": _iso(outage.detected_at, tz),
        "concerns_notice": notice.number in outage.notice_numbers,
        "decision": outage.decision,
        "decision_label": OUTAGE_DECISION_LABELS.get(outage.decision or "", "Nicht entschieden"),
        "note": outage.note or None,
        "decided_at": _iso(outage.decided_at, tz),
        "decided_by": (
            {"name": outage.decided_by.name, "email": outage.decided_by.email}
            if outage.decided_by is not None
            else None
        ),
    }


Play = tuple[str | None, int, datetime, datetime]  # version hash, count, first, last
OnScreen = tuple[int, datetime, datetime]  # heartbeats naming the notice: count, first, last


def _plays(
    session: Session, notice: Notice, start: datetime, until: datetime
) -> dict[int, list[Play]]:
    plays: dict[int, list[Play]] = {}
    rows = session.execute(
        select(
            PlayEvent.display_id,
            PlayEvent.version_hash,
            func.count(),
            func.min(PlayEvent.at),
            func.max(PlayEvent.at),
        )
        .join(Display, Display.id == PlayEvent.display_id)
        .where(
            Display.tenant_id == notice.tenant_id,
            PlayEvent.notice_id == notice.id,
            PlayEvent.kind == "play",
            PlayEvent.at >= start,
            PlayEvent.at < until,
        )
        .group_by(PlayEvent.display_id, PlayEvent.version_hash)
    ).all()
    for display_id, version_hash, count, first, last in rows:
        plays.setdefault(display_id, []).append((version_hash, int(count), first, last))
    return plays


def _on_screen(
    session: Session, notice: Notice, start: datetime, until: datetime
) -> dict[int, OnScreen]:
    # A heartbeat names the item on screen at that moment: evidence as well. The
    # player API keeps the claim only for a notice it sent that display (sent.py);
    # the tenant condition also keeps rows from before that check out.
    on_screen: dict[int, OnScreen] = {}
    for display_id, count, first, last in session.execute(
        select(
            Heartbeat.display_id,
            func.count(),
            func.min(Heartbeat.received_at),
            func.max(Heartbeat.received_at),
        )
        .join(Display, Display.id == Heartbeat.display_id)
        .where(
            Display.tenant_id == notice.tenant_id,
            Heartbeat.current_item.like(f"notice-{notice.id}-v%"),
            Heartbeat.received_at >= start,
            Heartbeat.received_at < until,
        )
        .group_by(Heartbeat.display_id)
    ).all():
        on_screen[display_id] = (int(count), first, last)
    return on_screen


def _window_record(
    session: Session, display: Display, notice: Notice, start: datetime, until: datetime, tz: str
) -> dict[str, Any]:
    """The display's heartbeats and outages inside the window."""
    count, first, last = session.execute(
        select(
            func.count(), func.min(Heartbeat.received_at), func.max(Heartbeat.received_at)
        ).where(
            Heartbeat.display_id == display.id,
            Heartbeat.received_at >= start,
            Heartbeat.received_at < until,
        )
    ).one()
    outages = session.scalars(
        select(Outage)
        .where(
            Outage.display_id == display.id,
            Outage.started_at < until,
            or_(Outage.ended_at.is_(None), Outage.ended_at > start),
        )
        .options(selectinload(Outage.decided_by))
        .order_by(Outage.started_at)
    ).all()
    return {
        "heartbeats": {"count": int(count), "first": _iso(first, tz), "last": _iso(last, tz)},
        "outages": [_outage_record(o, notice, tz) for o in outages],
    }


def _record_note(
    start: datetime | None,
    now: datetime,
    seen: list[datetime],
    shown: list[Play],
    versions: dict[str | None, int],
    outages: list[dict[str, Any]],
) -> str | None:
    notes: list[str] = []
    if start is None:
        notes.append("Nicht ausgehängt.")
    elif start > now:
        notes.append("Aushang beginnt erst.")
    elif not seen:
        notes.append("Keine Wiedergabe gemeldet.")
    elif any(p[0] not in versions for p in shown):
        notes.append("Gemeldete Prüfsumme gehört zu keiner freigegebenen Fassung.")
    if any(o["decision"] is None for o in outages):
        notes.append("Ausfall ohne Entscheidung.")
    return " ".join(notes) or None


def display_records(session: Session, notice: Notice, now: datetime) -> list[dict[str, Any]]:
    """One record per display that carried ``notice``, as of ``now`` (legal boards first)."""
    tz = notice.tenant.timezone
    start, end = configured_window(notice)
    # What the displays can have shown so far: the window up to now.
    until = min(end, now) if end is not None else now
    versions = {v.content_hash: v.number for v in notice.released_versions}
    # Nothing can have been shown before the window opened.
    window = (start, until) if start is not None and start < until else None
    plays = _plays(session, notice, *window) if window else {}
    on_screen = _on_screen(session, notice, *window) if window else {}

    records: list[dict[str, Any]] = []
    for display, state in _carrying_displays(session, notice, set(plays) | set(on_screen), now):
        shown = sorted(plays.get(display.id, []), key=lambda p: p[2])
        beats = on_screen.get(display.id)
        seen = [t for p in shown for t in (p[2], p[3])] + ([beats[1], beats[2]] if beats else [])
        record: dict[str, Any] = {
            "kind": "display",
            "display_id": display.id,
            "name": state.name,
            "location": state.location,
            "legal_board": state.legal_board,
            "configured_from": _iso(start, tz),
            "configured_until": _iso(end, tz),
            "posted_from": _iso(min(seen), tz) if seen else None,
            "posted_until": _iso(max(seen), tz) if seen else None,
            "plays": sum(p[1] for p in shown),
            "heartbeats_on_screen": beats[0] if beats else 0,
            "versions": [
                {
                    "content_hash": h,
                    "version": versions.get(h or ""),
                    "plays": count,
                    "first": _iso(first, tz),
                    "last": _iso(last, tz),
                }
                for h, count, first, last in shown
            ],
            "heartbeats": {"count": 0, "first": None, "last": None},
            "outages": [],
        }
        if window:
            record.update(_window_record(session, display, notice, *window, tz))
        record["note"] = _record_note(start, now, seen, shown, versions, record["outages"])
        records.append(record)
    return records


def display_channels(notice: Notice, now: datetime) -> list[dict[str, Any]]:
    """Provider for ``app.extensions["aushang_evidence_channels"]``."""
    session = object_session(notice)
    if session is None:
        return []
    return display_records(session, notice, now)


def register(extensions: dict[str, Any]) -> None:
    """Add the provider once (idempotent, so create_app may run more than once)."""
    providers = extensions.setdefault("aushang_evidence_channels", [])
    if display_channels not in providers:
        providers.append(display_channels)
