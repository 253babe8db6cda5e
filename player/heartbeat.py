"""The heartbeat: when it is due, sending it, and what the server's answer tells about time."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from player.client import ServerError, Unauthorized
from player.clock import Clock, parse_utc
from player.status import kv

log = logging.getLogger("player")

RETRY_S = 5.0


class HeartbeatClient(Protocol):
    def heartbeat(self, body: dict[str, Any]) -> dict[str, Any]: ...


class Heartbeat:
    def __init__(self, client: HeartbeatClient, clock: Clock, interval_s: float) -> None:
        self.client = client
        self.clock = clock
        self.interval_s = min(interval_s, 60)
        self.next_due = 0.0  # monotonic seconds

    def due_in(self) -> float:
        return self.next_due - self.clock.monotonic()

    def due_now(self) -> None:
        """Send with the next report (staff see a new fault at once)."""
        self.next_due = 0.0

    def beat(self, body: Callable[[], dict[str, Any]], horizon: float = 0.0) -> datetime | None:
        """Send the heartbeat if it is due within ``horizon`` seconds; returns the server's
        time from its answer. Unauthorized goes up to the caller; other failures wait
        RETRY_S."""
        mono = self.clock.monotonic()
        if mono + horizon < self.next_due:
            return None
        try:
            answer = self.client.heartbeat(body())
        except Unauthorized:
            raise
        except ServerError as exc:
            log.debug(kv(event="heartbeat_failed", error=exc))
            self.next_due = mono + RETRY_S
            return None
        self.next_due = mono + self.interval_s
        return parse_utc(answer["server_time"]) if "server_time" in answer else None
