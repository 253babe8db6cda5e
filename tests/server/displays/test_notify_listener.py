"""Changes committed by another process reach this process's hub: LISTEN/NOTIFY on
PostgreSQL, reading the revision table on SQLite."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text

from server import notify
from server.extensions import db


def _other_process_change(scope: str) -> None:
    """What another server process does: bump the revision and notify, no ORM events."""
    engine = db.engine
    with engine.begin() as conn:
        row = conn.execute(
            text("SELECT revision FROM display_change WHERE scope = :s"), {"s": scope}
        ).first()
        rev = (row[0] if row else 0) + 1
        if row:
            conn.execute(
                text("UPDATE display_change SET revision = :r WHERE scope = :s"),
                {"r": rev, "s": scope},
            )
        else:
            conn.execute(
                text(
                    "INSERT INTO display_change (scope, revision, changed_at) VALUES (:s, :r, :t)"
                ),
                {
                    "s": scope,
                    "r": rev,
                    "t": datetime(2026, 11, 20, tzinfo=UTC).replace(tzinfo=None)
                    if engine.dialect.name == "sqlite"
                    else datetime(2026, 11, 20, tzinfo=UTC),
                },
            )
        if engine.dialect.name == "postgresql":
            conn.execute(
                text("SELECT pg_notify(:c, :p)"), {"c": notify.CHANNEL, "p": f"{scope}:{rev}"}
            )


def test_change_in_another_process_wakes_waiters(app_ctx):
    listener = notify.Listener(db.engine, poll_s=0.05).start()
    try:
        assert listener.connected.wait(10)
        scope = "tenant:4242"
        with notify.hub.subscribe([scope]) as waiter:
            _other_process_change(scope)
            assert waiter.wait(10), "the listener did not bring the change in"
    finally:
        listener.stop()


def test_commit_in_this_process_wakes_at_once(app_ctx, session, factory):
    tenant = factory.tenant("wachstadt")
    session.commit()
    scope = notify.tenant_scope(tenant.id)
    with notify.hub.subscribe([scope]) as waiter:
        tenant.name = "Wachstadt (neu)"
        assert not waiter.is_set()  # nothing before the commit
        session.commit()
        assert waiter.is_set()
