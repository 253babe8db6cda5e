"""The audit record of a notice's posting period: when it began and when it ended (L17)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Notice
from . import audit


def record_phase_changes(session: Session, now: datetime) -> int:
    """Write the "in Aushang" and "Aushang beendet" audit rows (L17) once each.

    Whether a notice is in Aushang never depends on this job (it is derived from the
    window and ``now``); the job only keeps the tamper-evident record complete. It
    catches up after downtime: the rows carry the window's own instants.
    """
    written = 0
    started = session.scalars(
        select(Notice).where(
            Notice.status.in_(("released", "withdrawn")),
            Notice.start_recorded_at.is_(None),
            Notice.starts_at <= now,
            Notice.current_version_id.is_not(None),
        )
    ).all()
    for notice in started:
        notice.start_recorded_at = now
        audit.record(
            session,
            now=now,
            action="notice.publish",
            object_type="notice",
            object_id=notice.id,
            tenant_id=notice.tenant_id,
            actor="system",
            details={"number": notice.number, "starts_at": notice.starts_at},
        )
        written += 1
    ended = session.scalars(
        select(Notice).where(
            Notice.status.in_(("released", "withdrawn")),
            Notice.start_recorded_at.is_not(None),
            Notice.end_recorded_at.is_(None),
            Notice.ends_at <= now,
        )
    ).all()
    for notice in ended:
        notice.end_recorded_at = now
        audit.record(
            session,
            now=now,
            action="notice.end",
            object_type="notice",
            object_id=notice.id,
            tenant_id=notice.tenant_id,
            actor="system",
            details={"number": notice.number, "ends_at": notice.ends_at},
        )
        written += 1
    return written
