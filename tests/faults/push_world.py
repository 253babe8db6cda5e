"""Push fault tests: the real app (werkzeug, threaded) behind a private nginx + nchan edge
with the shipped configuration, the real publisher, and players speaking v2 through the
real transport (player.stream.PushClient)."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from werkzeug.serving import make_server

from bench.edge import Edge
from player.backoff import Backoff
from player.client import ServerError
from player.stream import PushClient


class AppServer:
    def __init__(self, app) -> None:
        self.app = app
        self.httpd = make_server("127.0.0.1", 0, app, threaded=True)
        self.port = self.httpd.server_port
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@dataclass
class Follower:
    """A player's content loop in a thread: what it holds, and when warnings came."""

    client: PushClient
    etag: str | None = None
    manifest: dict[str, Any] | None = None
    answers: int = 0
    warnings_at: float | None = None
    errors: list[str] = field(default_factory=list)
    contacts: list[float] = field(default_factory=list)  # answers after a failure
    backoff: Backoff = field(default_factory=lambda: Backoff(1.0, 30.0))
    stop: threading.Event = field(default_factory=threading.Event)
    woken: threading.Event = field(default_factory=threading.Event)

    def start(self) -> Follower:
        threading.Thread(target=self._run, daemon=True).start()
        return self

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                answer = self.client.manifest(self.etag, 2)
            except ServerError as exc:  # as the daemon: a growing, jittered delay
                self.errors.append(type(exc).__name__)
                self.woken.wait(self.backoff.next_delay())  # the stream ends it early
                self.woken.clear()
                continue
            if self.backoff.failures:
                self.contacts.append(time.monotonic())
                self.backoff.reset()
            if answer.changed and answer.manifest is not None:
                self.answers += 1
                self.manifest, self.etag = answer.manifest, answer.etag
                if answer.manifest["warnings"] and self.warnings_at is None:
                    self.warnings_at = time.monotonic()

    def headlines(self) -> list[str]:
        return [w["headline"] for w in (self.manifest or {}).get("warnings", [])]

    def close(self) -> None:
        self.stop.set()
        self.client.close()


def follower(url: str, token: str) -> Follower:
    woken = threading.Event()
    client = PushClient(url, user_agent="AushangPlayer/test", wake=woken.set)
    client.token = token
    return Follower(client, woken=woken).start()


def wait_for(condition, timeout: float = 15.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


class CutProxy:
    """A TCP relay between one player and the edge that can go offline (drop every
    connection, refuse new ones) and come back: the player's network, not the edge."""

    def __init__(self, target_port: int) -> None:
        self.target = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.online = threading.Event()
        self.online.set()
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            if not self.online.is_set():
                conn.close()
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target))
            except OSError:
                conn.close()
                continue
            with self._lock:
                self._open |= {conn, upstream}
            for a, b in ((conn, upstream), (upstream, conn)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()

    def cut(self) -> None:
        self.online.clear()
        with self._lock:
            for s in self._open:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self._open.clear()

    def restore(self) -> None:
        self.online.set()

    def close(self) -> None:
        self.cut()
        self.listener.close()


__all__ = ["AppServer", "CutProxy", "Edge", "Follower", "follower", "wait_for"]
