"""Outages with a remedy (issue 17, build 3; D2): extending a posting window.

An outage decision "Aushang wird verlängert" extends the window of every notice it
concerns by a recorded :class:`~server.models.NoticeExtension`: a new last day, the
reason, who and when. It is not a content change: no new version, no new hash; the
released ``posting_end`` stays as signed, the window's end (``ends_at``) moves. The
minimum period of the category applies to the extended window less the days the
outages took: an extension that does not make up for them is refused with the day it
would have to reach.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain import posting
from ..domain.errors import ValidationFailed
from ..models import InternetOutage, Notice, NoticeExtension, Outage, User
from . import audit
from .notice_rules import require_role

MAX_REASON = 2000


def check_decision(decision: str, note: str) -> str:
    """Validate a staff decision on an outage (display or Internet); the clean note."""
    from ..models import OUTAGE_DECISIONS

    errors: dict[str, str] = {}
    if decision not in OUTAGE_DECISIONS:
        errors["decision"] = "Bitte eine Entscheidung wählen."
    if not note.strip():
        errors["note"] = "Bitte die Entscheidung kurz begründen."
    elif len(note) > 2000:
        errors["note"] = "Höchstens 2000 Zeichen."
    if errors:
        raise ValidationFailed("Bitte prüfen Sie die Entscheidung zum Ausfall.", errors)
    return note.strip()


def outage_days(started_at: datetime, ended_at: datetime | None, now: datetime) -> int:
    """Whole days an outage takes away from a window (any part of a day counts)."""
    seconds = ((ended_at or now) - started_at).total_seconds()
    return max(1, math.ceil(seconds / 86400))


def _overlapping_outages(
    session: Session, notice: Notice, now: datetime
) -> list[tuple[str, datetime, datetime | None]]:
    """(ref, start, end) of the outages during the notice's window that were not found
    irrelevant: the display outages naming it and the Internet channel's."""
    start, end = notice.starts_at, notice.ends_at
    if start is None or end is None:
        return []
    found: list[tuple[str, datetime, datetime | None]] = []
    for o in session.scalars(
        select(Outage).where(Outage.started_at < end, Outage.notices.contains(notice.number))
    ):
        if notice.number in o.notice_numbers and o.decision != "irrelevant":
            if o.display.tenant_id == notice.tenant_id:
                found.append((f"display:{o.id}", o.started_at, o.ended_at))
    for io in session.scalars(
        select(InternetOutage).where(
            InternetOutage.tenant_id == notice.tenant_id,
            InternetOutage.started_at < end,
            InternetOutage.ended_at > start,
        )
    ):
        if io.decision != "irrelevant":
            found.append((f"internet:{io.id}", io.started_at, io.ended_at))
    return found


def lost_days(session: Session, notice: Notice, now: datetime) -> int:
    return sum(outage_days(s, e, now) for _ref, s, e in _overlapping_outages(session, notice, now))


def required_end(session: Session, notice: Notice, now: datetime) -> date | None:
    """The earliest last day that keeps the minimum period despite the outages."""
    if notice.posting_start is None:
        return None
    lost = lost_days(session, notice, now)
    minimum = posting.earliest_end(notice.posting_start, notice.category.min_days + lost)
    current = notice.effective_posting_end
    return max(minimum, current) if current else minimum


def extend(
    session: Session,
    notice: Notice,
    user: User,
    new_end: date | None,
    reason: str,
    now: datetime,
    *,
    outage_ref: str = "",
) -> NoticeExtension:
    """Record an extension of ``notice``'s window to ``new_end`` (inclusive)."""
    require_role(user, notice.tenant_id, "approver")
    errors: dict[str, str] = {}
    current = notice.effective_posting_end
    if notice.status != "released" or notice.starts_at is None or current is None:
        raise ValidationFailed(
            "Nur der Aushang einer freigegebenen, nicht zurückgezogenen Bekanntmachung kann "
            "verlängert werden.",
            {"new_end": "Diese Bekanntmachung kann nicht verlängert werden."},
        )
    reason = reason.strip()
    if not reason:
        errors["extension_reason"] = "Bitte den Grund der Verlängerung angeben."
    elif len(reason) > MAX_REASON:
        errors["extension_reason"] = f"Höchstens {MAX_REASON} Zeichen."
    if new_end is None:
        errors["new_end"] = "Bitte das neue Ende des Aushangs angeben."
    elif new_end <= current:
        errors["new_end"] = f"Das neue Ende muss nach dem {current:%d.%m.%Y} liegen."
    else:
        needed = required_end(session, notice, now)
        if needed is not None and new_end < needed:
            lost = lost_days(session, notice, now)
            errors["new_end"] = (
                f"Die Mindestfrist von {notice.category.min_days} Tagen ist nach Abzug der "
                f"Ausfälle ({lost} {'Tag' if lost == 1 else 'Tage'}) erst mit dem "
                f"{needed:%d.%m.%Y} erreicht."
            )
    if errors:
        raise ValidationFailed("Die Verlängerung ist so nicht möglich.", errors)
    assert new_end is not None
    extension = NoticeExtension(
        previous_end=current,
        new_end=new_end,
        reason=reason,
        outage_ref=outage_ref,
        created_by_id=user.id,
        created_at=now,
    )
    notice.extensions.append(extension)
    notice.ends_at = posting.local_midnight(new_end + timedelta(days=1), notice.tenant.timezone)
    notice.end_recorded_at = None  # the "Aushang beendet" audit row comes at the new end
    notice.updated_at = now
    session.flush()
    audit.record(
        session,
        now=now,
        action="notice.extend",
        object_type="notice",
        object_id=notice.id,
        actor=user,
        tenant_id=notice.tenant_id,
        details={
            "number": notice.number,
            "previous_end": current,
            "new_end": new_end,
            "reason": reason,
            "outage": outage_ref or None,
        },
    )
    return extension


def _describe(kind: str, started_at: datetime, ended_at: datetime | None, tz: str) -> str:
    def t(v: datetime) -> str:
        return f"{posting.to_local(v, tz):%d.%m.%Y, %H:%M} Uhr"

    until = t(ended_at) if ended_at else "andauernd"
    return f"Ausfall {kind} vom {t(started_at)} bis {until}"


def extend_for_outage(
    session: Session,
    outage: Outage | InternetOutage,
    user: User,
    now: datetime,
) -> list[NoticeExtension]:
    """The remedy of the decision "Aushang wird verlängert": every released notice the
    outage concerns gets its window extended by the outage's days (at least one), or
    further if the minimum period needs it. Notices already extended for this outage
    are left alone, so deciding twice extends once."""
    if isinstance(outage, InternetOutage):
        ref, tenant_id = f"internet:{outage.id}", outage.tenant_id
        label = "der Internetveröffentlichung"
    else:
        ref, tenant_id = f"display:{outage.id}", outage.display.tenant_id
        label = f"der Anzeige „{outage.display.name}“"
    numbers = outage.notice_numbers
    if not numbers:
        return []
    notices = session.scalars(
        select(Notice).where(Notice.tenant_id == tenant_id, Notice.number.in_(numbers))
    ).all()
    made: list[NoticeExtension] = []
    for notice in notices:
        if notice.status != "released" or any(e.outage_ref == ref for e in notice.extensions):
            continue
        current = notice.effective_posting_end
        if current is None:
            continue
        by_outage = current + timedelta(days=outage_days(outage.started_at, outage.ended_at, now))
        needed = required_end(session, notice, now) or by_outage
        reason = _describe(label, outage.started_at, outage.ended_at, notice.tenant.timezone)
        if outage.note:
            reason += f": {outage.note}"
        made.append(
            extend(session, notice, user, max(by_outage, needed), reason, now, outage_ref=ref)
        )
    return made


def pending(session: Session, notice: Notice, now: datetime) -> list[dict[str, Any]]:
    """Outages concerning ``notice`` still without a decision: what staff must do next."""
    out: list[dict[str, Any]] = []
    tz = notice.tenant.timezone
    for ref, start, end in _overlapping_outages(session, notice, now):
        kind, _, raw_id = ref.partition(":")
        row: InternetOutage | Outage | None = (
            session.get(InternetOutage, int(raw_id))
            if kind == "internet"
            else session.get(Outage, int(raw_id))
        )
        if row is not None and row.decision is None:
            label = "der Internetveröffentlichung" if kind == "internet" else "einer Anzeige"
            out.append({"ref": ref, "text": _describe(label, start, end, tz)})
    return out
