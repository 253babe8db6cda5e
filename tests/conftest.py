"""Shared fixtures: an app on a fresh database, factories, and a fixed ``now``.

SQLite by default; PostgreSQL when TEST_DATABASE_URL is set. For PostgreSQL the suite
creates a private database per test session (so parallel runs never collide) and drops
it afterwards. The schema comes from the Alembic migrations, not from create_all, so
every run also proves the migrations.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from server import create_app
from server.config import PROJECT_ROOT, load_settings
from server.extensions import db

from .factories import Factory

FIXED_NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


def shared_fixtures_dir() -> Path | None:
    # Only the documented places: the environment, or ../shared/fixtures beside the checkout.
    candidates = [
        os.environ.get("AUSHANG_SHARED_FIXTURES"),
        str(PROJECT_ROOT.parent / "shared" / "fixtures"),
    ]
    for c in candidates:
        if c and Path(c).is_dir():
            return Path(c)
    return None


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """The real-world samples in ../shared/fixtures; skipped locally, fatal in CI."""
    found = shared_fixtures_dir()
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("shared fixtures missing (set AUSHANG_SHARED_FIXTURES)")
        pytest.skip("shared fixtures not found (../shared/fixtures)")
    return found


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        path = tmp_path_factory.mktemp("db") / "test.db"
        yield f"sqlite:///{path}"
        return
    url = make_url(base)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    name = f"aushang_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :n AND pid <> pg_backend_pid()"
                ),
                {"n": name},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture(scope="session")
def app(database_url: str, tmp_path_factory: pytest.TempPathFactory):
    instance = tmp_path_factory.mktemp("instance")
    settings = load_settings(
        {
            "AUSHANG_INSTANCE_PATH": str(instance),
            "DATABASE_URL": database_url,
            "SECRET_KEY": "test-secret",
            "AUSHANG_UPLOAD_MAX_MB": "2",
            # Heartbeats written at once: the unit tests send one at a time.
            "AUSHANG_HEARTBEAT_GATHER_SECONDS": "0",
        }
    )
    app = create_app({"TESTING": True, "WTF_CSRF_ENABLED": False}, settings=settings)
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
    return app


def _truncate_all() -> None:
    tables = list(reversed(db.metadata.sorted_tables))
    if db.engine.dialect.name == "postgresql":
        names = ", ".join(f'"{t.name}"' for t in tables)
        db.session.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    else:
        db.session.execute(text("PRAGMA foreign_keys=OFF"))
        for t in tables:
            db.session.execute(t.delete())
        db.session.execute(text("PRAGMA foreign_keys=ON"))
    db.session.commit()


@pytest.fixture()
def app_ctx(app):
    with app.app_context():
        yield app
        db.session.rollback()
        _truncate_all()
        db.session.remove()
        # Like the database, the file store starts empty for every test.
        shutil.rmtree(app.config["AUSHANG_DATA_DIR"], ignore_errors=True)
    _reset_process_state(app)


def _reset_process_state(app) -> None:
    """In-memory state that outlives a request (``server.runtime``: limiters and caches).
    Production keeps it for the life of the application; every test starts without it,
    like its database."""
    from server import notify, runtime
    from server.push import runtime as push_runtime

    notify.stop_listener()  # an earlier test's server may have left one on its database
    # The embedded push publisher (issue 15) is started by the first v2 stream and wakes on
    # every commit of the process: left running, it would publish (and mark sent) the
    # outbox rows of later tests on the shared database, and hold its write lock.
    push_runtime.stop_local_publishers()
    runtime.reset(app)


@pytest.fixture()
def session(app_ctx):
    return db.session


@pytest.fixture()
def client(app_ctx):
    return app_ctx.test_client()


@pytest.fixture()
def now() -> datetime:
    return FIXED_NOW


@pytest.fixture()
def factory(session, now) -> Factory:
    return Factory(session, now)


def login(client, email: str, password: str = Factory.PASSWORD):
    return client.post("/login", data={"email": email, "password": password})
