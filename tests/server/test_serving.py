"""`aushang serve`: the options it hands to gunicorn, and one real start on 127.0.0.1."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from server.config import load_settings
from server.serving import ERROR_PAGE_HEADERS, ServeOptions, write_error

REPO = Path(__file__).parents[2]


def settings(tmp_path, **env):
    base = {"AUSHANG_INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "x"}
    base.update(env)
    return load_settings(base)


def test_defaults_come_from_the_environment(tmp_path):
    s = settings(
        tmp_path,
        DATABASE_URL="postgresql://u@db/aushang",
        AUSHANG_BIND="127.0.0.1:9000,unix:/run/aushang/web.sock",
        AUSHANG_WORKERS="3",
        AUSHANG_THREADS="500",
    )
    options = ServeOptions.from_settings(s)
    assert options.bind == ("127.0.0.1:9000", "unix:/run/aushang/web.sock")
    assert (options.workers, options.threads, options.worker_class) == (3, 500, "gthread")
    cfg = options.gunicorn_config()
    assert cfg["threads"] == 500 and cfg["workers"] == 3
    assert cfg["preload_app"] is False
    # Connection slots always exceed the threads, or gthread keeps nothing alive.
    assert cfg["worker_connections"] > cfg["threads"]


def test_command_line_overrides_environment(tmp_path):
    s = settings(tmp_path, DATABASE_URL="postgresql://u@db/aushang", AUSHANG_THREADS="500")
    options = ServeOptions.from_settings(s, threads=2000, bind=("0.0.0.0:80",), workers=None)
    assert options.threads == 2000 and options.bind == ("0.0.0.0:80",)
    assert options.workers == 2
    assert options.gunicorn_config()["worker_connections"] >= 2064


def test_sqlite_runs_one_worker(tmp_path):
    # Wakeups cross processes only through PostgreSQL LISTEN/NOTIFY.
    options = ServeOptions.from_settings(settings(tmp_path), workers=4)
    assert options.workers == 1


def test_unknown_worker_class_is_refused(tmp_path):
    with pytest.raises(ValueError, match="Worker-Art"):
        ServeOptions.from_settings(settings(tmp_path), worker_class="tornado")


def test_serve_answers_healthz_and_stops_on_sigterm(tmp_path):
    env = dict(os.environ)
    env.update(
        {
            "AUSHANG_INSTANCE_PATH": str(tmp_path),
            "SECRET_KEY": "test",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'a.db'}",
            "AUSHANG_BIND": "127.0.0.1:0",
        }
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", "from server.cli import main; main()", "serve", "--threads", "8"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        port = None
        deadline = time.monotonic() + 20
        lines = []
        while port is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            found = re.search(r"Listening at: http://127\.0\.0\.1:(\d+)", line)
            if found:
                port = int(found.group(1))
        assert port, "".join(lines)
        body = None
        while body is None and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
                    body = r.read()
            except OSError:
                time.sleep(0.1)  # the worker is still booting; poll with a deadline
        assert body == b"ok\n"
        # A request line gunicorn refuses before Flask sees it: still the headers.
        with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
            conn.sendall(b"GET /<script> HTTP/1.1 extra\r\nHost: x\r\n\r\n")
            answer = _read_all(conn)
        assert_error_page(answer, 400)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0


def test_database_pool_size_is_configurable_for_postgresql_only():
    pg = load_settings(
        {
            "SECRET_KEY": "x",
            "DATABASE_URL": "postgresql+psycopg://h/db",
            "AUSHANG_DB_POOL_SIZE": "7",
        }
    )
    options = pg.flask_config()["SQLALCHEMY_ENGINE_OPTIONS"]
    assert options["pool_size"] == 7 and options["max_overflow"] == 7
    lite = load_settings({"SECRET_KEY": "x", "DATABASE_URL": "sqlite:///x.db"})
    assert "pool_size" not in lite.flask_config()["SQLALCHEMY_ENGINE_OPTIONS"]


def _read_all(conn: socket.socket) -> bytes:
    chunks = []
    while chunk := conn.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def assert_error_page(answer: bytes, status: int) -> None:
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    assert lines[0].startswith(f"HTTP/1.1 {status} ")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    for name, value in ERROR_PAGE_HEADERS:
        assert headers.get(name) == value, name
    assert int(headers["Content-Length"]) == len(body)
    assert b"<script>" not in body and "Ungültige Anfrage".encode() in body


def test_gunicorn_error_page_carries_the_security_headers():
    ours, theirs = socket.socketpair()
    with ours, theirs:
        write_error(ours, 400, "Bad Request", "Invalid Request Line '<script>'")
        ours.shutdown(socket.SHUT_WR)
        assert_error_page(_read_all(theirs), 400)
