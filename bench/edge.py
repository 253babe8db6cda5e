"""A private push edge: nginx + nchan with the shipped configuration (deploy/server/nginx),
rendered into a temporary folder with ephemeral ports, in front of an app on 127.0.0.1.

Used by the tests (tests/faults/test_push_*.py) and by ``make bench``; never touches the
system's nginx service.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

NGINX_DIR = Path(__file__).resolve().parents[1] / "deploy" / "server" / "nginx"
MODULE = Path("/usr/lib/nginx/modules/ngx_nchan_module.so")


def nginx_binary() -> str | None:
    if Path("/usr/sbin/nginx").is_file():
        return "/usr/sbin/nginx"
    return shutil.which("nginx")


def available() -> str | None:
    """Why no edge can run here, or None."""
    if nginx_binary() is None:
        return "nginx fehlt (scripts/system-deps.sh)"
    if not MODULE.is_file():
        return "libnginx-mod-nchan fehlt (scripts/system-deps.sh)"
    return None


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def render(
    folder: Path,
    *,
    app_port: int,
    port: int,
    publish_port: int,
    redis_url: str | None,
    workers: int = 1,
    connections: int = 4096,
) -> Path:
    """nginx.conf for one edge: the shipped push files, ports and Redis replaced."""
    push = (NGINX_DIR / "aushang-push.conf").read_text()
    locations = (NGINX_DIR / "aushang-push-locations.conf").read_text()
    push = push.replace("listen 127.0.0.1:8091;", f"listen 127.0.0.1:{publish_port};")
    if redis_url is None:
        push = re.sub(r"upstream aushang_push_redis \{[^}]*\}", "", push)
        push = re.sub(r"\n\s*nchan_redis_pass [^;]+;", "", push)
        locations = re.sub(r"\n\s*nchan_redis_pass [^;]+;", "", locations)
    else:
        push = push.replace("redis://127.0.0.1:6379", redis_url)
    for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (folder / name).mkdir(parents=True, exist_ok=True)
    (folder / "aushang-push.conf").write_text(push)
    (folder / "aushang-push-locations.conf").write_text(locations)
    main = folder / "nginx.conf"
    main.write_text(
        f"load_module {MODULE};\n"
        f"pid {folder}/nginx.pid;\n"
        f"error_log {folder}/error.log warn;\n"
        f"worker_processes {workers};\n"
        f"worker_rlimit_nofile {connections * 2 + 64};\n"
        f"events {{ worker_connections {connections}; }}\n"
        "http {\n"
        "  access_log off;\n"
        f"  client_body_temp_path {folder / 'body'};\n"
        f"  proxy_temp_path {folder / 'proxy'};\n"
        f"  fastcgi_temp_path {folder / 'fastcgi'};\n"
        f"  uwsgi_temp_path {folder / 'uwsgi'};\n"
        f"  scgi_temp_path {folder / 'scgi'};\n"
        f"  upstream aushang_players {{ server 127.0.0.1:{app_port}; keepalive 64; }}\n"
        f"  include {folder / 'aushang-push.conf'};\n"
        "  server {\n"
        f"    listen 127.0.0.1:{port} reuseport backlog=4096;\n"
        "    keepalive_timeout 75s;\n"
        "    keepalive_requests 10000;\n"
        "    proxy_http_version 1.1;\n"
        '    proxy_set_header Connection "";\n'
        "    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n"
        f"    include {folder / 'aushang-push-locations.conf'};\n"
        "    location /api/player/ { proxy_pass http://aushang_players; proxy_read_timeout 90s;"
        " proxy_buffering off; }\n"
        "    location / { proxy_pass http://aushang_players; }\n"
        "  }\n"
        "}\n"
    )
    return main


class Edge:
    """One nginx edge process; ``restart`` keeps its ports."""

    def __init__(
        self,
        folder: Path,
        app_port: int,
        *,
        redis_url: str | None = None,
        workers: int = 1,
        connections: int = 4096,
    ) -> None:
        self.folder = folder
        self.app_port = app_port
        self.redis_url = redis_url
        self.port = free_port()
        self.publish_port = free_port()
        self.workers = workers
        self.connections = connections
        self.proc: subprocess.Popen[bytes] | None = None
        folder.mkdir(parents=True, exist_ok=True)
        self.config = render(
            folder,
            app_port=app_port,
            port=self.port,
            publish_port=self.publish_port,
            redis_url=redis_url,
            workers=workers,
            connections=connections,
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def publish_url(self) -> str:
        return f"http://127.0.0.1:{self.publish_port}/pub/"

    def start(self, timeout: float = 10.0) -> Edge:
        binary = nginx_binary()
        assert binary is not None, available()
        self.proc = subprocess.Popen(
            [binary, "-p", str(self.folder), "-c", str(self.config), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx ended: {self.errors()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                socket.create_connection(("127.0.0.1", self.publish_port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"nginx did not listen: {self.errors()}")

    def errors(self) -> str:
        log = self.folder / "error.log"
        return log.read_text() if log.exists() else ""

    def pids(self) -> list[int]:
        """The master and its workers (for CPU measurements)."""
        if self.proc is None:
            return []
        found = [self.proc.pid]
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                except (OSError, IndexError, ValueError):
                    continue
                if ppid == self.proc.pid:
                    found.append(int(entry.name))
        return found

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            # SIGTERM: fast shutdown (a graceful one would wait for every open stream).
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def kill(self) -> None:
        """An edge that dies: every connection drops at once."""
        if self.proc is not None:
            pids = self.pids()
            self.proc.kill()
            self.proc.wait(5)
            for pid in pids[1:]:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self.proc = None

    def restart(self) -> None:
        self.kill()
        self.start()
