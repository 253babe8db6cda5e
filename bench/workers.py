"""Worker model for ``aushang serve``: gthread against gevent, for many idle long-polls.

Isolates what the choice is about: a minimal WSGI long-poll (``threading.Condition``, as a
change hub does) under the same gunicorn options ``aushang serve`` uses
(server/serving.py), one worker, N clients waiting; measures idle CPU and memory of the
worker and the time from one wakeup to every client's answer. No database and no Flask,
so the difference is the worker model's own. The full-stack numbers are in the other
sections of docs/performance.md.

    python -m bench.workers [--clients 2000] [--duration 30] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from . import harness, report

_cond = threading.Condition()
_generation = 0


def app(environ, start_response):
    """The long-poll under test (runs inside the gunicorn worker)."""
    global _generation
    path = environ.get("PATH_INFO", "")
    if path == "/fire":
        with _cond:
            _generation += 1
            _cond.notify_all()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [str(_generation).encode()]
    if path == "/wait":
        seen = int(environ.get("QUERY_STRING", "g=0").partition("=")[2] or 0)
        deadline = time.monotonic() + 25
        with _cond:
            while _generation == seen and time.monotonic() < deadline:
                _cond.wait(max(0.0, deadline - time.monotonic()))
            current = _generation
        if current == seen:
            start_response("304 Not Modified", [])
            return [b""]
        body = str(current).encode()
        start_response(
            "200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))]
        )
        return [body]
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok\n"]


RUNNER = """
import sys
from gunicorn.app.base import BaseApplication
from server.config import load_settings
from server.serving import ServeOptions

class App(BaseApplication):
    def load_config(self):
        options = ServeOptions.from_settings(
            load_settings({"DATABASE_URL": "postgresql://x@127.0.0.1/x", "SECRET_KEY": "x",
                           "AUSHANG_INSTANCE_PATH": sys.argv[3]}),
            bind=("127.0.0.1:0",), workers=1, threads=int(sys.argv[2]),
            connections=int(sys.argv[2]) + 64, worker_class=sys.argv[1])
        for k, v in options.gunicorn_config().items():
            if v is not None:
                self.cfg.set(k, v)
        self.cfg.set("control_socket_disable", True)
    def load(self):
        from bench.workers import app
        return app

App().run()
"""


def start(worker_class: str, clients: int) -> tuple[subprocess.Popen, int, Path]:
    tmp = Path(tempfile.mkdtemp(prefix="aushang-bench-workers-"))
    log_path = tmp / "gunicorn.log"
    log = log_path.open("w")
    proc = subprocess.Popen(
        [sys.executable, "-c", RUNNER, worker_class, str(clients + 64), str(tmp)],
        cwd=harness.ROOT,
        stdout=log,
        stderr=log,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = re.search(r"Listening at: http://127\.0\.0\.1:(\d+)", log_path.read_text())
        if found and "Booting worker" in log_path.read_text():
            time.sleep(1.0)  # the worker imports the app
            return proc, int(found.group(1)), log_path
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError(log_path.read_text()[-2000:])


async def measure(worker_class: str, clients: int, duration: float) -> dict:
    import aiohttp

    proc, port, log_path = start(worker_class, clients)
    base = f"http://127.0.0.1:{port}"
    received: list[float] = []
    waiting = 0
    fired_at = 0.0
    try:
        connector = aiohttp.TCPConnector(limit=0)
        timeout = aiohttp.ClientTimeout(total=None, sock_read=120)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

            async def client() -> None:
                nonlocal waiting
                seen = 0
                while True:
                    waiting += 1
                    try:
                        async with session.get(f"{base}/wait?g={seen}") as r:
                            at = time.perf_counter()
                            await r.read()
                            if r.status == 200:
                                received.append(at - fired_at)
                                return
                    finally:
                        waiting -= 1

            tasks = [asyncio.create_task(client()) for _ in range(clients)]
            deadline = time.monotonic() + 60
            while waiting < clients and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            await asyncio.sleep(1.0)
            with harness.Meter(lambda: harness.process_tree(proc.pid)[1:]) as idle:
                await asyncio.sleep(duration)
            pids = harness.process_tree(proc.pid)[1:]
            fired_at = time.perf_counter()
            async with session.post(f"{base}/fire") as r:
                await r.read()
            await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 60)
            thread_count = harness.threads(pids)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
    stats = report.summary(received)
    return {
        "worker_class": worker_class,
        "clients": clients,
        "received": len(received),
        "idle_cpu": idle.cpu_percent,
        "idle_rss": idle.rss_peak,
        "threads": thread_count,
        **stats,
    }


def table(rows: list[dict], duration: float) -> str:
    lines = [
        "| Worker model | Waiting clients | Worker RSS | OS threads | Idle CPU | Wakeup → all "
        "answered: p50 | p99 | max |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(
            f"| {r['worker_class']} | {r['received']}/{r['clients']} | "
            f"{r['idle_rss'] / 1e6:.0f} MB | {r['threads']} | {r['idle_cpu']:.2f} % | "
            f"{report.ms(r.get('p50'))} | {report.ms(r.get('p99'))} | {report.ms(r.get('max'))} |"
        )
    lines += [
        "",
        f"One gunicorn worker with the options of `aushang serve`, a minimal WSGI long-poll on a "
        f"`threading.Condition` (no Flask, no database), idle window {duration:.0f} s (waiting "
        "requests time out after 25 s and are re-sent, as players do), then one wakeup. "
        "`python -m bench.workers`.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.workers")
    parser.add_argument("--clients", type=int, default=2000)
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.quick:
        args.clients, args.duration = min(args.clients, 50), min(args.duration, 2.0)
    harness.raise_file_limit(args.clients * 3 + 1024)
    info = harness.machine()
    rows = []
    classes = ["gthread"]
    try:
        import gevent  # noqa: F401

        classes.append("gevent")
    except ImportError:
        print("gevent not installed (pip install -e '.[gevent]'): gthread only")
    for worker_class in classes:
        row = asyncio.run(measure(worker_class, args.clients, args.duration))
        print(
            f"  {worker_class}: {row['received']}/{row['clients']} idle CPU "
            f"{row['idle_cpu']:.2f} %, RSS {row['idle_rss'] / 1e6:.0f} MB, threads "
            f"{row['threads']}, p50 {report.ms(row.get('p50'))} p99 {report.ms(row.get('p99'))} "
            f"max {report.ms(row.get('max'))}"
        )
        rows.append(row)
    if not args.no_write:
        head = (
            f"Run {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC, commit "
            f"`{info['commit']}`, {info['cpu']} ({info['cores']} cores), load at start "
            f"{info['load']}."
        )
        report.write_blocks(
            [("workermodel", "Worker model (isolated)", head + "\n\n" + table(rows, args.duration))]
        )
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
