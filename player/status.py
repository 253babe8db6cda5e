"""The player's condition: reachability, the last error, backoff, and their log lines.

One line for a failure and one for the recovery, however many retries lie between them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from player.backoff import Backoff
from player.clock import TimeBase, isoformat_z
from player.protocol import ProtocolError

log = logging.getLogger("player")


def kv(**fields: Any) -> str:
    """A log line of ``key=value`` pairs, quoted where needed, to grep for."""
    parts = []
    for key, value in fields.items():
        text = str(value)
        if not text or any(c in text for c in ' ="'):
            text = '"' + text.replace('"', "'") + '"'
        parts.append(f"{key}={text}")
    return " ".join(parts)


@dataclass(frozen=True)
class ErrorReport:
    code: str
    message: str
    at: str

    def to_json(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message, "at": self.at}


# Called with the new error and whether it goes into the proof-of-play queue as an event.
ErrorListener = Callable[[ErrorReport, bool], None]


class Status:
    def __init__(self, time: TimeBase, backoff: Backoff, on_error: ErrorListener) -> None:
        self.time = time
        self.backoff = backoff
        self.on_error = on_error
        self.condition = "starting"
        self.reachable = False
        self.last_contact: datetime | None = time.last_server_time()
        self.last_error: ErrorReport | None = None

    def contact(self, server_date: datetime | None) -> None:
        """The server answered; ``server_date`` is its Date header when there was one."""
        if server_date is not None and not (
            self.time.synced and abs((self.time.now() - server_date).total_seconds()) < 1.5
        ):
            # The Date header has whole seconds: only correct a clearly wrong estimate.
            self.time.observe(server_date)
        self.last_contact = self.time.now()
        self.reachable = True

    def _enter(self, condition: str, line: str) -> bool:
        if condition == self.condition:
            return False
        self.condition = condition
        log.warning(line) if condition != "ok" else log.info(line)
        return True

    def healthy(self) -> None:
        if self.condition not in ("ok", "starting"):
            self._enter("ok", kv(event="recovered", after=self.condition))
        else:
            self.condition = "ok"
        self.backoff.reset()

    def offline(self, exc: Exception) -> float:
        """The server could not be reached; returns the delay before the next try."""
        self.reachable = False
        self._enter("offline", kv(event="server_unreachable", error=exc))
        self.set_error("server_unreachable", str(exc), queue=False)
        return self.backoff.next_delay()

    def content_error(self, exc: Exception) -> float:
        """The answer or the disk could not be used; returns the delay before the next try."""
        code = (
            "manifest_invalid" if isinstance(exc, ProtocolError) else getattr(exc, "code", "error")
        )
        if self._enter(code, kv(event="content_error", code=code, error=exc)):
            self.set_error(code, str(exc))
        return self.backoff.next_delay()

    def set_error(self, code: str, message: str, queue: bool = True) -> None:
        changed = self.last_error is None or self.last_error.code != code
        self.last_error = ErrorReport(code, message[:500], isoformat_z(self.time.now()))
        if changed:
            self.on_error(self.last_error, queue)

    def last_error_json(self) -> dict[str, str] | None:
        return self.last_error.to_json() if self.last_error else None
