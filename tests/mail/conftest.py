"""Fixtures of the messaging tests: the fake SMTP server and push service, and a
helper that runs the sender job the way the scheduler does."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest

from server.extensions import db

from .fakes import PushService, SmtpServer


@pytest.fixture()
def smtp(app_ctx) -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    previous = app_ctx.config.get("AUSHANG_SMTP_URL")
    app_ctx.config["AUSHANG_SMTP_URL"] = server.url
    yield server
    app_ctx.config["AUSHANG_SMTP_URL"] = previous
    server.stop()


@pytest.fixture()
def push_service(app_ctx) -> Iterator[PushService]:
    service = PushService()
    previous = app_ctx.config.get("AUSHANG_PUSH_SERVICES")
    app_ctx.config["AUSHANG_PUSH_SERVICES"] = ("127.0.0.1",)
    yield service
    app_ctx.config["AUSHANG_PUSH_SERVICES"] = previous
    service.close()


@pytest.fixture()
def send(app_ctx):
    """Run the sender job body once at ``now`` (the scheduler's runner would)."""
    from server.jobs.messages import send_outbox

    def run(now: datetime) -> int:
        handled = send_outbox(db.session, now)
        db.session.commit()
        return handled

    return run
