"""``aushang publisher``: the one publisher of an installation, as its own process."""

from __future__ import annotations

import logging
import signal
from types import FrameType

import click
from flask import current_app
from flask.cli import with_appcontext

log = logging.getLogger("aushang.push")


@click.command("publisher")
@with_appcontext
def publisher_command() -> None:
    """Sendet Änderungen an die Anzeigen (Push-Server, Protokoll 2); einmal je Installation."""
    from ..extensions import db
    from .runtime import make_runner

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    runner = make_runner(app)
    runner.poll_s = float(app.config.get("AUSHANG_NOTIFY_POLL_SECONDS", 1.0))

    def _stop(signum: int, frame: FrameType | None) -> None:
        runner.stop_event.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    engine = db.engine
    log.info("event=push_publisher_start dialect=%s", engine.dialect.name)
    if engine.dialect.name == "postgresql":
        url = engine.url.set(drivername="postgresql")
        runner.run_postgres(url.render_as_string(hide_password=False))
    else:
        runner.run_local()  # SQLite: reads the outbox every poll interval
