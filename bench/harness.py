"""The production setup for the benchmarks: a private PostgreSQL database, ``aushang serve``
processes, and CPU/memory readings of them from /proc."""

from __future__ import annotations

import os
import platform
import re
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def raise_file_limit(wanted: int) -> tuple[int, int]:
    """Each simulated player holds a socket, and so does its server side: 2,000 players
    need more than the usual soft limit of 1,024 open files. Raises the soft limit up to
    the hard limit and returns (soft, hard); children inherit it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft, hard


@contextmanager
def private_database(base_url: str) -> Iterator[str]:
    """Create a database for this run and drop it afterwards (like tests/conftest.py)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    url = make_url(base_url)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    name = f"aushang_bench_{os.getpid()}_{uuid.uuid4().hex[:8]}"
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


# --- /proc readings -------------------------------------------------------------------


def children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            raw = Path(f"/proc/{pid}/task/{task}/children").read_text().split()
            found.extend(int(c) for c in raw)
    except (FileNotFoundError, ProcessLookupError):
        pass
    return found


def process_tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        p = todo.pop()
        pids.append(p)
        todo.extend(children(p))
    return pids


def cpu_seconds(pids: list[int]) -> float:
    """utime + stime of the processes (all their threads), in seconds."""
    total = 0
    for pid in pids:
        try:
            raw = Path(f"/proc/{pid}/stat").read_text()
        except (FileNotFoundError, ProcessLookupError):
            continue
        fields = raw.rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / CLK_TCK


def rss_bytes(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except (FileNotFoundError, ProcessLookupError):
            continue
        found = re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)
        if found:
            total += int(found.group(1)) * 1024
    return total


def threads(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            total += len(os.listdir(f"/proc/{pid}/task"))
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


class Meter:
    """CPU and peak RSS of a process tree between start() and stop(), sampled every
    ``every`` seconds in a thread (the tree is re-read, so new workers count)."""

    def __init__(self, pid_source, every: float = 0.5) -> None:
        self.pid_source = pid_source
        self.every = every
        self._stop = threading.Event()
        self.samples: list[tuple[float, float, int]] = []

    def _sample(self) -> None:
        pids = self.pid_source()
        self.samples.append((time.monotonic(), cpu_seconds(pids), rss_bytes(pids)))

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self._sample()

    def __enter__(self) -> Meter:
        self._sample()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    @property
    def seconds(self) -> float:
        return self.samples[-1][0] - self.samples[0][0]

    @property
    def cpu_percent(self) -> float:
        """Average CPU in percent of one core."""
        used = self.samples[-1][1] - self.samples[0][1]
        return 100.0 * used / self.seconds if self.seconds > 0 else 0.0

    @property
    def rss_peak(self) -> int:
        return max(s[2] for s in self.samples)

    @property
    def rss_mean(self) -> float:
        return sum(s[2] for s in self.samples) / len(self.samples)


# --- the server -----------------------------------------------------------------------


@dataclass
class ServerProcess:
    proc: subprocess.Popen
    port: int
    log_path: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def pids(self) -> list[int]:
        return process_tree(self.proc.pid)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def server_env(database_url: str, instance: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": database_url,
            "AUSHANG_INSTANCE_PATH": str(instance),
            "SECRET_KEY": "bench",
            "AUSHANG_BASE_URL": "http://127.0.0.1",
        }
    )
    return env


def start_server(
    database_url: str,
    instance: Path,
    *,
    workers: int,
    threads: int,
    worker_class: str = "gthread",
    connections: int | None = None,
    timeout: float = 60.0,
) -> ServerProcess:
    """``aushang serve`` on a free port; returns once a worker answers /healthz."""
    import urllib.request

    log_path = Path(tempfile.mkstemp(prefix="aushang-bench-serve-", suffix=".log")[1])
    log = log_path.open("w")
    cmd = [
        sys.executable,
        "-c",
        "from server.cli import main; main()",
        "serve",
        "--bind",
        "127.0.0.1:0",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--worker-class",
        worker_class,
    ]
    if connections:
        cmd += ["--connections", str(connections)]
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=server_env(database_url, instance), stdout=log, stderr=log
    )
    deadline = time.monotonic() + timeout
    port = None
    while time.monotonic() < deadline and port is None:
        if proc.poll() is not None:
            raise RuntimeError(f"aushang serve ended: {log_path.read_text()[-2000:]}")
        found = re.search(r"Listening at: http://127\.0\.0\.1:(\d+)", log_path.read_text())
        if found:
            port = int(found.group(1))
        else:
            time.sleep(0.1)
    if port is None:
        proc.kill()
        raise RuntimeError(f"aushang serve did not start: {log_path.read_text()[-2000:]}")
    server = ServerProcess(proc, port, log_path)
    ready = 0
    while time.monotonic() < deadline and ready < workers:
        try:
            with urllib.request.urlopen(f"{server.base}/healthz", timeout=5) as r:
                r.read()
            # every worker must have booted: count them
            ready = len(server.pids()) - 1
        except OSError:
            pass
        if ready < workers:
            time.sleep(0.1)
    return server


# --- the machine ----------------------------------------------------------------------


def machine() -> dict[str, str]:
    cpu = "unknown CPU"
    try:
        info = Path("/proc/cpuinfo").read_text()
        found = re.search(r"^model name\s*:\s*(.+)$", info, re.M)
        if found:
            cpu = found.group(1).strip()
    except OSError:
        pass
    mem = ""
    try:
        found = re.search(r"^MemTotal:\s+(\d+) kB", Path("/proc/meminfo").read_text(), re.M)
        if found:
            mem = f"{int(found.group(1)) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    commit = "unknown"
    dirty = ""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = " (with uncommitted changes)" if status else ""
    except (OSError, subprocess.CalledProcessError):
        pass
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "memory": mem,
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "kernel": platform.release(),
        "commit": commit + dirty,
        "load": load,
    }
