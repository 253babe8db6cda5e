#!/usr/bin/env python3
"""Black-screen recovery: restart the kiosk session when the kiosk page stops pinging.

Run once per check (aushang-browser-health.timer, every 30 s). It asks the player's
/local/health and restarts the kiosk with the given command when

- ``kiosk_last_ping_age_s`` is above --max-age (the page froze or the browser hangs),
- ``kiosk_last_ping_age_s`` stays null for longer than --grace (the page never loaded), or
- /local/health does not answer for longer than --grace (the player is restarting; systemd
  brings it back, and the kiosk page needs a reload after that).

After a restart it waits --grace seconds before it restarts again, so a slow page load is not
cut short. State between runs lives in --state-file (on tmpfs: gone after a reboot) and uses
the monotonic clock, because a Raspberry Pi's wall clock may jump when NTP syncs.

Standard library only: it runs with the system's python3, independent of the player's venv.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path


def log(event: str, **fields: object) -> None:
    parts = [f"event={event}"] + [f"{key}={value}" for key, value in fields.items()]
    print(" ".join(parts), flush=True)


def fetch_health(url: str, timeout: float) -> dict | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            data = json.loads(response.read().decode("utf-8"))
    except (OSError, ValueError, urllib.error.URLError):
        return None
    return data if isinstance(data, dict) else None


def load_state(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    # A state file from before a reboot would carry monotonic times of another boot.
    if not isinstance(data, dict) or data.get("boot_id") != boot_id():
        return {}
    return data


def save_state(path: Path, state: dict) -> None:
    state = {**state, "boot_id": boot_id()}
    if load_state(path) == state:
        return  # write only on change
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(state, sort_keys=True))
    os.replace(tmp, path)


def boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return "unknown"


def diagnose(health: dict | None, max_age: float) -> tuple[str, bool]:
    """(reason, urgent): reason is "" when the page is fine; urgent skips the grace wait."""
    if health is None:
        return "health_unreachable", False
    age = health.get("kiosk_last_ping_age_s")
    if age is None:
        return "no_ping_yet", False
    if not isinstance(age, int | float):
        return "bad_health_answer", False
    if age > max_age:
        return "ping_too_old", True
    return "", False


def check(args: argparse.Namespace, now: float) -> int:
    state_file = Path(args.state_file)
    state = load_state(state_file)
    health = fetch_health(args.url, args.timeout)
    reason, urgent = diagnose(health, args.max_age)

    if not reason:
        if state.get("bad_since") is not None:
            log("kiosk_ok", previous=state.get("reason"))
        state.pop("bad_since", None)
        state.pop("reason", None)
        save_state(state_file, state)
        return 0

    if state.get("bad_since") is None or state.get("reason") != reason:
        state["bad_since"] = now
        state["reason"] = reason
        age = health.get("kiosk_last_ping_age_s") if health else None
        log("kiosk_unhealthy", reason=reason, ping_age_s=age)
    bad_for = now - state["bad_since"]
    restarted_at = state.get("restarted_at")
    in_grace = restarted_at is not None and now - restarted_at < args.grace
    if in_grace or (not urgent and bad_for < args.grace):
        save_state(state_file, state)
        return 0

    command = shlex.split(args.restart_command)
    log(
        "kiosk_restart",
        reason=reason,
        bad_for_s=f"{bad_for:.0f}",
        command=shlex.quote(args.restart_command),
    )
    try:
        result = subprocess.run(command, check=False, timeout=args.restart_timeout)
        rc = result.returncode
    except (OSError, subprocess.TimeoutExpired) as exc:
        log("kiosk_restart_failed", error=shlex.quote(str(exc)))
        rc = 1
    if rc != 0:
        log("kiosk_restart_failed", rc=rc)
    state["restarted_at"] = now
    state.pop("bad_since", None)
    state.pop("reason", None)
    save_state(state_file, state)
    return 0 if rc == 0 else 1


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8080/local/health")
    parser.add_argument("--restart-command", required=True, help="run without a shell")
    parser.add_argument("--state-file", default="/run/aushang-browser-health/state.json")
    parser.add_argument("--max-age", type=float, default=60.0, help="seconds since the last ping")
    parser.add_argument("--grace", type=float, default=120.0, help="seconds to allow a start")
    parser.add_argument("--timeout", type=float, default=5.0, help="HTTP timeout in seconds")
    parser.add_argument("--restart-timeout", type=float, default=60.0)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    return check(args, time.monotonic())


if __name__ == "__main__":
    sys.exit(main())
