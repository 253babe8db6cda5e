"""INI configuration and sd_notify."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from player.config import ConfigError, load_config
from player.systemd import sd_notify

EXAMPLE = """\
[server]
url = https://aushang.example.de/        ; base URL of the Aushang server
provisioning_token =                     ; optional; enrols without a screen (D6)
[player]
state_dir = {state}      ; cache, token, manifest, clock offset
kiosk_host = 127.0.0.1
kiosk_port = 8080                        ; the kiosk page: http://127.0.0.1:8080/
stale_after_seconds = 300                ; show the "Stand: ..." marker after this
[screen]
control = auto                           ; auto | cec | wlr | none
output = HDMI-A-1                        ; for wlr-randr (DPMS via compositor)
"""


def test_contract_example_loads(tmp_path):
    path = tmp_path / "player.ini"
    path.write_text(EXAMPLE.format(state=tmp_path / "state"))
    config = load_config(path)
    assert config.server_url == "https://aushang.example.de"
    assert config.provisioning_token == ""
    assert config.kiosk_port == 8080 and config.stale_after_seconds == 300
    assert config.screen_control == "auto" and config.screen_output == "HDMI-A-1"


@pytest.mark.parametrize(
    "broken",
    [
        "url = ftp://x",
        "url = https://x\n[player]\nkiosk_port = achtzig",
        "url = https://x\n[screen]\ncontrol = laser",
    ],
)
def test_invalid_config_is_explained_in_german(tmp_path, broken):
    path = tmp_path / "player.ini"
    path.write_text("[server]\n" + broken + "\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert "muss" in str(info.value) or "keine ganze Zahl" in str(info.value)


def test_missing_config_exits_with_a_clear_message(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "player", "--config", str(tmp_path / "nope.ini")],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2 and "nicht lesbar" in result.stderr
    version = subprocess.run(
        [sys.executable, "-m", "player", "--version"], capture_output=True, text=True, timeout=30
    )
    assert version.stdout.startswith("aushang-player ")


def test_sd_notify_sends_a_datagram(tmp_path):
    address = str(tmp_path / "notify.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(address)
        assert sd_notify("READY=1", {"NOTIFY_SOCKET": address}) is True
        assert sock.recv(100) == b"READY=1"
    assert sd_notify("READY=1", {}) is False
