"""Screen power: on/off hours from the manifest, applied through HDMI-CEC or the compositor.

The schedule logic (`screen_should_be_on`) is pure and takes `now_utc` as a parameter. The
`ScreenController` talks to the screen through an injectable command runner; the default runner
(``player.commands``) is the only place in the player that starts subprocesses.

Two ways to switch a screen:

- ``cec``: ``cec-client -s -d 1`` with ``on 0`` / ``standby 0`` / ``pow 0`` on stdin. The TV itself
  goes to standby, and it tells us its power state, so we can read it back.
- ``wlr``: ``wlr-randr --output <output> --on/--off`` through the Wayland compositor when the TV
  does not answer CEC. Reading back means parsing ``wlr-randr``'s ``Enabled:`` line. labwc and
  wayfire (the Raspberry Pi OS Bookworm defaults) support it; cage, Debian's fallback, has no
  output management protocol: there the player logs ``event=screen_control_unsupported`` once
  and the screen stays on (CEC still works).

``auto`` picks CEC when the TV answers a power query, else the compositor when it lists the
output, else ``none`` (and tries again on the next call, because at boot the compositor may not
be up yet).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from player.commands import CommandResult, Runner, subprocess_runner

log = logging.getLogger(__name__)

METHODS = ("auto", "cec", "wlr", "none")
CEC_COMMAND = ("cec-client", "-s", "-d", "1")


# --- schedule -------------------------------------------------------------------------------


class ScheduleError(ValueError):
    """A schedule entry or time zone that cannot be understood."""


def _parse_hhmm(value: object) -> time:
    if not isinstance(value, str):
        raise ScheduleError(f"time must be a string 'HH:MM', got {value!r}")
    try:
        hours, minutes = value.strip().split(":")
        parsed = time(int(hours), int(minutes))
    except ValueError as exc:
        raise ScheduleError(f"time must be 'HH:MM', got {value!r}") from exc
    return parsed


def _weekdays(entry: dict[str, Any]) -> frozenset[int]:
    days = entry.get("weekdays")
    if days is None or days == []:
        return frozenset(range(1, 8))
    if not isinstance(days, list | tuple) or not all(
        isinstance(d, int) and not isinstance(d, bool) and 1 <= d <= 7 for d in days
    ):
        raise ScheduleError(f"weekdays must be ISO weekdays 1..7, got {days!r}")
    return frozenset(days)


def _entry_covers(entry: dict[str, Any], local: datetime) -> bool:
    on = _parse_hhmm(entry.get("on"))
    off = _parse_hhmm(entry.get("off"))
    days = _weekdays(entry)
    today = local.isoweekday()
    yesterday = (local - timedelta(days=1)).isoweekday()
    now = local.time().replace(tzinfo=None)
    if on == off:
        # "06:00"-"06:00": the whole day on the listed weekdays.
        return today in days
    if on < off:
        return today in days and on <= now < off
    # Past midnight: the period belongs to the weekday on which it starts.
    return (today in days and now >= on) or (yesterday in days and now < off)


def validate_schedule(schedule: Sequence[dict[str, Any]], tz: str) -> None:
    """Raise ScheduleError when the schedule or the time zone cannot be understood."""
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise ScheduleError(f"unknown time zone {tz!r}") from exc
    if not isinstance(schedule, list | tuple):
        raise ScheduleError("schedule must be a list")
    for entry in schedule:
        if not isinstance(entry, dict):
            raise ScheduleError(f"schedule entry must be an object, got {entry!r}")
        _parse_hhmm(entry.get("on"))
        _parse_hhmm(entry.get("off"))
        _weekdays(entry)


def screen_should_be_on(
    schedule: list[dict[str, Any]], tz: str, now_utc: datetime, warning_active: bool
) -> bool:
    """Whether the screen should be on at `now_utc`.

    Times in the schedule are wall-clock times in `tz` (so 06:00 stays 06:00 across DST
    changes); weekdays are ISO (1=Monday); "off" earlier than "on" runs past midnight and
    belongs to the weekday it starts on. An empty schedule means always on; an active warning
    always switches the screen on. A schedule that cannot be understood also means on: a
    notice board that stays lit is better than a black one.
    """
    if warning_active or not schedule:
        return True
    if now_utc.tzinfo is None:
        raise ValueError("now_utc must be timezone-aware")
    try:
        validate_schedule(schedule, tz)
    except ScheduleError as exc:
        log.warning("event=screen_schedule_invalid error=%r", str(exc))
        return True
    local = now_utc.astimezone(ZoneInfo(tz))
    return any(_entry_covers(entry, local) for entry in schedule)


# --- controller -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ScreenState:
    desired: str  # "on" / "off"
    actual: str  # "on" / "off" / "unknown"
    method: str  # "cec" / "wlr" / "none"
    mismatch: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "desired": self.desired,
            "actual": self.actual,
            "method": self.method,
            "mismatch": self.mismatch,
        }


def parse_cec_power(output: str) -> str:
    """Map cec-client's 'power status: ...' line to on/off/unknown."""
    for line in output.splitlines():
        line = line.strip().lower()
        if not line.startswith("power status:"):
            continue
        status = line.split(":", 1)[1].strip()
        if status == "on" or status == "in transition from standby to on":
            return "on"
        if status == "standby" or status == "in transition from on to standby":
            return "off"
        return "unknown"
    return "unknown"


def parse_wlr_enabled(output: str, name: str) -> str | None:
    """'on'/'off'/'unknown' from wlr-randr's listing for output `name`; None when not listed."""
    found: str | None = None
    in_block = False
    for line in output.splitlines():
        if line and not line[0].isspace():
            in_block = line.split()[0] == name
            if in_block:
                found = "unknown"
            continue
        if in_block and line.strip().lower().startswith("enabled:"):
            value = line.split(":", 1)[1].strip().lower()
            found = {"yes": "on", "no": "off"}.get(value, "unknown")
    return found


def compositor_lacks_output_management(stderr: str) -> bool:
    """Whether wlr-randr failed because the compositor has no output management protocol
    (cage: "compositor doesn't support wlr-output-management-unstable-v1")."""
    text = stderr.lower()
    return "output-management" in text or "output_management" in text


class ScreenController:
    """Switches the screen and reads its state back (see the module docstring)."""

    def __init__(self, method: str = "auto", output: str = "HDMI-A-1", run: Runner | None = None):
        if method not in METHODS:
            raise ValueError(f"screen control must be one of {', '.join(METHODS)}, got {method!r}")
        self.configured = method
        self.output = output
        self._run: Runner = run or subprocess_runner
        self._method: str | None = None if method == "auto" else method
        self._desired: str | None = None
        self._last: ScreenState | None = None
        self._unsupported_logged = False

    @property
    def method(self) -> str:
        """The method in use; detects it first in auto mode."""
        if self._method is None or (self.configured == "auto" and self._method == "none"):
            detected = self._detect()
            if detected != self._method:
                log.info("event=screen_method_detected method=%s", detected)
            self._method = detected
        return self._method

    def _detect(self) -> str:
        if self._cec_power() in ("on", "off"):
            return "cec"
        if self._wlr_power() is not None:
            return "wlr"
        return "none"

    def _cec(self, command: str) -> CommandResult:
        return self._run(CEC_COMMAND, command + "\n")

    def _cec_power(self) -> str:
        result = self._cec("pow 0")
        if result.returncode != 0:
            return "unknown"
        return parse_cec_power(result.stdout)

    def _wlr_power(self) -> str | None:
        result = self._run(("wlr-randr",), None)
        if result.returncode != 0:
            self._explain_wlr_failure(result.stderr)
            return None
        return parse_wlr_enabled(result.stdout, self.output)

    def _explain_wlr_failure(self, stderr: str) -> None:
        # cage (Debian's fallback) has no wlr-output-management: wlr-randr cannot switch
        # the screen there. Say so once, in words an operator can act on.
        if self._unsupported_logged or not compositor_lacks_output_management(stderr):
            return
        self._unsupported_logged = True
        log.warning(
            "event=screen_control_unsupported method=wlr reason=no_output_management hint=%r",
            "Der Compositor (z. B. cage) kann den Bildschirm nicht schalten: labwc oder "
            "wayfire verwenden oder HDMI-CEC nutzen ([screen] control = cec)",
        )

    def _actual(self, method: str) -> str:
        if method == "cec":
            return self._cec_power()
        if method == "wlr":
            return self._wlr_power() or "unknown"
        return "unknown"

    def _switch(self, method: str, on: bool) -> None:
        if method == "cec":
            result = self._cec("on 0" if on else "standby 0")
        elif method == "wlr":
            result = self._run(
                ("wlr-randr", "--output", self.output, "--on" if on else "--off"), None
            )
        else:
            return
        if result.returncode != 0:
            log.warning(
                "event=screen_switch_failed method=%s want=%s rc=%d error=%r",
                method,
                "on" if on else "off",
                result.returncode,
                result.stderr.strip()[:200],
            )

    def _state(self, desired: str, actual: str, method: str) -> ScreenState:
        mismatch = actual in ("on", "off") and actual != desired
        return ScreenState(desired=desired, actual=actual, method=method, mismatch=mismatch)

    def read(self) -> ScreenState:
        method = self.method
        desired = self._desired or "on"
        return self._state(desired, self._actual(method), method)

    def apply(self, want_on: bool) -> ScreenState:
        """Switch the screen if it is not as wanted, then read it back."""
        desired = "on" if want_on else "off"
        method = self.method
        if desired != self._desired:
            log.info("event=screen_desired state=%s method=%s", desired, method)
        self._desired = desired
        if method == "none":
            self._last = self._state(desired, "unknown", method)
            return self._last
        if self._actual(method) != desired:
            self._switch(method, want_on)
        state = self._state(desired, self._actual(method), method)
        if state != self._last:
            # One line per change, not one per loop pass.
            log_at = log.warning if state.mismatch else log.info
            log_at(
                "event=screen_state desired=%s actual=%s method=%s mismatch=%s",
                state.desired,
                state.actual,
                state.method,
                str(state.mismatch).lower(),
            )
        self._last = state
        return state
