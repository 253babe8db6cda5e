"""Push engines: where the publisher hands its messages.

Both speak the same contract to players (contract/player-protocol-v2.md): an SSE stream
per display, ``id:`` opaque and sent back as ``Last-Event-ID``, ``data:`` one JSON object
with the channel and its message number ``seq``.
"""

from __future__ import annotations

import http.client
import json
import logging
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote, urlsplit

log = logging.getLogger("aushang.push")

KEEPALIVE_S = 25.0  # a comment line, so proxies and players see a live connection


class PublishFailed(Exception):
    """The engine did not take the message; the outbox row stays unsent."""


class Engine(Protocol):
    def publish(self, channel: str, data: dict[str, Any]) -> None: ...


@dataclass(frozen=True)
class Message:
    channel: str
    seq: int
    body: str  # the JSON of ``data:``
    at: float = 0.0  # Unix time of the publish


def encode(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


# --- production: nginx + nchan -----------------------------------------------------------


class NchanEngine:
    """POST to nchan's publisher location (on an address players cannot reach, D6).

    ``urls`` are publisher bases such as ``http://127.0.0.1:8091/pub/``: one edge (or any
    edge of several sharing Redis), or each edge in turn when they keep messages in
    memory. One kept-alive connection per edge, reopened once on failure."""

    def __init__(self, urls: str | list[str], timeout_s: float = 5.0) -> None:
        bases = urls.split(",") if isinstance(urls, str) else urls
        self.bases = [b.strip() for b in bases if b.strip()]
        if not self.bases:
            raise ValueError("AUSHANG_PUSH_PUBLISH_URL fehlt")
        self.timeout_s = timeout_s
        self._conns: dict[str, http.client.HTTPConnection] = {}
        self._lock = threading.Lock()

    def _conn(self, base: str) -> http.client.HTTPConnection:
        conn = self._conns.get(base)
        if conn is None:
            parts = urlsplit(base)
            conn = http.client.HTTPConnection(
                parts.hostname or "127.0.0.1", parts.port or 80, timeout=self.timeout_s
            )
            self._conns[base] = conn
        return conn

    def publish(self, channel: str, data: dict[str, Any]) -> None:
        body = encode(data).encode()
        with self._lock:
            for base in self.bases:
                self._post(base, channel, body)

    def _post(self, base: str, channel: str, body: bytes) -> None:
        path = urlsplit(base).path.rstrip("/") + "/" + quote(channel, safe="")
        headers = {"Content-Type": "application/json", "X-EventSource-Event": "message"}
        for attempt in (1, 2):
            conn = self._conn(base)
            try:
                conn.request("POST", path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                self._conns.pop(base, None)
                if attempt == 2:
                    raise PublishFailed(f"{base}: {type(exc).__name__}") from None
                continue
            if response.status not in (200, 201, 202):
                raise PublishFailed(f"{base}: HTTP {response.status}")
            return

    def close(self) -> None:
        with self._lock:
            for conn in self._conns.values():
                conn.close()
            self._conns.clear()


# --- embedded default: the Flask app serves the stream itself ---------------------------


def parse_since(raw: str | None) -> float | None:
    """``1796348935:0`` (what nchan also understands): replay what came after that second."""
    text = raw or ""
    head, _, tail = text.partition(":")
    if head.isdigit() and tail.isdigit():
        return float(head)
    return None


def parse_last_id(raw: str | None) -> dict[str, int]:
    """``t3:17,d5:2`` → {"t3": 17, "d5": 2}; anything malformed counts as nothing seen."""
    seen: dict[str, int] = {}
    for part in (raw or "").split(","):
        name, _, number = part.strip().rpartition(":")
        if name and number.isdigit():
            seen[name] = int(number)
    return seen


class EmbeddedEngine:
    """In-process channels with a replay buffer, for ``make run`` and a handful of
    displays: the same stream as nchan, served by the Flask app (one process)."""

    def __init__(self, buffer: int = 200) -> None:
        self.buffer = buffer
        self._cond = threading.Condition()
        self._channels: dict[str, deque[Message]] = {}
        self._last: dict[str, int] = {}
        self._subscribers = 0
        self._epoch = 0

    def subscribers(self) -> int:
        """Streams open now (the tests wait for a player to hold one)."""
        return self._subscribers

    def publish(self, channel: str, data: dict[str, Any]) -> None:
        message = Message(channel, int(data["seq"]), encode(data), time.time())
        with self._cond:
            queue = self._channels.setdefault(channel, deque(maxlen=self.buffer))
            queue.append(message)
            self._last[channel] = message.seq
            self._cond.notify_all()

    def _first(self, name: str) -> int:
        queue = self._channels.get(name)
        return queue[0].seq if queue else self._last.get(name, 0) + 1

    def _pending(self, channels: tuple[str, ...], seen: dict[str, int]) -> list[Message]:
        found: list[Message] = []
        for name in channels:
            after = seen.get(name)
            if after is None:
                continue  # a new subscriber gets what comes, not history
            found.extend(m for m in self._channels.get(name, ()) if m.seq > after)
        return found

    def stream(
        self,
        channels: tuple[str, ...],
        last_id: str | None,
        stop: threading.Event | None = None,
        keepalive_s: float = KEEPALIVE_S,
    ) -> Iterator[str]:
        """SSE text for one subscriber, replaying what ``last_id`` has not seen."""
        seen = parse_last_id(last_id)
        since = parse_since(last_id)
        with self._cond:
            for name in channels:  # from here on, everything published is new
                if name not in seen and since is not None:
                    older = [m.seq for m in self._channels.get(name, ()) if m.at <= since]
                    seen[name] = max(older, default=self._first(name) - 1)
                seen.setdefault(name, self._last.get(name, 0))
        with self._cond:
            self._subscribers += 1
        try:
            yield "retry: 3000\n:ok\n\n"
            yield from self._follow(channels, seen, stop, keepalive_s)
        finally:
            with self._cond:
                self._subscribers -= 1

    def _follow(
        self,
        channels: tuple[str, ...],
        seen: dict[str, int],
        stop: threading.Event | None,
        keepalive_s: float,
    ) -> Iterator[str]:
        epoch = self._epoch
        while (stop is None or not stop.is_set()) and epoch == self._epoch:
            with self._cond:
                pending = self._pending(channels, seen)
                if not pending:
                    self._cond.wait(keepalive_s)
                    if epoch != self._epoch:
                        return
                    pending = self._pending(channels, seen)
            if not pending:
                yield ":\n\n"
                continue
            for message in pending:
                seen[message.channel] = message.seq
                event_id = ",".join(f"{n}:{seen[n]}" for n in channels)
                yield f"id: {event_id}\nevent: message\ndata: {message.body}\n\n"

    def close_streams(self) -> None:
        """End every open stream (the server stops); players reconnect with their id."""
        with self._cond:
            self._epoch += 1
            self._cond.notify_all()


_embedded = EmbeddedEngine()


def embedded() -> EmbeddedEngine:
    return _embedded


def engine_from_config(config: dict[str, Any]) -> Engine:
    if config.get("AUSHANG_PUSH_ENGINE", "embedded") == "nchan":
        return NchanEngine(str(config.get("AUSHANG_PUSH_PUBLISH_URL", "")))
    return _embedded
