"""Jobs of the display area."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy.orm import Session

from ..services.displays import outages, reports
from . import JobSpec


def detect_outages(session: Session, now: datetime, minutes: int | None = None) -> int:
    """D2: one outage record per heartbeat gap on a display carrying a notice in Aushang."""
    if minutes is None:
        minutes = int(current_app.config.get("AUSHANG_DISPLAY_OUTAGE_MINUTES", 5))
    return outages.detect_outages(session, now, timedelta(minutes=minutes))


def thin_heartbeats(session: Session, now: datetime, days: int | None = None) -> int:
    """Heartbeats older than AUSHANG_HEARTBEAT_RETENTION_DAYS: first and last per
    display, hour and shown item stay (see reports.thin_heartbeats)."""
    if days is None:
        days = int(current_app.config.get("AUSHANG_HEARTBEAT_RETENTION_DAYS", 30))
    return reports.thin_heartbeats(session, now, timedelta(days=days))


JOBS = [
    JobSpec(
        id="displays.detect_outages",
        func=detect_outages,
        seconds=60,
        description="Ausfälle von Anzeigen mit Bekanntmachungen im Aushang erkennen",
    ),
    JobSpec(
        id="displays.thin_heartbeats",
        func=thin_heartbeats,
        seconds=6 * 3600,
        description="Alte Herzschläge der Anzeigen ausdünnen (Belege bleiben erhalten)",
    ),
]
