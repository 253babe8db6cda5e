"""Messages benchmark: one warning for a Kommune with 10,000 e-mail and 10,000 Web Push
subscribers, until every message is handed to the local SMTP server and push service.

The SMTP server (aiosmtpd) and the push service (decrypts every message with http_ece
and checks its VAPID signature) run in their own processes, so they do not share the
sender's interpreter; they report when each message arrived. The sender is the real
job body (``server.jobs.messages``) on a throw-away SQLite database unless
BENCH_DATABASE_URL is set. Writes the table into docs/performance.md (block
``bench:messages``).

    python -m bench.messages [--emails 10000] [--pushes 10000] [--no-write]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from typing import Any

from bench.report import percentile, write_blocks

NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


def _smtp_process(port: int, ready: Any, expected: int, out: Any) -> None:
    from aiosmtpd.controller import Controller

    stamps: list[float] = []

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
            stamps.append(time.time())
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    deadline = time.time() + 900
    while len(stamps) < expected and time.time() < deadline:
        time.sleep(0.05)
    controller.stop()
    out.put(stamps)


def _push_process(count: int, keys_out: Any, out: Any, expected: int) -> None:
    import base64
    import json
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    import http_ece
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    sys.path.insert(0, os.getcwd())
    from tests.mail.fakes import verify_vapid

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    privates = [ec.generate_private_key(ec.SECP256R1()) for _ in range(count)]
    auths = [os.urandom(16) for _ in range(count)]
    stamps: list[float] = []
    bad: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:  # noqa: N802
            i = int(self.path.rsplit("/", 1)[-1])
            body = self.rfile.read(int(self.headers["Content-Length"]))
            try:
                verify_vapid(self.headers["Authorization"], origin)
                plain = http_ece.decrypt(
                    body, private_key=privates[i], auth_secret=auths[i], version="aes128gcm"
                )
                json.loads(plain)
                stamps.append(time.time())
                status = 201
            except Exception as exc:
                bad.append(repr(exc))
                status = 400
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    origin = f"http://127.0.0.1:{server.server_address[1]}"
    keys_out.put(
        [
            (
                f"{origin}/push/{i}",
                b64(
                    privates[i]
                    .public_key()
                    .public_bytes(
                        serialization.Encoding.X962,
                        serialization.PublicFormat.UncompressedPoint,
                    )
                ),
                b64(auths[i]),
            )
            for i in range(count)
        ]
    )
    import threading

    threading.Thread(target=server.serve_forever, daemon=True).start()
    deadline = time.time() + 900
    while len(stamps) + len(bad) < expected and time.time() < deadline:
        time.sleep(0.05)
    server.shutdown()
    out.put((stamps, bad))


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _seed(session: Any, emails: int, pushes: list[tuple[str, str, str]]) -> Any:
    from sqlalchemy import insert

    from server.models import EmailSubscription, PushSubscription
    from server.services import people

    tenant = people.create_tenant(
        session, name="Benchstadt", slug="benchstadt", ars="150855555555", now=NOW, actor="bench"
    )
    alerter = people.create_user(
        session,
        email="alerter@bench.example",
        name="Bench",
        password="Bench-Passwort-2026",
        now=NOW,
        actor="bench",
        tenant=tenant,
        roles=["alerter"],
    )
    session.execute(
        insert(EmailSubscription),
        [
            {
                "tenant_id": tenant.id,
                "email": f"buerger{i}@bench.example",
                "categories": "",
                "notices": False,
                "warnings": True,
                "mode": "immediate",
                "confirmed_at": NOW,
            }
            for i in range(emails)
        ],
    )
    session.execute(
        insert(PushSubscription),
        [
            {
                "tenant_id": tenant.id,
                "endpoint": endpoint,
                "p256dh": p256dh,
                "auth": auth,
                "warnings": True,
                "notices": False,
                "created_at": NOW,
            }
            for endpoint, p256dh, auth in pushes
        ],
    )
    return tenant, alerter


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run(emails: int, pushes: int) -> dict[str, Any]:
    from flask_migrate import upgrade

    from server import create_app
    from server.config import load_settings
    from server.extensions import db
    from server.jobs.messages import queue_citizen_messages, send_outbox
    from tests.factories import issue_template_alert

    ctx = mp.get_context("spawn")
    smtp_port = _free_port()
    ready, smtp_out = ctx.Event(), ctx.Queue()
    smtp = ctx.Process(target=_smtp_process, args=(smtp_port, ready, emails, smtp_out))
    keys_q, push_out = ctx.Queue(), ctx.Queue()
    push = ctx.Process(target=_push_process, args=(pushes, keys_q, push_out, pushes))
    smtp.start()
    push.start()
    ready.wait(30)
    push_keys = keys_q.get(timeout=300)
    with tempfile.TemporaryDirectory() as tmp:
        url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{tmp}/bench.db"
        settings = load_settings(
            {
                "AUSHANG_INSTANCE_PATH": tmp,
                "DATABASE_URL": url,
                "SECRET_KEY": "bench",
                "AUSHANG_SMTP_URL": f"smtp://127.0.0.1:{smtp_port}",
                "AUSHANG_PUSH_SERVICES": "127.0.0.1",
            }
        )
        app = create_app({"AUSHANG_CLOCK": lambda: NOW}, settings=settings)
        with app.app_context():
            upgrade()
            tenant, alerter = _seed(db.session, emails, push_keys)
            db.session.commit()
            cpu0, t0 = _cpu(), time.time()
            issue_template_alert(db.session, tenant, alerter, NOW, sender_name="Benchstadt")
            queue_citizen_messages(db.session, NOW)  # the job that notices the warning
            db.session.commit()
            t_queued = time.time()
            handled = 0
            while True:
                done = send_outbox(db.session, NOW)
                db.session.commit()
                handled += done
                if done == 0:
                    break
            t_done, cpu1 = time.time(), _cpu()
    smtp_stamps = smtp_out.get(timeout=120)
    push_stamps, push_bad = push_out.get(timeout=120)
    smtp.join(10)
    push.join(10)
    return {
        "emails": emails,
        "pushes": pushes,
        "database": "PostgreSQL" if "postgres" in url else "SQLite",
        "queued_s": t_queued - t0,
        "total_s": t_done - t0,
        "cpu_s": cpu1 - cpu0,
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "smtp": [s - t0 for s in smtp_stamps],
        "push": [s - t0 for s in push_stamps],
        "push_bad": push_bad,
        "handled": handled,
    }


def table(r: dict[str, Any]) -> str:
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()

    def row(name: str, stamps: list[float], expected: int) -> str:
        if not stamps:
            return f"| {name} | 0 of {expected} | – | – | – | – |"
        return (
            f"| {name} | {len(stamps):,} of {expected:,} | {min(stamps):.2f} s | "
            f"{percentile(stamps, 50):.1f} s | {percentile(stamps, 99):.1f} s | "
            f"{max(stamps):.1f} s |"
        )

    lines = [
        f"Measured {datetime.now(UTC):%Y-%m-%d} at commit `{commit}` with "
        f"`python -m bench.messages` on {platform.python_implementation()} "
        f"{platform.python_version()}, {platform.machine()}, {os.cpu_count()} cores shared "
        f"with other work, database {r['database']}. One warning for a Kommune with "
        f"{r['emails']:,} e-mail and {r['pushes']:,} Web Push subscribers; the sender is the "
        "job `messages.send` run back to back in one process; the SMTP server (aiosmtpd) and "
        "the push service (decrypting every message with http_ece and checking its VAPID "
        "signature) run in processes of their own on the same machine. Times from issuing "
        "the warning.",
        "",
        "Push is posted from 8 threads, mail over 4 SMTP connections at once, 500 rows per "
        "batch and commit.",
        "",
        "| Channel | Handed over | First | p50 | p99 | Last |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
        row("Web Push (encrypted, VAPID)", r["push"], r["pushes"]),
        row("E-Mail (SMTP)", r["smtp"], r["emails"]),
        "",
        f"Warning issued and its event queued for the subscribers (job `messages.citizens`, "
        f"one fan-out row; the sender expands it into {r['emails'] + r['pushes']:,} rows): "
        f"{r['queued_s']:.2f} s. Everything handed over after "
        f"{r['total_s']:.1f} s, with {r['cpu_s']:.1f} s CPU in the sending process "
        f"({r['cpu_s'] / max(r['total_s'], 1e-9) * 100:.0f} % of one core) and "
        f"{r['rss_mb']:.0f} MB peak memory. Push messages refused by the fake service: "
        f"{len(r['push_bad'])}.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.messages")
    parser.add_argument("--emails", type=int, default=10_000)
    parser.add_argument("--pushes", type=int, default=10_000)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv if argv is not None else sys.argv[1:])
    result = run(args.emails, args.pushes)
    text = table(result)
    print(text)
    if not args.no_write:
        write_blocks(
            [("messages", "Messages: a warning to 10,000 e-mail and 10,000 push subscribers", text)]
        )
    complete = len(result["smtp"]) == args.emails and len(result["push"]) == args.pushes
    return 0 if complete else 1


if __name__ == "__main__":
    sys.exit(main())
