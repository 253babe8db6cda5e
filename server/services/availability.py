"""The Internet channel's own availability (issue 17, build 2).

The server proves its own uptime the way a display does: the scheduler writes one
:class:`~server.models.ServerHeartbeat` row per minute. A gap between two heartbeats
(or between the last one and now, found at start-up: the job runs at once when the
scheduler starts) longer than the outage threshold means the Internet publication was
not provably reachable. For each tenant with notices online during the gap, the gap
becomes an :class:`~server.models.InternetOutage` naming them; staff decide on it like
on a display outage ("Aushang wird verlängert" extends the notices' windows), and the
Aushangvermerk lists it with the Internet channel.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from ..models import InternetOutage, Notice, ServerHeartbeat, User
from . import audit, extensions
from .notice_rules import require_role

log = logging.getLogger("aushang.availability")

# How far back a restart looks for gaps; older history was checked by earlier runs.
LOOKBACK = timedelta(days=31)


def _minute(now: datetime) -> datetime:
    return now.replace(second=0, microsecond=0)


def gaps(session: Session, now: datetime, threshold: timedelta) -> list[tuple[datetime, datetime]]:
    """(last heartbeat before, first heartbeat after or ``now``) of every gap longer
    than ``threshold`` within the lookback."""
    beats = list(
        session.scalars(
            select(ServerHeartbeat.at)
            .where(ServerHeartbeat.at >= now - LOOKBACK)
            .order_by(ServerHeartbeat.at)
        )
    )
    found = [(a, b) for a, b in zip(beats, beats[1:], strict=False) if b - a > threshold]
    if beats and now - beats[-1] > threshold:
        found.append((beats[-1], now))
    return found


def _notices_online(session: Session, start: datetime, end: datetime) -> dict[int, list[str]]:
    """Per tenant, the numbers of notices provided online at some moment of the gap."""
    rows = session.execute(
        select(Notice.tenant_id, Notice.number).where(
            Notice.provided_at.is_not(None),
            Notice.provided_at < end,
            Notice.ends_at > start,
            or_(Notice.withdrawn_at.is_(None), Notice.withdrawn_at > start),
            Notice.status.in_(("released", "withdrawn")),
        )
    ).all()
    out: dict[int, list[str]] = {}
    for tenant_id, number in rows:
        out.setdefault(tenant_id, []).append(number)
    return out


def record_outages(session: Session, now: datetime, threshold: timedelta) -> int:
    """Turn gaps during an Aushangfrist into outage records (idempotent)."""
    made = 0
    for start, end in gaps(session, now, threshold):
        for tenant_id, numbers in _notices_online(session, start, end).items():
            exists = session.scalar(
                select(InternetOutage.id).where(
                    and_(InternetOutage.tenant_id == tenant_id, InternetOutage.started_at == start)
                )
            )
            if exists is not None:
                continue
            session.add(
                InternetOutage(
                    tenant_id=tenant_id,
                    started_at=start,
                    ended_at=end,
                    detected_at=now,
                    notices=",".join(sorted(numbers)),
                )
            )
            made += 1
            log.warning(
                "event=internet_outage tenant=%s start=%s end=%s notices=%s",
                tenant_id,
                start.isoformat(),
                end.isoformat(),
                len(numbers),
            )
    session.flush()
    return made


def beat(session: Session, now: datetime) -> None:
    minute = _minute(now)
    if session.scalar(select(ServerHeartbeat.id).where(ServerHeartbeat.at == minute)) is None:
        session.add(ServerHeartbeat(at=minute))
        session.flush()


def heartbeat(session: Session, now: datetime, threshold: timedelta) -> int:
    """The job body: first look for a gap up to now, then record this minute."""
    made = record_outages(session, now, threshold)
    beat(session, now)
    return made


def decide(
    session: Session, outage: InternetOutage, user: User, decision: str, note: str, now: datetime
) -> InternetOutage:
    """Staff decision on an Internet outage; "extend" extends the notices' windows."""
    require_role(user, outage.tenant_id, "approver")
    outage.note = extensions.check_decision(decision, note)
    outage.decision = decision
    outage.decided_at = now
    outage.decided_by_id = user.id
    session.flush()
    audit.record(
        session,
        now=now,
        action="internet.outage_decision",
        object_type="internet_outage",
        object_id=outage.id,
        actor=user,
        tenant_id=outage.tenant_id,
        details={
            "started_at": outage.started_at,
            "ended_at": outage.ended_at,
            "decision": decision,
            "note": outage.note,
            "notices": outage.notice_numbers,
        },
    )
    if decision == "extend":
        extensions.extend_for_outage(session, outage, user, now)
    return outage
