"""Jobs of the notice area."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from ..services import notice_phases
from . import JobSpec


def record_phase_changes(session: Session, now: datetime) -> int:
    """Write the "in Aushang" and "Aushang beendet" audit rows (L17) once each."""
    return notice_phases.record_phase_changes(session, now)


JOBS = [
    JobSpec(
        id="notices.record_phase_changes",
        func=record_phase_changes,
        seconds=60,
        description="Beginn und Ende von Aushängen im Prüfprotokoll vermerken",
    )
]
