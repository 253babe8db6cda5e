"""The job runner: jobs as declared, one transaction per run, failures contained."""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.pool import NullPool

from server.domain.posting import utcnow
from server.extensions import db
from server.jobs import JobSpec, all_jobs, runner
from server.models import AuditEntry
from server.services import audit

T0 = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)

DECLARED = {
    "notices.record_phase_changes": 60,
    "notices.server_heartbeat": 60,
    "oparl.sync_sources": 900,
    "alerts.poll_nina": 30,
    "alerts.tick": 15,
    "displays.detect_outages": 60,
    "displays.thin_heartbeats": 6 * 3600,
    "messages.send": 10,
    "messages.citizens": 20,
    "messages.hints": 900,
    "messages.forget_sent": 86400,
}


def test_every_job_is_declared_once_with_its_interval():
    specs = all_jobs()
    assert [s.id for s in specs] == list(DECLARED)  # unique, in declaration order
    assert {s.id: s.seconds for s in specs} == DECLARED
    assert all(s.description for s in specs)  # the scheduler shows it as the job name


class FakeScheduler:
    def __init__(self) -> None:
        self.added: list[tuple] = []

    def add_job(self, func, trigger, **options) -> None:
        self.added.append((func, trigger, options))


def test_each_job_runs_through_run_job_on_its_interval_without_overlap(app):
    scheduler = FakeScheduler()
    specs = all_jobs()
    runner._add_jobs(scheduler, app, specs)
    assert len(scheduler.added) == len(specs)
    for spec, (func, trigger, options) in zip(specs, scheduler.added, strict=True):
        assert func is runner.run_job and trigger == "interval"
        assert options["id"] == spec.id and options["seconds"] == spec.seconds
        assert options["args"] == [app, spec]
        assert options["name"] == spec.description
        # A slow run is never doubled, and missed runs after downtime collapse to one.
        assert options["max_instances"] == 1 and options["coalesce"] is True


def _writes(tag: str, *, fail: bool = False, seen: list | None = None) -> JobSpec:
    """A job that appends one audit row and then succeeds or raises."""

    def body(session, now):
        if seen is not None:
            seen.append(now)
        audit.record(
            session, now=now, action="test.job", object_type="job", object_id=tag, actor="system"
        )
        if fail:
            raise RuntimeError(f"{tag} kaputt")
        return tag

    return JobSpec(id=f"test.{tag}", func=body, seconds=1)


def _recorded(app) -> list[str]:
    with app.app_context():
        try:
            return list(
                db.session.scalars(
                    select(AuditEntry.object_id)
                    .where(AuditEntry.action == "test.job")
                    .order_by(AuditEntry.seq)
                )
            )
        finally:
            db.session.remove()


def test_each_run_commits_on_its_own_and_a_failing_one_is_rolled_back_and_logged(app_ctx, caplog):
    caplog.set_level(logging.INFO, logger="aushang.jobs")
    assert runner.run_job(app_ctx, _writes("erster"), now=T0) == "erster"
    assert runner.run_job(app_ctx, _writes("kaputt", fail=True), now=T0) is None
    assert runner.run_job(app_ctx, _writes("danach"), now=T0) == "danach"

    assert _recorded(app_ctx) == ["erster", "danach"]
    failed = [r for r in caplog.records if "event=failed" in r.getMessage()]
    assert [r.getMessage() for r in failed] == ["job=test.kaputt event=failed"]
    assert failed[0].levelno == logging.ERROR and failed[0].exc_info is not None
    assert "job=test.danach event=done result=danach" in caplog.text
    assert audit.verify(db.session).ok  # the rolled-back row left no gap in the chain


def test_now_is_taken_once_at_the_edge_and_passed_in(app_ctx):
    seen: list[datetime] = []
    runner.run_job(app_ctx, _writes("fest", seen=seen), now=T0)
    before = utcnow()
    runner.run_job(app_ctx, _writes("jetzt", seen=seen))
    after = utcnow()
    assert seen[0] == T0
    assert seen[1].tzinfo is not None and before <= seen[1] <= after


def test_job_kwargs_are_passed_to_the_body(app_ctx):
    got = {}

    def body(session, now, *, minutes):
        got["minutes"] = minutes
        return 0

    runner.run_job(app_ctx, JobSpec(id="test.kw", func=body, seconds=60, kwargs={"minutes": 7}))
    assert got == {"minutes": 7}


def _stop(scheduler) -> None:
    scheduler.shutdown(wait=True)
    scheduler._aushang_lock.release()


def test_the_scheduler_survives_a_failing_job_and_runs_it_again(app_ctx):
    calls = []
    second_call = threading.Event()

    def failing(session, now):
        calls.append(now)
        if len(calls) == 2:
            second_call.set()
        raise RuntimeError("Quelle nicht erreichbar")

    done = threading.Event()

    def fine(session, now):
        done.set()
        return 0

    scheduler = runner.start_background(
        app_ctx,
        [JobSpec(id="test.failing", func=failing, seconds=1), JobSpec("test.fine", fine, 60)],
    )
    assert scheduler is not None
    try:
        assert done.wait(10), "the other job did not run"
        assert second_call.wait(10), "the failing job was not run again"
        assert scheduler.running
    finally:
        _stop(scheduler)
    assert len(calls) >= 2


def test_the_scheduler_process_runs_its_jobs_until_stopped(app_ctx, caplog):
    caplog.set_level(logging.INFO, logger="aushang.jobs")
    ran, stop, result = threading.Event(), threading.Event(), []

    def job(session, now):
        ran.set()
        return 0

    process = threading.Thread(
        target=lambda: result.append(
            runner.run_forever(app_ctx, [JobSpec("test.job", job, 60)], stop=stop)
        )
    )
    process.start()
    try:
        assert ran.wait(10), "the job did not run"
    finally:
        stop.set()
        process.join(10)
    assert not process.is_alive() and result == [0]
    assert "event=scheduler_started mode=process jobs=1" in caplog.text
    assert "event=scheduler_stopped" in caplog.text


def _postgresql_only(app) -> None:
    if db.engine.dialect.name != "postgresql":
        pytest.skip("the leader lock exists on PostgreSQL only")


def _lock_is_free() -> bool:
    """Asked from a session of its own: advisory locks are re-entrant within one."""
    other = create_engine(db.engine.url, poolclass=NullPool)
    try:
        with other.connect() as conn:
            key = {"k": runner.SCHEDULER_LOCK_KEY}
            got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), key).scalar()
            if got:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), key)
            return bool(got)
    finally:
        other.dispose()


def test_sqlite_needs_no_leader_lock(app_ctx):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite only")
    first, second = runner._LeaderLock(app_ctx), runner._LeaderLock(app_ctx)
    assert first.acquire() and second.acquire() and first.conn is None


def test_only_one_scheduler_leads_on_postgresql(app_ctx, caplog):
    _postgresql_only(app_ctx)
    caplog.set_level(logging.INFO, logger="aushang.jobs")
    leader = runner._LeaderLock(app_ctx)
    assert leader.acquire()
    try:
        assert runner._LeaderLock(app_ctx).acquire() is False
        assert runner.start_background(app_ctx, []) is None
        assert "event=scheduler_not_leader" in caplog.text
        stop = threading.Event()
        stop.set()
        assert runner.run_forever(app_ctx, [], stop=stop) == 0  # waits, then stops
        assert "event=scheduler_waiting" in caplog.text
        assert not _lock_is_free()
    finally:
        leader.release()
    assert _lock_is_free()  # given back, not kept by a pooled connection


def test_a_stopped_scheduler_process_gives_the_lock_back(app_ctx):
    _postgresql_only(app_ctx)
    stop = threading.Event()
    process = threading.Thread(target=runner.run_forever, args=(app_ctx, []), kwargs={"stop": stop})
    process.start()
    try:
        assert _wait_until(lambda: not _lock_is_free()), "the process never led"
    finally:
        stop.set()
        process.join(10)
    assert not process.is_alive()
    assert _lock_is_free()


def _wait_until(condition, deadline_s: float = 10.0) -> bool:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if condition():
            return True
        threading.Event().wait(0.05)
    return False
