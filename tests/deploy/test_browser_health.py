"""Black-screen recovery: the browser health check restarts a kiosk that stops pinging.

A fake player answers /local/health from the pings it gets; a fake "browser" is a real
process that pings it. Stopping that process (SIGSTOP: it hangs, like a frozen page) must
lead the health check to run the restart command, which starts a fresh browser.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

HEALTH_SCRIPT = (
    Path(__file__).parents[2] / "deploy" / "raspberry-pi" / "libexec" / "browser_health.py"
)

FAKE_BROWSER = """
import json, sys, time, urllib.request
url = sys.argv[1]
while True:
    request = urllib.request.Request(url, data=json.dumps({"showing": None}).encode(),
                                     headers={"Content-Type": "application/json"})
    try:
        urllib.request.urlopen(request, timeout=2).read()
    except OSError:
        pass
    time.sleep(0.1)
"""

# The restart command: kill the old browser (if any), start a new one, remember its pid.
RESTART_BROWSER = """
import os, signal, subprocess, sys
pid_file, browser, ping_url = sys.argv[1:4]
try:
    os.kill(int(open(pid_file).read()), signal.SIGKILL)
except (OSError, ValueError):
    pass
proc = subprocess.Popen([sys.executable, browser, ping_url], start_new_session=True,
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
open(pid_file + ".tmp", "w").write(str(proc.pid))
os.replace(pid_file + ".tmp", pid_file)
"""


class FakePlayer:
    """/local/ping and /local/health as in the player contract, on an ephemeral port."""

    def __init__(self) -> None:
        self.last_ping: float | None = None
        player = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                if self.path == "/local/ping":
                    self.rfile.read(int(self.headers.get("Content-Length") or 0))
                    player.last_ping = time.monotonic()
                    self._answer({"ok": True})
                else:
                    self.send_error(404)

            def do_GET(self):  # noqa: N802
                if self.path == "/local/health":
                    self._answer(player.health())
                else:
                    self.send_error(404)

            def _answer(self, data):
                body = json.dumps(data).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def ping_age(self) -> float | None:
        return None if self.last_ping is None else time.monotonic() - self.last_ping

    def health(self) -> dict:
        return {
            "ok": True,
            "enrolled": True,
            "kiosk_last_ping_age_s": self.ping_age(),
            "server_reachable": True,
            "last_server_contact": None,
        }

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def wait_for(condition, timeout=10.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A killed child of the (exited) restart script is reaped by init; a zombie counts as dead.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


@pytest.fixture
def player():
    fake = FakePlayer()
    yield fake
    fake.close()


@pytest.fixture
def browser_setup(tmp_path, player):
    browser = tmp_path / "fake_browser.py"
    browser.write_text(FAKE_BROWSER)
    restart = tmp_path / "restart_browser.py"
    restart.write_text(RESTART_BROWSER)
    pid_file = tmp_path / "browser.pid"
    command = f"{sys.executable} {restart} {pid_file} {browser} {player.base}/local/ping"
    yield pid_file, command
    try:
        os.kill(int(pid_file.read_text()), signal.SIGKILL)
    except (OSError, ValueError):
        pass


def run_check(player, state_file, restart_command, *extra):
    return subprocess.run(
        [
            sys.executable,
            str(HEALTH_SCRIPT),
            "--url",
            f"{player.base}/local/health",
            "--state-file",
            str(state_file),
            "--restart-command",
            restart_command,
            "--max-age",
            "1",
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_frozen_browser_is_restarted(tmp_path, player, browser_setup):
    pid_file, restart_command = browser_setup
    state_file = tmp_path / "state.json"
    subprocess.run(restart_command.split(), check=True)  # first start of the "kiosk"
    first = int(pid_file.read_text())
    wait_for(lambda: player.ping_age() is not None and player.ping_age() < 1, what="first ping")

    healthy = run_check(player, state_file, restart_command, "--grace", "30")
    assert healthy.returncode == 0, healthy.stderr
    assert "kiosk_restart" not in healthy.stdout
    assert int(pid_file.read_text()) == first

    os.kill(first, signal.SIGSTOP)  # the page hangs: no more pings
    wait_for(lambda: player.ping_age() > 1.2, what="stale ping")

    frozen = run_check(player, state_file, restart_command, "--grace", "30")
    assert frozen.returncode == 0, frozen.stderr
    assert "event=kiosk_restart reason=ping_too_old" in frozen.stdout
    second = int(pid_file.read_text())
    assert second != first
    wait_for(lambda: not alive(first), what="old browser gone")
    wait_for(lambda: player.ping_age() < 0.5, what="new browser pings")

    recovered = run_check(player, state_file, restart_command, "--grace", "30")
    assert "kiosk_restart" not in recovered.stdout
    assert int(pid_file.read_text()) == second


# --- the decision rules, with literal monotonic times --------------------------------------


def load_module():
    spec = importlib.util.spec_from_file_location("browser_health", HEALTH_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def health_module():
    return load_module()


def make_args(module, tmp_path, url, counter, grace=120):
    restart = f"{sys.executable} -c \"open({str(counter)!r}, 'a').write('x')\""
    return module.parse_args(
        [
            "--url",
            url,
            "--state-file",
            str(tmp_path / "state.json"),
            "--restart-command",
            restart,
            "--grace",
            str(grace),
            "--timeout",
            "2",
        ]
    )


def restarts(counter: Path) -> int:
    return len(counter.read_text()) if counter.exists() else 0


def test_unreachable_player_restarts_kiosk_only_after_grace(tmp_path, health_module):
    with ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler) as closed:
        url = f"http://127.0.0.1:{closed.server_address[1]}/local/health"
    counter = tmp_path / "restarts"
    args = make_args(health_module, tmp_path, url, counter, grace=120)
    assert health_module.check(args, now=1000.0) == 0
    assert health_module.check(args, now=1100.0) == 0
    assert restarts(counter) == 0
    assert health_module.check(args, now=1121.0) == 0
    assert restarts(counter) == 1
    # Right after a restart the page gets the grace period to come up.
    assert health_module.check(args, now=1200.0) == 0
    assert restarts(counter) == 1


def test_page_that_never_pings_is_restarted_after_grace(tmp_path, player, health_module):
    counter = tmp_path / "restarts"
    args = make_args(health_module, tmp_path, f"{player.base}/local/health", counter, grace=60)
    health_module.check(args, now=50.0)
    health_module.check(args, now=100.0)
    assert restarts(counter) == 0
    health_module.check(args, now=111.0)
    assert restarts(counter) == 1


def test_fresh_ping_resets_the_clock(tmp_path, player, health_module):
    counter = tmp_path / "restarts"
    args = make_args(health_module, tmp_path, f"{player.base}/local/health", counter, grace=60)
    health_module.check(args, now=0.0)  # no ping yet
    player.last_ping = time.monotonic()
    health_module.check(args, now=59.0)  # fine now
    player.last_ping = None
    health_module.check(args, now=100.0)  # bad again, the grace starts anew
    assert restarts(counter) == 0
    state = json.loads((tmp_path / "state.json").read_text())
    assert state["bad_since"] == 100.0


def test_failing_restart_command_is_reported(tmp_path, player, health_module):
    args = health_module.parse_args(
        [
            "--url",
            f"{player.base}/local/health",
            "--state-file",
            str(tmp_path / "state.json"),
            "--restart-command",
            "/nonexistent/restart-kiosk",
            "--grace",
            "0",
        ]
    )
    assert health_module.check(args, now=10.0) == 1
