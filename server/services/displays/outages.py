"""The status staff see (online, clock skew) and the outages found in the heartbeat
record (D2), with the decision staff take about each."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ...mail import staff as mail_staff
from ...models import (
    Display,
    Heartbeat,
    Notice,
    Outage,
)
from .. import audit

ONLINE_WITHIN = timedelta(seconds=150)  # heartbeats come at least every 60 s
SKEW_LIMIT_S = 30.0  # D7


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
        mail_staff.display_outage(session, display, last, now)  # tenant admins (issue 18)
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
