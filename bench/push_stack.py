"""The server side of the protocol-v2 benchmark (bench/push.py): the app, a web process
for the control-centre API, nginx + nchan edges, publisher, scheduler, and the
PostgreSQL backends of the benchmark database; started, measured and stopped together."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from . import edge as edge_mod
from . import harness


@dataclass
class Stack:
    app: harness.ServerProcess
    web: harness.ServerProcess  # staff and the control-centre API (aushang-web)
    edges: list[edge_mod.Edge]
    publisher: subprocess.Popen
    scheduler: subprocess.Popen
    database_url: str
    folder: Path
    _pids: list[int] | None = None

    def components(self) -> dict[str, list[int]]:
        return {
            "nginx": [pid for e in self.edges for pid in e.pids()],
            "app": self.app.pids() + self.web.pids(),
            "publisher": [self.publisher.pid],
            "scheduler": [self.scheduler.pid],
            "postgres": postgres_backends(self.database_url),
        }

    def pids(self) -> list[int]:
        if self._pids is None:  # read once per window: no new connection per sample
            self._pids = [pid for pids in self.components().values() for pid in pids]
        return self._pids

    def forget_pids(self) -> None:
        self._pids = None

    def stop(self) -> None:
        for proc in (self.publisher, self.scheduler):
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        for e in self.edges:
            e.stop()
        self.app.stop()
        self.web.stop()


def postgres_backends(database_url: str) -> list[int]:
    """The PostgreSQL server processes serving this benchmark's database."""
    from sqlalchemy import create_engine, text

    name = database_url.rsplit("/", 1)[1]
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT pid FROM pg_stat_activity WHERE datname = :d AND pid <> pg_backend_pid()"
                ),
                {"d": name},
            ).scalars()
            return [int(pid) for pid in rows]
    finally:
        engine.dispose()


def _process(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", "from server.cli import main; main()", *args],
        cwd=harness.ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )


def _await_log(path: Path, text: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text():
            return
        time.sleep(0.1)
    raise RuntimeError(f"{path.name}: no {text!r} within {timeout:.0f} s")


def start_stack(world, players: int, edges: int) -> Stack:
    folder = Path(tempfile.mkdtemp(prefix="aushang-bench-push-"))
    redis = "redis://127.0.0.1:6379/15" if edges > 1 else None
    if redis:
        subprocess.run(["redis-cli", "-n", "15", "FLUSHDB"], check=False, capture_output=True)
    app = harness.start_server(
        world.database_url,
        world.instance,
        workers=1,
        threads=256,
        worker_class="gevent",
        connections=2 * players + 1024,
    )
    # As in production: the control-centre API on its own process (aushang-web), so a
    # warning is never queued behind the players' reports.
    web = harness.start_server(world.database_url, world.instance, workers=1, threads=16)
    nodes = [
        edge_mod.Edge(
            # Per player: its stream, a connection for reports, and while a report is
            # proxied one to the app; nginx counts all of them.
            folder / f"edge{i}",
            app.port,
            redis_url=redis,
            connections=4 * players + 1024,
        ).start()
        for i in range(edges)
    ]
    env = harness.server_env(world.database_url, world.instance)
    env.update(
        AUSHANG_PUSH_ENGINE="nchan",
        AUSHANG_PUSH_PUBLISH_URL=nodes[0].publish_url
        if redis
        else ",".join(n.publish_url for n in nodes),
    )
    publisher = _process(["publisher"], env, folder / "publisher.log")
    scheduler = _process(["scheduler"], env, folder / "scheduler.log")
    _await_log(folder / "publisher.log", "event=push_publisher_active")
    _await_log(folder / "scheduler.log", "Scheduler started")
    time.sleep(3.0)  # the start-up work of both is done before anything is measured
    return Stack(app, web, nodes, publisher, scheduler, world.database_url, folder)


def db_deliveries(database_url: str, alert_id: str) -> tuple[int, int]:
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            row = conn.execute(
                text(
                    "SELECT count(*), count(shown_at) FROM display_alert_delivery "
                    "WHERE alert_id = :a"
                ),
                {"a": int(alert_id)},
            ).one()
    finally:
        engine.dispose()
    return int(row[0]), int(row[1])
