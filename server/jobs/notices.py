"""Jobs of the notice area."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy.orm import Session

from ..services import availability, notice_phases
from . import JobSpec


def record_phase_changes(session: Session, now: datetime) -> int:
    """Write the "in Aushang" and "Aushang beendet" audit rows (L17) once each."""
    return notice_phases.record_phase_changes(session, now)


def server_heartbeat(session: Session, now: datetime) -> int:
    """The server's own heartbeat; a gap since the last one (a stop, found at start-up)
    during an Aushangfrist becomes an outage of the Internet channel (issue 17)."""
    minutes = int(current_app.config.get("AUSHANG_DISPLAY_OUTAGE_MINUTES", 5))
    return availability.heartbeat(session, now, timedelta(minutes=minutes))


JOBS = [
    JobSpec(
        id="notices.record_phase_changes",
        func=record_phase_changes,
        seconds=60,
        description="Beginn und Ende von Aushängen im Prüfprotokoll vermerken",
    ),
    JobSpec(
        id="notices.server_heartbeat",
        func=server_heartbeat,
        seconds=60,
        description="Eigene Verfügbarkeit vermerken, Ausfälle der Internetveröffentlichung finden",
    ),
]
