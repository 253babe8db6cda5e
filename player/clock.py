"""Time for a device without a real-time clock.

``SystemClock`` is the only place that reads the system clock. ``TimeBase`` turns it into an
estimate of the *server's* time:

* synced (server time learnt in this run): server time at the last contact plus the
  monotonic time since then; immune to the wall clock being stepped;
* not synced (e.g. boot without network): wall clock plus the persisted offset, but never
  earlier than the last server time ever seen plus the time this process has been running.
  A Raspberry Pi's clock after a power cut is behind, so this floor keeps every notice and
  warning that was valid at the last contact on screen until it truly expires.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol


class Clock(Protocol):
    def wall(self) -> datetime: ...

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def __init__(self) -> None:
        self._wake = threading.Event()

    def wall(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if self._wake.wait(max(0.0, seconds)):
            self._wake.clear()

    def interrupt(self) -> None:
        """End the current sleep early (shutdown, or the kiosk has news for the daemon)."""
        self._wake.set()


def isoformat_z(value: datetime) -> str:
    """UTC timestamp as the protocol writes it: ``2026-03-01T10:00:00.123Z``."""
    value = value.astimezone(UTC)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond // 1000:03d}"
    return text + "Z"


def parse_utc(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"timestamp without offset: {text!r}")
    return value.astimezone(UTC)


class TimeBase:
    PERSIST_DRIFT_S = 2.0
    PERSIST_EVERY_S = 900.0

    def __init__(self, clock: Clock, persisted: dict[str, Any] | None = None) -> None:
        self.clock = clock
        self._start_mono = clock.monotonic()
        self._anchor: tuple[datetime, float] | None = None
        self._offset_s = 0.0
        self._floor: datetime | None = None
        self._persisted_offset: float | None = None
        self._persisted_at_mono: float | None = None
        if persisted:
            try:
                self._offset_s = float(persisted.get("offset_s", 0.0))
                self._persisted_offset = self._offset_s
                if persisted.get("last_server_time"):
                    self._floor = parse_utc(str(persisted["last_server_time"]))
            except (TypeError, ValueError):
                self._offset_s, self._floor = 0.0, None

    @property
    def synced(self) -> bool:
        return self._anchor is not None

    def observe(self, server_time: datetime) -> None:
        """Learn the server's time from a response that has just arrived."""
        self._anchor = (server_time.astimezone(UTC), self.clock.monotonic())
        self._offset_s = (server_time - self.clock.wall()).total_seconds()

    def now(self) -> datetime:
        mono = self.clock.monotonic()
        if self._anchor is not None:
            server_time, at = self._anchor
            return server_time + timedelta(seconds=mono - at)
        estimate = self.clock.wall() + timedelta(seconds=self._offset_s)
        if self._floor is not None:
            floor = self._floor + timedelta(seconds=mono - self._start_mono)
            estimate = max(estimate, floor)
        return estimate

    def skew_s(self) -> float | None:
        """Local wall clock minus server time; None until synced in this run."""
        if self._anchor is None:
            return None
        return round((self.clock.wall() - self.now()).total_seconds(), 3)

    def last_server_time(self) -> datetime | None:
        return self._anchor[0] if self._anchor else self._floor

    def to_persist(self) -> dict[str, Any] | None:
        """The state to write, or None when the file on disk is still good enough."""
        if self._anchor is None:
            return None
        mono = self.clock.monotonic()
        drift = (
            None if self._persisted_offset is None else abs(self._offset_s - self._persisted_offset)
        )
        due = (
            self._persisted_at_mono is None
            or mono - self._persisted_at_mono >= self.PERSIST_EVERY_S
        )
        if drift is not None and drift < self.PERSIST_DRIFT_S and not due:
            return None
        self._persisted_offset = self._offset_s
        self._persisted_at_mono = mono
        return {"offset_s": round(self._offset_s, 3), "last_server_time": isoformat_z(self.now())}
