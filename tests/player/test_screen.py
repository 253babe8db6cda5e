"""Screen power: schedule logic with literal times, the controller against a fake TV."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime

import pytest

from player.commands import CommandResult, subprocess_runner
from player.screen import (
    ScreenController,
    ScreenState,
    parse_cec_power,
    parse_wlr_enabled,
    screen_should_be_on,
)

BERLIN = "Europe/Berlin"
WORKDAYS = [{"weekdays": [1, 2, 3, 4, 5], "on": "06:00", "off": "22:00"}]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- schedule -------------------------------------------------------------------------------


def test_empty_schedule_means_always_on():
    assert screen_should_be_on([], BERLIN, utc(2026, 5, 10, 2, 0), False)


def test_workday_hours_in_local_time():
    # 2026-05-11 is a Monday; Berlin is UTC+2 in May.
    assert not screen_should_be_on(WORKDAYS, BERLIN, utc(2026, 5, 11, 3, 59), False)
    assert screen_should_be_on(WORKDAYS, BERLIN, utc(2026, 5, 11, 4, 0), False)
    assert screen_should_be_on(WORKDAYS, BERLIN, utc(2026, 5, 11, 19, 59), False)
    assert not screen_should_be_on(WORKDAYS, BERLIN, utc(2026, 5, 11, 20, 0), False)


def test_weekend_is_off():
    # 2026-05-09 is a Saturday, noon local time.
    assert not screen_should_be_on(WORKDAYS, BERLIN, utc(2026, 5, 9, 10, 0), False)


def test_warning_overrides_off_hours():
    saturday_night = utc(2026, 5, 9, 23, 0)
    assert not screen_should_be_on(WORKDAYS, BERLIN, saturday_night, False)
    assert screen_should_be_on(WORKDAYS, BERLIN, saturday_night, True)


def test_past_midnight_belongs_to_the_start_day():
    # Friday and Saturday evenings 18:00 until 02:00 the next morning.
    late = [{"weekdays": [5, 6], "on": "18:00", "off": "02:00"}]
    friday_23 = utc(2026, 5, 8, 21, 0)  # Fri 23:00 local
    saturday_01 = utc(2026, 5, 8, 23, 0)  # Sat 01:00 local
    saturday_0230 = utc(2026, 5, 9, 0, 30)  # Sat 02:30 local
    sunday_01 = utc(2026, 5, 9, 23, 0)  # Sun 01:00 local (Saturday's evening)
    monday_01 = utc(2026, 5, 10, 23, 0)  # Mon 01:00 local (Sunday not listed)
    friday_01 = utc(2026, 5, 7, 23, 0)  # Fri 01:00 local (Thursday not listed)
    assert screen_should_be_on(late, BERLIN, friday_23, False)
    assert screen_should_be_on(late, BERLIN, saturday_01, False)
    assert not screen_should_be_on(late, BERLIN, saturday_0230, False)
    assert screen_should_be_on(late, BERLIN, sunday_01, False)
    assert not screen_should_be_on(late, BERLIN, monday_01, False)
    assert not screen_should_be_on(late, BERLIN, friday_01, False)


def test_several_entries_combine():
    schedule = WORKDAYS + [{"weekdays": [6], "on": "09:00", "off": "13:00"}]
    assert screen_should_be_on(schedule, BERLIN, utc(2026, 5, 9, 8, 0), False)  # Sat 10:00
    assert not screen_should_be_on(schedule, BERLIN, utc(2026, 5, 9, 12, 0), False)  # Sat 14:00


def test_dst_end_keeps_wall_clock_hours():
    # 2026-10-25 (Sunday): clocks go back, Berlin is UTC+1 from 01:00 UTC on.
    every_day = [{"weekdays": [], "on": "06:00", "off": "22:00"}]
    assert screen_should_be_on(every_day, BERLIN, utc(2026, 10, 24, 4, 0), False)  # 06:00 CEST
    assert not screen_should_be_on(every_day, BERLIN, utc(2026, 10, 25, 4, 59), False)
    assert screen_should_be_on(every_day, BERLIN, utc(2026, 10, 25, 5, 0), False)  # 06:00 CET
    assert screen_should_be_on(every_day, BERLIN, utc(2026, 10, 25, 20, 59), False)
    assert not screen_should_be_on(every_day, BERLIN, utc(2026, 10, 25, 21, 0), False)


def test_dst_start_keeps_wall_clock_hours():
    # 2027-03-28 (Sunday): clocks go forward, Berlin is UTC+2 from 01:00 UTC on.
    sunday = [{"weekdays": [7], "on": "06:00", "off": "22:00"}]
    assert not screen_should_be_on(sunday, BERLIN, utc(2027, 3, 28, 3, 59), False)
    assert screen_should_be_on(sunday, BERLIN, utc(2027, 3, 28, 4, 0), False)  # 06:00 CEST
    assert not screen_should_be_on(sunday, BERLIN, utc(2027, 3, 28, 20, 0), False)


def test_same_on_and_off_means_whole_day():
    all_day = [{"weekdays": [1], "on": "00:00", "off": "00:00"}]
    assert screen_should_be_on(all_day, BERLIN, utc(2026, 5, 11, 1, 0), False)
    assert not screen_should_be_on(all_day, BERLIN, utc(2026, 5, 12, 1, 0), False)


@pytest.mark.parametrize(
    ("schedule", "tz"),
    [
        ([{"weekdays": [1], "on": "25:00", "off": "06:00"}], BERLIN),
        ([{"weekdays": [8], "on": "06:00", "off": "22:00"}], BERLIN),
        ([{"weekdays": [1], "on": 6, "off": "22:00"}], BERLIN),
        (WORKDAYS, "Mars/Olympus"),
    ],
)
def test_unreadable_schedule_keeps_screen_on(schedule, tz):
    assert screen_should_be_on(schedule, tz, utc(2026, 5, 9, 23, 0), False)


def test_naive_now_is_refused():
    with pytest.raises(ValueError):
        screen_should_be_on(WORKDAYS, BERLIN, datetime(2026, 5, 11, 12, 0), False)


# --- fakes ----------------------------------------------------------------------------------


class FakeTV:
    """A screen behind cec-client and wlr-randr, as a command runner.

    cec: whether the TV answers CEC at all; obeys_standby: False for TVs that ignore the
    standby command (the read-back must show the mismatch).
    """

    def __init__(self, *, cec=True, wlr=True, power="on", obeys_standby=True):
        self.cec = cec
        self.wlr = wlr
        self.power = power
        self.output_enabled = True
        self.obeys_standby = obeys_standby
        self.calls: list[tuple[tuple[str, ...], str | None]] = []

    def __call__(self, args, stdin=None):
        args = tuple(args)
        self.calls.append((args, stdin))
        if args[0] == "cec-client":
            if not self.cec:
                return CommandResult(127, "", "cec-client: not found")
            command = (stdin or "").strip()
            if command == "pow 0":
                return CommandResult(0, f"opening a connection...\npower status: {self.power}\n")
            if command == "on 0":
                self.power = "on"
                return CommandResult(0, "")
            if command == "standby 0":
                if self.obeys_standby:
                    self.power = "standby"
                return CommandResult(0, "")
            return CommandResult(1, "", "unknown command")
        if args[0] == "wlr-randr":
            if not self.wlr:
                return CommandResult(1, "", "failed to connect to display")
            if len(args) == 1:
                enabled = "yes" if self.output_enabled else "no"
                return CommandResult(
                    0,
                    'HDMI-A-1 "Some TV (HDMI-A-1)"\n'
                    f"  Enabled: {enabled}\n"
                    "  Modes:\n    1920x1080 px, 60.000000 Hz (preferred, current)\n",
                )
            self.output_enabled = args[-1] == "--on"
            return CommandResult(0, "")
        return CommandResult(127, "", "not found")

    def commands(self):
        return [stdin.strip() if stdin else " ".join(args) for args, stdin in self.calls]


# --- controller -----------------------------------------------------------------------------


def test_cec_switches_off_and_reads_back():
    tv = FakeTV(power="on")
    screen = ScreenController("cec", run=tv)
    state = screen.apply(False)
    assert state == ScreenState(desired="off", actual="off", method="cec", mismatch=False)
    assert "standby 0" in tv.commands()
    assert tv.calls[0][0] == ("cec-client", "-s", "-d", "1")


def test_cec_does_not_resend_when_already_right():
    tv = FakeTV(power="standby")
    screen = ScreenController("cec", run=tv)
    assert screen.apply(False).actual == "off"
    assert tv.commands() == ["pow 0", "pow 0"]


def test_cec_switches_on_again():
    tv = FakeTV(power="standby")
    screen = ScreenController("cec", run=tv)
    assert screen.apply(True) == ScreenState("on", "on", "cec", False)
    assert "on 0" in tv.commands()


def test_tv_ignoring_standby_is_reported_as_mismatch():
    tv = FakeTV(power="on", obeys_standby=False)
    state = ScreenController("cec", run=tv).apply(False)
    assert state == ScreenState(desired="off", actual="on", method="cec", mismatch=True)
    assert state.as_dict() == {"desired": "off", "actual": "on", "method": "cec", "mismatch": True}


def test_wlr_switches_output():
    tv = FakeTV(cec=False)
    screen = ScreenController("wlr", output="HDMI-A-1", run=tv)
    assert screen.apply(False) == ScreenState("off", "off", "wlr", False)
    assert "wlr-randr --output HDMI-A-1 --off" in tv.commands()
    assert screen.read() == ScreenState("off", "off", "wlr", False)
    assert screen.apply(True) == ScreenState("on", "on", "wlr", False)


def test_wlr_unknown_output_reads_unknown():
    tv = FakeTV(cec=False)
    screen = ScreenController("wlr", output="HDMI-A-2", run=tv)
    state = screen.apply(False)
    assert state.actual == "unknown"
    assert not state.mismatch


def test_auto_prefers_cec_when_the_tv_answers():
    assert ScreenController("auto", run=FakeTV()).method == "cec"


def test_auto_falls_back_to_compositor_without_cec():
    assert ScreenController("auto", run=FakeTV(cec=False)).method == "wlr"
    # cec-client is installed but the TV does not answer: use the compositor.
    tv = FakeTV(power="unknown")
    assert ScreenController("auto", run=tv).method == "wlr"


def test_auto_without_any_tool_is_none_and_tries_again_later():
    tv = FakeTV(cec=False, wlr=False)
    screen = ScreenController("auto", run=tv)
    assert screen.apply(False) == ScreenState("off", "unknown", "none", False)
    tv.wlr = True  # the compositor came up after the player
    assert screen.apply(False) == ScreenState("off", "off", "wlr", False)


def test_method_none_never_runs_commands():
    tv = FakeTV()
    assert ScreenController("none", run=tv).apply(False).method == "none"
    assert tv.calls == []


def test_unknown_method_is_refused():
    with pytest.raises(ValueError):
        ScreenController("hdmi")


def test_parsers():
    assert parse_cec_power("power status: in transition from standby to on") == "on"
    assert parse_cec_power("power status: in transition from on to standby") == "off"
    assert parse_cec_power("power status: unknown") == "unknown"
    assert parse_cec_power("no answer") == "unknown"
    listing = 'DSI-1 "x"\n  Enabled: yes\nHDMI-A-1 "y"\n  Enabled: no\n'
    assert parse_wlr_enabled(listing, "HDMI-A-1") == "off"
    assert parse_wlr_enabled(listing, "DSI-1") == "on"
    assert parse_wlr_enabled(listing, "HDMI-A-2") is None


# --- the subprocess adapter against a fake cec-client on PATH -------------------------------

FAKE_CEC_CLIENT = """#!/bin/sh
# Fake cec-client: keeps the TV's power state in $FAKE_TV_STATE.
state_file="$FAKE_TV_STATE"
[ -f "$state_file" ] || echo on > "$state_file"
read -r command arg
case "$command $arg" in
  "pow 0") echo "opening a connection to the CEC adapter..."; echo "power status: $(cat "$state_file")" ;;
  "on 0") echo on > "$state_file" ;;
  "standby 0") echo standby > "$state_file" ;;
  *) echo "unknown command" >&2; exit 1 ;;
esac
"""


def test_real_runner_with_fake_cec_client_on_path(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    tool = bin_dir / "cec-client"
    tool.write_text(FAKE_CEC_CLIENT)
    tool.chmod(tool.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("FAKE_TV_STATE", str(tmp_path / "tv"))
    # Only the fake tools: wlr-randr is not on this PATH.
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}/usr/bin:/bin")

    screen = ScreenController()  # auto, default subprocess runner
    assert screen.apply(False) == ScreenState("off", "off", "cec", False)
    assert (tmp_path / "tv").read_text().strip() == "standby"
    assert screen.apply(True) == ScreenState("on", "on", "cec", False)


def test_real_runner_reports_missing_tool():
    result = subprocess_runner(["aushang-no-such-tool-xyz"], None)
    assert result.returncode == 127


def test_cage_without_output_management_is_logged_once_and_the_screen_stays_on(caplog):
    # What wlr-randr prints under cage, Debian's fallback compositor.
    class Cage(FakeTV):
        def __call__(self, args, stdin=None):
            if tuple(args)[0] == "wlr-randr":
                self.calls.append((tuple(args), stdin))
                return CommandResult(
                    1, "", "compositor doesn't support wlr-output-management-unstable-v1\n"
                )
            return super().__call__(args, stdin)

    screen = ScreenController("auto", run=Cage(cec=False))
    with caplog.at_level("INFO", logger="player.screen"):
        for _ in range(3):
            assert screen.apply(False) == ScreenState("off", "unknown", "none", False)
    lines = [r.getMessage() for r in caplog.records if "screen_control_unsupported" in r.message]
    assert len(lines) == 1 and "reason=no_output_management" in lines[0]
    assert "labwc" in lines[0] and "cec" in lines[0]


def test_a_compositor_that_is_not_up_yet_is_not_called_unsupported(caplog):
    screen = ScreenController("auto", run=FakeTV(cec=False, wlr=False))
    with caplog.at_level("INFO", logger="player.screen"):
        screen.apply(True)
    assert not [r for r in caplog.records if "screen_control_unsupported" in r.message]
