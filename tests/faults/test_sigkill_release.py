"""The server killed with SIGKILL in the middle of a release (issue 8, faults): a child
process runs the release through the real staff view and kills itself at every step in
turn — before each SQL statement, at the commit, just after it. Afterwards the database is
consistent: the version is either released (content hash, status, current version and
exactly one audit row) or still submitted with nothing of the release written; the audit
chain verifies; no half-written versions. A release after the crash succeeds."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from server.models import AuditEntry, Notice, NoticeVersion
from server.services import audit
from server.services import notices as svc

CHILD = Path(__file__).with_name("release_child.py")


def _submitted(factory, session, tenant, cat, editor, now, title: str) -> Notice:
    notice = svc.create_notice(session, tenant, editor, factory.notice_input(cat, title=title), now)
    svc.submit(session, notice, editor, now)
    session.commit()
    return notice


def _run_child(app, tenant, notice, approver, kill_at: int, now) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            str(CHILD),
            app.config["SQLALCHEMY_DATABASE_URI"],
            app.instance_path,
            tenant.slug,
            notice.number,
            str(approver.id),
            str(kill_at),
            now.isoformat(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


def _check_consistent(session, notice_id: int) -> str:
    session.expire_all()
    notice = session.get(Notice, notice_id)
    versions = session.scalars(
        select(NoticeVersion).where(NoticeVersion.notice_id == notice_id)
    ).all()
    assert len(versions) == 1, "no extra or half-written versions"
    version = versions[0]
    rows = session.scalars(
        select(AuditEntry).where(
            AuditEntry.action == "notice.release", AuditEntry.object_id == str(version.id)
        )
    ).all()
    verified = audit.verify(session)
    assert verified.ok, verified.reason
    if version.status == "released":
        assert version.content_hash and len(version.content_hash) == 64
        assert version.released_at is not None and version.released_by_id is not None
        assert notice.status == "released" and notice.current_version_id == version.id
        assert notice.provided_at is not None
        assert len(rows) == 1 and version.content_hash in rows[0].details
        return "released"
    assert version.status == "submitted"
    assert version.content_hash is None and version.released_at is None
    assert notice.status != "released" and notice.current_version_id is None
    assert rows == []
    return "submitted"


def _world(factory, session):
    tenant = factory.tenant("musterstadt", name="Stadt Musterstadt")
    cat = factory.category(tenant, "Satzungen", binding=("internet", "board"))
    editor = factory.user(tenant, "editor", email="editor@kill.example")
    approver = factory.user(tenant, "approver", email="approver@kill.example")
    # Some history in the audit chain before the crashes.
    factory.released_notice(tenant, cat, editor, approver, title="Vorher freigegeben")
    session.commit()
    return tenant, cat, editor, approver


def _kill_run(app, factory, session, now, kill_points) -> dict[str, int]:
    tenant, cat, editor, approver = _world(factory, session)
    # How many steps has a whole release? (kill_at 0 = never)
    probe = _submitted(factory, session, tenant, cat, editor, now, "Probe")
    done = _run_child(app, tenant, probe, approver, 0, now)
    assert done.returncode == 0, done.stderr[-2000:]
    steps = int(done.stdout.split("steps=")[1])
    assert _check_consistent(session, probe.id) == "released"
    outcomes = {"released": 0, "submitted": 0, "killed": 0}
    for kill_at in kill_points(steps):
        notice = _submitted(factory, session, tenant, cat, editor, now, f"Kill {kill_at}")
        result = _run_child(app, tenant, notice, approver, kill_at, now)
        assert result.returncode == -signal.SIGKILL, (kill_at, result.stdout, result.stderr[-2000:])
        outcomes["killed"] += 1
        outcomes[_check_consistent(session, notice.id)] += 1
        if notice.status != "released":
            # The server comes back: the same release now goes through.
            again = _run_child(app, tenant, notice, approver, 0, now)
            assert again.returncode == 0, again.stderr[-2000:]
            assert _check_consistent(session, notice.id) == "released"
    print(f"\nrelease has {steps} steps; kills: {outcomes}")
    return outcomes


def test_sigkill_at_sampled_points_of_a_release(app, factory, session, now):
    """Fast variant: the first statement, the commit, just after it, and a middle one."""

    def points(steps: int) -> list[int]:
        return sorted({1, steps // 2, steps - 1, steps})

    outcomes = _kill_run(app, factory, session, now, points)
    assert outcomes["killed"] >= 3 and outcomes["released"] >= 1 and outcomes["submitted"] >= 1


@pytest.mark.slow
def test_sigkill_at_every_step_of_a_release(app, factory, session, now):
    outcomes = _kill_run(app, factory, session, now, lambda steps: range(1, steps + 1))
    assert outcomes["released"] >= 1 and outcomes["submitted"] >= 1


@pytest.mark.slow
def test_sigkill_at_random_points_repeatedly(app, factory, session, now):
    rng = random.Random(8)
    outcomes = _kill_run(
        app, factory, session, now, lambda steps: [rng.randint(1, steps) for _ in range(15)]
    )
    assert outcomes["killed"] == 15
