"""Scheduled OParl import: every active source of every tenant, incrementally."""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import OParlSource
from ..services.oparl_import import sync_source
from ..sources.oparl import DEFAULT_USER_AGENT, OParlClient
from . import JobSpec


def sync_oparl_sources(session: Session, now: datetime) -> int:
    """Pull meetings modified since each source's last successful run."""
    user_agent = current_app.config.get("AUSHANG_OPARL_USER_AGENT") or DEFAULT_USER_AGENT
    client = OParlClient(user_agent=user_agent)
    done = 0
    for source in session.scalars(select(OParlSource).where(OParlSource.active)).all():
        if sync_source(session, source, now, client) is not None:
            done += 1
    return done


JOBS = [
    JobSpec(
        id="oparl.sync_sources",
        func=sync_oparl_sources,
        seconds=900,
        description="Sitzungen aus Ratsinformationssystemen (OParl) als Entwürfe übernehmen",
    )
]
