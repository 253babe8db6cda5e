"""The one place that owns APScheduler: app context, ``now``, the unit of work, logging.

A failing job is logged and rolled back; it never stops the scheduler. On PostgreSQL a
session-level advisory lock keeps the scheduler to one instance across hosts.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask
from sqlalchemy import text

from ..domain.posting import utcnow
from ..extensions import db
from ..uow import unit_of_work
from . import JobSpec, all_jobs

log = logging.getLogger("aushang.jobs")
SCHEDULER_LOCK_KEY = 4711002


def run_job(app: Flask, spec: JobSpec, now: datetime | None = None) -> Any:
    """Run one job body as one unit of work: committed, or rolled back and logged."""
    with app.app_context():
        now = now or utcnow()
        try:
            with unit_of_work() as session:
                result = spec.func(session, now, **spec.kwargs)
        except Exception:
            log.exception("job=%s event=failed", spec.id)
            return None
        finally:
            db.session.remove()
        if result:
            log.info("job=%s event=done result=%s", spec.id, result)
        return result


class _LeaderLock:
    """Holds a PostgreSQL advisory lock on a dedicated connection for the life of the
    scheduler. SQLite installations are single-host by nature; no lock is needed."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.conn: Any = None

    def acquire(self) -> bool:
        with self.app.app_context():
            engine = db.engine
            if engine.dialect.name != "postgresql":
                return True
            self.conn = engine.connect()
            got = self.conn.execute(
                text("SELECT pg_try_advisory_lock(:k)"), {"k": SCHEDULER_LOCK_KEY}
            ).scalar()
            self.conn.commit()
            if not got:
                self.conn.close()
                self.conn = None
            return bool(got)

    def release(self) -> None:
        # Back in the pool the connection would keep holding the session-level lock
        # (a rollback does not end it): close the database session itself.
        if self.conn is not None:
            self.conn.invalidate()
            self.conn.close()
            self.conn = None


def _add_jobs(scheduler: Any, app: Flask, jobs: list[JobSpec]) -> None:
    for spec in jobs:
        scheduler.add_job(
            run_job,
            "interval",
            seconds=spec.seconds,
            args=[app, spec],
            id=spec.id,
            name=spec.description or spec.id,
            max_instances=1,
            coalesce=True,
            next_run_time=utcnow(),
        )


def start_background(app: Flask, jobs: list[JobSpec] | None = None) -> BackgroundScheduler | None:
    """For the all-in-one development server: jobs in a thread of the process."""
    lock = _LeaderLock(app)
    if not lock.acquire():
        log.info("event=scheduler_not_leader")
        return None
    scheduler = BackgroundScheduler(timezone="UTC")
    _add_jobs(scheduler, app, jobs if jobs is not None else all_jobs())
    scheduler.start()
    scheduler._aushang_lock = lock  # keep the connection alive with the scheduler
    log.info("event=scheduler_started mode=thread")
    return scheduler


def run_forever(
    app: Flask, jobs: list[JobSpec] | None = None, stop: threading.Event | None = None
) -> int:
    """``aushang scheduler``: the production process. Waits to become leader."""
    # A background scheduler and a wait on ``stop`` rather than BlockingScheduler: one
    # path for production and tests, and the lock is given back however it ends
    # (Ctrl-C, a supervisor setting ``stop``).
    stop = stop or threading.Event()
    lock = _LeaderLock(app)
    waited = False
    while not lock.acquire():
        if not waited:
            log.info("event=scheduler_waiting reason=another_instance_holds_lock")
            waited = True
        if stop.wait(15):
            return 0
    scheduler = BackgroundScheduler(timezone="UTC")
    _add_jobs(scheduler, app, jobs if jobs is not None else all_jobs())
    scheduler.start()
    log.info("event=scheduler_started mode=process jobs=%d", len(scheduler.get_jobs()))
    try:
        stop.wait()
    finally:
        scheduler.shutdown(wait=True)
        lock.release()
        log.info("event=scheduler_stopped")
    return 0
