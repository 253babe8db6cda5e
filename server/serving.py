"""Production serving: gunicorn embedded as a library (``aushang serve``).

Why gthread by default: players hold a long-poll open on the manifest for up to a minute,
so almost every connection is idle almost all the time. In the gthread worker an idle
keep-alive connection costs a slot in the poller, and a waiting long-poll costs one
(mostly sleeping) thread; wakeups are ``threading`` primitives. The measurement that
chose it (against gevent) is in ``docs/performance.md``; the README section "Production"
sums it up.

gevent stays selectable (``--worker-class gevent``, needs ``pip install gevent``). psycopg 3
cooperates with gevent only when ``select`` is already monkey-patched at the moment
``psycopg.waiting`` is imported; otherwise it waits in C and blocks the whole worker. So
the master process never creates the app (``preload_app`` stays off) and nothing here
imports psycopg: the app and its database driver load inside each worker, after gunicorn's
gevent worker has patched the standard library.
"""

from __future__ import annotations

import logging
import multiprocessing
import resource
import sys
from dataclasses import dataclass
from typing import Any

from gunicorn.app.base import BaseApplication

from .config import Settings

log = logging.getLogger("aushang.serve")

WORKER_CLASSES = ("gthread", "gevent", "sync")

# What gunicorn answers itself (a malformed request line, oversized headers) never
# reaches Flask, so it gets the app's security headers here; the page has no assets.
ERROR_PAGE_HEADERS = (
    ("Content-Security-Policy", "default-src 'none'; base-uri 'none'; frame-ancestors 'none'"),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
    ("Cache-Control", "no-store"),
)
ERROR_PAGE_TEXTS = {
    400: ("Ungültige Anfrage", "Die Anfrage war unvollständig oder fehlerhaft."),
    403: ("Keine Berechtigung", "Diese Anfrage ist nicht erlaubt."),
    414: ("Adresse zu lang", "Die angeforderte Adresse ist zu lang."),
    431: ("Kopfzeilen zu groß", "Die Kopfzeilen der Anfrage sind zu groß."),
}


def write_error(sock: Any, status_int: int, reason: str, mesg: str) -> None:
    """gunicorn's ``util.write_error`` with security headers and a German page.

    The detail gunicorn passes (it quotes the bad request line) goes to its log, not
    into the page: nothing from the request is reflected."""
    from gunicorn import util

    title, text = ERROR_PAGE_TEXTS.get(
        status_int, ("Fehler", "Die Anfrage konnte nicht bearbeitet werden.")
    )
    body = (
        '<!doctype html>\n<html lang="de"><head><meta charset="utf-8">'
        f"<title>{status_int} {title}</title></head>"
        f"<body><h1>{title}</h1><p>{text}</p></body></html>\n"
    ).encode()
    head = [
        f"HTTP/1.1 {status_int} {reason}",
        "Connection: close",
        "Content-Type: text/html; charset=utf-8",
        f"Content-Length: {len(body)}",
        *(f"{name}: {value}" for name, value in ERROR_PAGE_HEADERS),
    ]
    util.write_nonblock(sock, ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)


def install_error_page() -> None:
    """Make every gunicorn worker answer its own errors through ``write_error``.

    gunicorn has one call site (``Worker.handle_error`` → ``util.write_error``) for all
    worker classes; replacing the module function in the master before it forks
    covers sync, gthread and gevent alike, without a worker subclass per class."""
    from gunicorn import util

    util.write_error = write_error


@dataclass(frozen=True)
class ServeOptions:
    """What ``aushang serve`` passes to gunicorn; defaults come from the environment
    (``server/config.py``), command-line options override them."""

    bind: tuple[str, ...]
    workers: int
    threads: int
    worker_class: str
    connections: int
    keepalive: int
    graceful_timeout: int
    access_log: str

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> ServeOptions:
        values: dict[str, Any] = {
            "bind": tuple(b.strip() for b in settings.serve_bind.split(",") if b.strip()),
            "workers": settings.serve_workers,
            "threads": settings.serve_threads,
            "worker_class": settings.serve_worker_class,
            "connections": settings.serve_connections,
            "keepalive": settings.serve_keepalive,
            "graceful_timeout": settings.serve_graceful_timeout,
            "access_log": settings.serve_access_log,
        }
        values.update({k: v for k, v in overrides.items() if v not in (None, ())})
        if values["workers"] <= 0:
            values["workers"] = multiprocessing.cpu_count()
        if values["worker_class"] not in WORKER_CLASSES:
            raise ValueError(
                f"Unbekannte Worker-Art „{values['worker_class']}“ "
                f"(möglich: {', '.join(WORKER_CLASSES)})."
            )
        if settings.database_url.startswith("sqlite") and values["workers"] > 1:
            # Wakeups of waiting long-polls cross processes only through PostgreSQL
            # LISTEN/NOTIFY; with SQLite every player must sit in the one process that
            # sees the change.
            log.warning("event=serve_single_worker reason=sqlite workers=%d", values["workers"])
            values["workers"] = 1
        return cls(**values)

    def gunicorn_config(self) -> dict[str, Any]:
        # Every long-poll that waits holds one thread (gthread) or greenlet (gevent);
        # keep-alive connections between polls only need a connection slot. The slots
        # must exceed the threads, or gthread cannot keep any connection alive.
        connections = max(self.connections, self.threads + 64)
        cfg: dict[str, Any] = {
            "bind": list(self.bind),
            "workers": self.workers,
            "worker_class": self.worker_class,
            "worker_connections": connections,
            # Above nginx's upstream keepalive_timeout (60 s), so nginx closes first.
            "keepalive": self.keepalive,
            "graceful_timeout": self.graceful_timeout,
            # gthread and gevent answer gunicorn's heartbeat from their own loop, so a
            # minute-long long-poll does not count as a hung worker.
            "timeout": 30,
            "preload_app": False,
            "errorlog": "-",
            "accesslog": self.access_log or None,
            "proc_name": "aushang-web",
            # Trust X-Forwarded-Proto/-For from the local reverse proxy only.
            "forwarded_allow_ips": "127.0.0.1,::1",
        }
        if self.worker_class == "gthread":
            cfg["threads"] = self.threads
        return cfg


class AushangApplication(BaseApplication):
    """gunicorn without a config file: options in, ``create_app()`` in each worker."""

    def __init__(self, options: ServeOptions, app_config: dict[str, Any] | None = None) -> None:
        self.options = options
        self.app_config = app_config
        super().__init__()

    def load_config(self) -> None:
        install_error_page()
        for key, value in self.options.gunicorn_config().items():
            if value is not None:
                self.cfg.set(key, value)
        if "control_socket_disable" in self.cfg.settings:
            # gunicorn ≥ 25.1 opens a control socket under $HOME by default; systemd
            # manages the process and the unit's home is read-only.
            self.cfg.set("control_socket_disable", True)

    def load(self) -> Any:
        from . import create_app

        app = create_app(self.app_config)
        if self.options.worker_class == "gevent":
            import psycopg.waiting

            # psycopg chooses its wait function at import; the C one blocks the worker.
            log.info(
                "event=worker_ready worker_class=gevent psycopg_wait=%s",
                getattr(psycopg.waiting.wait, "__name__", "?"),
            )
        return app


def raise_file_limit(wanted: int) -> int:
    """Raise the soft limit of open files towards ``wanted`` (capped by the hard limit).

    Every connected player is a socket; the common soft limit of 1024 would refuse the
    1025th. systemd units set ``LimitNOFILE=`` as well, which raises the hard limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted + 256
    if hard != resource.RLIM_INFINITY:
        target = min(target, hard)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    if soft < wanted:
        log.warning("event=file_limit_low soft=%d wanted=%d", soft, wanted)
    return soft


def serve(options: ServeOptions) -> None:
    """Run until SIGTERM/SIGINT (gunicorn's master handles signals and workers)."""
    if options.worker_class == "gevent" and "psycopg" in sys.modules:
        log.warning("event=psycopg_imported_before_fork effect=gevent_workers_block_on_database")
    log.info(
        "event=serve_start bind=%s workers=%d worker_class=%s threads=%d connections=%d",
        ",".join(options.bind),
        options.workers,
        options.worker_class,
        options.threads,
        options.connections,
    )
    AushangApplication(options).run()
