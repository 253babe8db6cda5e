"""Screen power as the daemon sees it: decide on/off, apply it, remember what the screen said.

The screen itself (``player.screen``, behind the ``Screen`` protocol) does the switching; this
class keeps it from being asked more than once per recheck interval when nothing changed,
and turns what it reports into the heartbeat's ``screen`` field.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Protocol

from player.clock import Clock
from player.status import kv

log = logging.getLogger("player")


class ScreenReport(Protocol):
    @property
    def desired(self) -> str: ...
    @property
    def actual(self) -> str: ...
    @property
    def method(self) -> str: ...
    @property
    def mismatch(self) -> bool: ...


class Screen(Protocol):
    def want(
        self, schedule: list[Any], tz: str, now_utc: datetime, warning_active: bool
    ) -> bool: ...
    def apply(self, want_on: bool) -> ScreenReport | None: ...


def _report_json(state: ScreenReport | None) -> dict[str, Any] | None:
    if state is None:
        return None
    return {
        "desired": state.desired,
        "actual": state.actual,
        "method": state.method,
        "mismatch": bool(state.mismatch),
    }


class ScreenPower:
    def __init__(self, screen: Screen, clock: Clock, recheck_s: float) -> None:
        self.screen = screen
        self.clock = clock
        self.recheck_s = recheck_s
        self._state: ScreenReport | None = None
        self._want: bool | None = None
        self._checked = -1e18

    def update(self, schedule: list[Any], tz: str, now: datetime, takeover: bool) -> str | None:
        """Switch the screen as the hours and warnings say; returns an error text when the
        screen tool failed (which must never stop the content)."""
        try:
            want = self.screen.want(schedule, tz, now, takeover)
            mono = self.clock.monotonic()
            if want == self._want and mono - self._checked < self.recheck_s:
                return None
            self._checked = mono
            state = self.screen.apply(want)
        except Exception as exc:  # a screen tool failing must never stop the content
            return f"{type(exc).__name__}: {exc}"
        before = _report_json(self._state)
        self._want, self._state = want, state
        after = _report_json(state)
        if after != before:
            log.info(kv(event="screen", **(after or {})))
        return None

    def state_json(self) -> dict[str, Any] | None:
        return _report_json(self._state)
