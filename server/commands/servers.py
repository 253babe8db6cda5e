"""The long-running processes: development server, production server, scheduler."""

from __future__ import annotations

import atexit
import logging
import sys
from typing import Any

import click
from flask.cli import with_appcontext

from ..processes import Process, start_child
from .common import demo_player_dir, fail, flask_app

LOG_FORMAT = "%(asctime)s %(name)s %(message)s"


def _start_demo_player(base: str, kiosk_port: int) -> Process[bytes] | None:
    """The player daemon of the demo, as a Raspberry Pi would run it, enrolled with
    the provisioning token that ``demo load`` left in the instance folder."""
    folder = demo_player_dir()
    token_file = folder / "provisioning_token"
    if not token_file.exists():
        click.echo("Demo-Anzeige: kein Token (Demodaten nicht mit `aushang demo load` geladen).")
        return None
    config = folder / "player.ini"
    config.write_text(
        "[server]\n"
        f"url = {base}\n"
        f"provisioning_token = {token_file.read_text().strip()}\n"
        "[player]\n"
        f"state_dir = {folder / 'state'}\n"
        "kiosk_host = 127.0.0.1\n"
        f"kiosk_port = {kiosk_port}\n"
        "[screen]\n"
        "control = none\n"
    )
    config.chmod(0o600)
    log_file = open(folder / "player.log", "ab")  # noqa: SIM115  (lives as long as the child)
    child = start_child([sys.executable, "-m", "player", "--config", str(config)], log_file)
    atexit.register(child.terminate)
    return child


def mail_banner(app: Any, base: str) -> str:
    """Where mail goes: without ``AUSHANG_SMTP_URL`` a local Maildir (issue 18)."""
    if app.config.get("AUSHANG_SMTP_URL"):
        return "E-Mail: Versand über AUSHANG_SMTP_URL."
    return (
        f"E-Mail: kein SMTP-Server konfiguriert; alle Mails landen im Maildir "
        f"{app.config['AUSHANG_MAILDIR']} (lesbar unter {base}/admin/system/post)"
    )


@click.command("run")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--no-scheduler", is_flag=True, help="Keine periodischen Aufgaben im Prozess.")
@click.option(
    "--demo-player/--no-demo-player",
    default=False,
    help="Eine Demo-Anzeige (Player-Dienst mit Kiosk-Seite) mitstarten.",
)
@click.option("--kiosk-port", default=8080, show_default=True, type=int)
@click.option("--verbose", "-v", is_flag=True, help="Auch Zugriffe und Läufe des Planers anzeigen.")
@with_appcontext
def run_command(
    host: str, port: int, no_scheduler: bool, demo_player: bool, kiosk_port: int, verbose: bool
) -> None:
    """Development all-in-one: web server and scheduler in one process, and optionally a
    demo player with its kiosk page. Without ``--verbose`` only warnings and the
    addresses reach the console (issue 17), the addresses last."""
    from ..jobs.runner import start_background

    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format=LOG_FORMAT)
    if not verbose:  # access log and scheduler chatter only on request
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
    app = flask_app()
    if not no_scheduler:
        start_background(app)
    base = f"http://{host}:{port}"
    player = demo_player and _start_demo_player(base, kiosk_port) is not None
    from werkzeug.serving import run_simple

    click.echo(f"Aushang läuft auf {base}/  (Anmeldung: {base}/login)")
    click.echo(mail_banner(app, base))
    if player:
        click.echo(
            f"Demo-Anzeige (Kiosk-Seite des Players): http://127.0.0.1:{kiosk_port}/  "
            f"(Protokoll: {demo_player_dir() / 'player.log'})"
        )
    run_simple(host, port, app, threaded=True, use_reloader=False)


@click.command("serve")
@click.option(
    "--bind",
    "binds",
    multiple=True,
    help="Adresse, z. B. 127.0.0.1:8000 oder unix:/run/aushang/web.sock (mehrfach möglich; Standard: AUSHANG_BIND)",
)
@click.option(
    "--workers",
    type=int,
    default=None,
    help="Prozesse (Standard: AUSHANG_WORKERS, 0 = Anzahl der Kerne)",
)
@click.option(
    "--threads",
    type=int,
    default=None,
    help="Threads je Prozess für gthread (Standard: AUSHANG_THREADS)",
)
@click.option(
    "--worker-class",
    default=None,
    type=click.Choice(["gthread", "gevent", "sync"]),
    help="Standard: AUSHANG_WORKER_CLASS (gthread)",
)
@click.option(
    "--connections",
    type=int,
    default=None,
    help="Gleichzeitige Verbindungen je Prozess (Standard: AUSHANG_WORKER_CONNECTIONS)",
)
def serve_command(
    binds: tuple[str, ...],
    workers: int | None,
    threads: int | None,
    worker_class: str | None,
    connections: int | None,
) -> None:
    """Production web server (gunicorn); the scheduler runs separately."""
    # No app context here on purpose: the master must not import the database driver
    # (see server/serving.py); each worker creates the app itself.
    from ..config import load_settings
    from ..serving import ServeOptions, raise_file_limit, serve

    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    try:
        options = ServeOptions.from_settings(
            load_settings(),
            bind=tuple(binds),
            workers=workers,
            threads=threads,
            worker_class=worker_class,
            connections=connections,
        )
    except ValueError as exc:
        fail(str(exc))
    raise_file_limit(options.workers * options.gunicorn_config()["worker_connections"])
    serve(options)


@click.command("scheduler")
@with_appcontext
def scheduler_command() -> None:
    """Periodic jobs as their own process (one instance across hosts)."""
    from ..jobs.runner import run_forever

    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    sys.exit(run_forever(flask_app()))
