"""Protocol v2 as the player speaks it (contract/player-protocol-v2.md): one Server-Sent
Events stream for the display's channels, the snapshot when a message says so.

``PushClient`` keeps ``HttpClient``'s interface: the daemon still asks ``manifest(etag,
wait)`` and gets a ``ManifestAnswer``. Behind it, a reader thread holds the stream and
queues its messages; ``manifest`` waits on that queue instead of a long-poll. A
``warnings`` message becomes an answer at once (the kiosk page draws it before any other
network call); ``state`` messages, gaps in a channel's message numbers and reconnects
fetch the snapshot, spread over the seconds the server names. A server that does not
speak v2 (``404`` on ``state``) gets the long-poll of v1, asked again every hour.
"""

from __future__ import annotations

import copy
import json
import logging
import queue
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from player.backoff import Backoff
from player.client import HttpClient, ManifestAnswer, NotFound, Unauthorized, Unreachable
from player.status import kv

log = logging.getLogger("player")

API_V2 = "/api/player/v2/"
RECHECK_V2_S = 3600.0
RECONNECT_SPREAD_S = 5.0
SINCE_MARGIN_S = 2.0  # the edges' clocks may differ from the app's by about this much


@dataclass
class Event:
    id: str | None = None
    name: str = "message"
    data: list[str] = field(default_factory=list)


class SseParser:
    """The text/event-stream format (WHATWG HTML, "Server-sent events"), incrementally."""

    def __init__(self) -> None:
        self._buffer = ""
        self._event = Event()
        self.last_id: str | None = None

    def feed(self, text: str) -> list[Event]:
        self._buffer += text
        done: list[Event] = []
        while True:
            cut = min(
                (i for i in (self._buffer.find("\n"), self._buffer.find("\r")) if i >= 0),
                default=-1,
            )
            if cut < 0:
                return done
            line = self._buffer[:cut]
            skip = 2 if self._buffer[cut : cut + 2] == "\r\n" else 1
            self._buffer = self._buffer[cut + skip :]
            event = self._line(line)
            if event is not None:
                done.append(event)

    def _line(self, line: str) -> Event | None:
        if not line:
            event, self._event = self._event, Event()
            if event.id is not None:
                self.last_id = event.id
            return event if event.data else None
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "data":
            self._event.data.append(value)
        elif name == "id" and "\0" not in value:
            self._event.id = value
        elif name == "event":
            self._event.name = value
        return None


class Stream:
    """The reader thread: connect, read, queue; reconnect with backoff and jitter."""

    def __init__(
        self,
        open_stream: Callable[[str | None], AbstractContextManager[Iterator[str]]],
        out: queue.Queue[tuple[str, Any]],
        backoff: Backoff,
        wake: Callable[[], None] = lambda: None,
    ) -> None:
        self.open_stream = open_stream
        self.out = out
        self.backoff = backoff
        self.wake = wake  # ends the daemon's sleep: news from the stream do not wait
        self.stop_event = threading.Event()
        self.last_id: str | None = None
        # Server time (Unix seconds) from which a stream without a message id asks for
        # replay: a player that never got a message still gets what it missed offline.
        self.since: float | None = None
        self.connected_at: float | None = None  # monotonic time of the last (re)connect
        self.thread = threading.Thread(target=self._run, name="player-stream", daemon=True)

    def start(self) -> Stream:
        self.thread.start()
        return self

    def stop(self) -> None:
        """The thread ends at the next chunk (a keep-alive comment at the latest)."""
        self.stop_event.set()

    def _run(self) -> None:
        while not self.stop_event.is_set():
            try:
                self._read_once()
                self.backoff.reset()
                delay = self.backoff.next_delay()  # closed by the server: reconnect soon
            except Unauthorized:
                self.out.put(("unauthorized", None))
                return
            except NotFound:
                self.out.put(("unsupported", None))
                return
            except (Unreachable, OSError) as exc:
                self.out.put(("lost", f"{type(exc).__name__}: {exc}"))
                delay = self.backoff.next_delay()
            self.stop_event.wait(delay)

    def _read_once(self) -> None:
        parser = SseParser()
        resume = self.last_id
        if resume is None and self.since is not None:
            resume = f"{int(self.since)}:0"  # "everything after this second" (both engines)
        with self.open_stream(resume) as chunks:
            self.connected_at = time.monotonic()
            self.out.put(("connected", None))
            self.wake()
            for chunk in chunks:
                if self.stop_event.is_set():
                    return
                for event in parser.feed(chunk):
                    if event.name == "message":
                        self.out.put(("message", "\n".join(event.data)))
                        self.wake()
                    if parser.last_id is not None:
                        self.last_id = parser.last_id
                self.backoff.reset()


class PushClient(HttpClient):
    """HttpClient whose ``manifest`` follows the v2 stream (falls back to v1)."""

    def __init__(
        self,
        base_url: str,
        user_agent: str,
        timeout: float = 15.0,
        rng: Callable[[], float] = random.random,
        monotonic: Callable[[], float] = time.monotonic,
        wake: Callable[[], None] = lambda: None,
    ) -> None:
        super().__init__(base_url, user_agent, timeout)
        self.wake = wake
        self.base_v2 = base_url.rstrip("/") + API_V2
        self.rng = rng
        self.monotonic = monotonic
        self._inbox: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.stream: Stream | None = None
        self.channels: tuple[str, ...] = ()
        self.v1_until: float | None = None  # long-poll (v1) until then
        self.fetch_at: float | None = 0.0  # the snapshot is due (monotonic)
        self.seqs: dict[str, int] = {}
        self.raw: dict[str, Any] | None = None  # the last snapshot, for warnings messages
        self.raw_etag: str | None = None
        self.alerts_revision = -1  # of the snapshot: older warnings messages are stale
        self._time_anchor: tuple[datetime, float] | None = None
        self.connected = False

    # -- the daemon's view ---------------------------------------------------------------

    def manifest(self, etag: str | None, wait: int) -> ManifestAnswer:
        if self.v1_until is not None:
            if self.monotonic() < self.v1_until:
                return super().manifest(etag, wait)
            self.v1_until, self.fetch_at = None, 0.0  # ask for v2 again
        deadline = self.monotonic() + wait
        while True:
            while not self._inbox.empty():  # what the stream said first, then the rest
                answer = self._next_event(0.0, etag)
                if answer is not None:
                    return answer
            now = self.monotonic()
            if self.fetch_at is not None and now >= self.fetch_at:
                answer = self._state(etag)
                if answer is None:  # the server speaks v1 only
                    return super().manifest(etag, max(0, int(deadline - self.monotonic())))
                return answer  # unchanged too: the daemon learns it is in contact
            timeout = deadline - now
            if self.fetch_at is not None:
                timeout = min(timeout, self.fetch_at - now)
            if timeout <= 0 and (self.fetch_at is None or now < self.fetch_at):
                return self._unchanged(etag)
            answer = self._next_event(max(0.0, timeout), etag)
            if answer is not None:
                return answer

    def _unchanged(self, etag: str | None) -> ManifestAnswer:
        """Nothing new within ``wait``: the open stream is the contact with the server."""
        if not self.connected:
            raise Unreachable("Stream getrennt")
        # No Date header stands behind this answer: an old one would set the clock back.
        self.last_date = None
        return ManifestAnswer(False, None, etag, None)

    def close(self) -> None:
        if self.stream is not None:
            self.stream.stop()
            self.stream = None

    # -- snapshot ------------------------------------------------------------------------

    def _state(self, etag: str | None) -> ManifestAnswer | None:
        headers = {"If-None-Match": f'"{etag}"'} if etag else {}
        try:
            status, data, answer_headers = self.request_json(self.base_v2, "state", headers)
        except NotFound:
            log.info(kv(event="protocol_v1_fallback", detail="Server ohne Protokoll 2"))
            self.v1_until = self.monotonic() + RECHECK_V2_S
            self.close()
            return None
        self.fetch_at = None
        revision = answer_headers.get("Aushang-Alerts-Revision", "")
        if revision.isdigit():
            self.alerts_revision = int(revision)
        self._channels(answer_headers.get("Aushang-Channels", ""))
        if status == 304 or data is None:
            return ManifestAnswer(False, None, etag, self.last_date)
        new_etag = answer_headers.get("ETag", "").strip('W/"') or data.get("etag")
        self.raw, self.raw_etag = data, new_etag
        self._anchor(data.get("server_time"))
        return ManifestAnswer(True, data, new_etag, self.last_date)

    def _anchor(self, server_time: Any) -> None:
        try:
            value = datetime.fromisoformat(str(server_time).replace("Z", "+00:00"))
        except ValueError:
            return
        self._time_anchor = (value.astimezone(UTC), self.monotonic())

    def _server_time(self) -> datetime:
        if self._time_anchor is None:
            return datetime.now(UTC)
        at, mono = self._time_anchor
        return at + timedelta(seconds=self.monotonic() - mono)

    def _server_now(self) -> str:
        return self._server_time().strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"

    def _server_unix(self) -> float:
        return self._server_time().timestamp()

    def _channels(self, header: str) -> None:
        names = tuple(n.strip() for n in header.split(",") if n.strip())
        if names and names != self.channels:
            self.channels = names
            self.seqs = {}
            self.close()  # the display changed its place or Kommune: new channels
        if self.channels and self.stream is None:
            backoff = Backoff(1.0, 30.0, self.rng)
            self.stream = Stream(self._open_stream, self._inbox, backoff, self.wake)
            # Replay from just before this snapshot: nothing published after it is lost.
            self.stream.since = self._server_unix() - SINCE_MARGIN_S
            self.stream.start()

    def _open_stream(self, last_id: str | None) -> AbstractContextManager[Iterator[str]]:
        headers = {"Accept": "text/event-stream"}
        if last_id:
            headers["Last-Event-ID"] = last_id
        # Commas unencoded: nginx hands the query to nchan as it came (``$arg_c``).
        path = "stream?c=" + ",".join(self.channels)
        return self.event_stream(self.base_v2, path, {}, headers)

    # -- stream events -------------------------------------------------------------------

    def _due_within(self, seconds: float) -> None:
        at = self.monotonic() + max(0.0, seconds) * self.rng()
        self.fetch_at = at if self.fetch_at is None else min(self.fetch_at, at)

    def _next_event(self, timeout: float, etag: str | None) -> ManifestAnswer | None:
        try:
            kind, value = self._inbox.get(timeout=timeout)
        except queue.Empty:
            return None
        if kind == "unauthorized":
            self.stream = None
            raise Unauthorized("Stream abgelehnt", 401)
        if kind == "unsupported":
            self.stream = None
            self.v1_until = self.monotonic() + RECHECK_V2_S
            return None
        if kind == "lost":
            self.connected = False
            self.fetch_at = self.monotonic()  # the next pass asks for the snapshot
            raise Unreachable(str(value))
        if kind == "connected":
            if not self.connected:
                log.info(kv(event="stream_connected", channels=",".join(self.channels)))
            self.connected = True
            # Missed messages come as replay; the snapshot covers what an engine restart
            # lost, spread so a whole fleet reconnecting does not ask in one second.
            self._due_within(RECONNECT_SPREAD_S)
            return None
        return self._message(value, etag)

    def _message(self, text: str, etag: str | None) -> ManifestAnswer | None:
        try:
            data = json.loads(text)
        except ValueError:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("seq"), int):
            return None
        channel, seq = str(data.get("channel", "")), data["seq"]
        last = self.seqs.get(channel)
        if last is not None and seq <= last:
            return None  # a duplicate (replayed, or published twice): drawn once
        self.seqs[channel] = seq
        spread = data.get("fetch_within_s")
        spread_s = float(spread) if isinstance(spread, int | float) else RECONNECT_SPREAD_S
        if last is not None and seq > last + 1:
            self._due_within(0.0)  # a gap: something was missed
        revision = data.get("revision")
        if isinstance(revision, int) and revision < self.alerts_revision:
            return None  # older than the snapshot held (a replay from before it)
        if data.get("type") == "warnings" and isinstance(data.get("warnings"), list):
            self._due_within(spread_s)  # files (QR codes) and the new etag, later
            return self._with_warnings(data["warnings"], etag)
        self._due_within(spread_s)
        return None

    def _with_warnings(self, warnings: list[Any], etag: str | None) -> ManifestAnswer | None:
        if self.raw is None:
            self._due_within(0.0)
            return None
        manifest = copy.deepcopy(self.raw)
        manifest["warnings"] = warnings
        manifest["server_time"] = self._server_now()
        return ManifestAnswer(True, manifest, self.raw_etag or etag, self.last_date)
