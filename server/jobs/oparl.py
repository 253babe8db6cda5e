"""Scheduled OParl import: every active source of every tenant, incrementally."""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from sqlalchemy.orm import Session

from ..services.oparl_import import MeetingSource, sync_active_sources
from ..sources.oparl import DEFAULT_USER_AGENT, OParlClient
from . import JobSpec


def sync_oparl_sources(session: Session, now: datetime, client: MeetingSource | None = None) -> int:
    """Pull meetings modified since each source's last successful run; return how
    many sources synced. Tests pass their own ``client``."""
    if client is None:
        user_agent = current_app.config.get("AUSHANG_OPARL_USER_AGENT") or DEFAULT_USER_AGENT
        client = OParlClient(user_agent=user_agent)
    return sync_active_sources(session, now, client)


JOBS = [
    JobSpec(
        id="oparl.sync_sources",
        func=sync_oparl_sources,
        seconds=900,
        description="Sitzungen aus Ratsinformationssystemen (OParl) als Entwürfe übernehmen",
    )
]
