"""shellcheck on every script and `systemd-analyze verify` on every unit.

Both tools come from Debian packages (shellcheck, systemd) that scripts/system-deps.sh
installs. Without them the tests skip locally and fail when CI is set.

How the units are verified: `systemd-analyze verify` checks that each ExecStart= binary
exists, and the units point at /opt/aushang-player/..., which does not exist on a
development machine. So the test installs into a scratch root with install.sh --root,
adds what a Raspberry Pi OS root has and the scratch root lacks (the stock units such as
multi-user.target, copied from the host's /usr/lib/systemd/system, and an executable
/usr/bin/python3 that the venv's python links to), and runs
`systemd-analyze verify --root=<scratch root> /etc/systemd/system/<unit>`. verify answers 0
even for unknown keys or bad values ("..., ignoring"), so any output at all fails the test.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from deploy_helpers import DEPLOY_DIR, make_root, make_source, require_tool, run_install

REPO = Path(__file__).parents[2]
UNITS = sorted(p.name for p in (DEPLOY_DIR / "systemd").glob("aushang-*"))


def shell_scripts() -> list[Path]:
    scripts = [p for p in DEPLOY_DIR.rglob("*.sh")]
    scripts.append(REPO / "scripts" / "system-deps.sh")
    return sorted(scripts)


def test_there_are_units_and_scripts():
    assert "aushang-player.service" in UNITS and "aushang-browser-health.timer" in UNITS
    assert DEPLOY_DIR / "install.sh" in shell_scripts()


@pytest.mark.parametrize("script", shell_scripts(), ids=lambda p: str(p.relative_to(REPO)))
def test_shellcheck(script):
    shellcheck = require_tool("shellcheck")
    result = subprocess.run(
        [shellcheck, "--external-sources", "--severity=style", str(script)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="module")
def verify_root(tmp_path_factory):
    require_tool("systemd-analyze")
    host_units = next(
        (p for p in (Path("/usr/lib/systemd/system"), Path("/lib/systemd/system")) if p.is_dir()),
        None,
    )
    if host_units is None:
        pytest.fail("no /usr/lib/systemd/system on this machine: install the systemd package")
    base = tmp_path_factory.mktemp("verify")
    root = make_root(base / "root")
    source = make_source(base / "src")
    result = run_install(
        "--root", root, "--server", "https://aushang.example.de", "--source", source
    )
    assert result.returncode == 0, result.stdout + result.stderr
    shutil.copytree(host_units, root / "usr/lib/systemd/system", symlinks=True)
    python = root / "usr/bin/python3"
    python.parent.mkdir(parents=True, exist_ok=True)
    python.write_text("#!/bin/sh\n")
    python.chmod(0o755)
    return root


@pytest.mark.parametrize("unit", UNITS)
def test_systemd_analyze_verify(verify_root, unit):
    result = subprocess.run(
        ["systemd-analyze", "verify", f"--root={verify_root}", f"/etc/systemd/system/{unit}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    output = (result.stdout + result.stderr).strip()
    assert result.returncode == 0 and not output, output


def test_installed_units_are_the_shipped_ones(verify_root):
    for unit in UNITS:
        installed = verify_root / "etc/systemd/system" / unit
        assert installed.read_text() == (DEPLOY_DIR / "systemd" / unit).read_text()


def test_player_unit_hardening():
    unit = (DEPLOY_DIR / "systemd" / "aushang-player.service").read_text()
    for line in (
        "Type=notify",
        "Restart=always",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "NoNewPrivileges=yes",
        "ReadWritePaths=/var/lib/aushang-player",
        "ExecStart=/opt/aushang-player/current/venv/bin/python -m player "
        "--config /etc/aushang-player/player.ini",
    ):
        assert line in unit.splitlines(), line
    assert any(line.startswith("WatchdogSec=") for line in unit.splitlines())


def test_kiosk_browser_flags():
    script = (DEPLOY_DIR / "libexec" / "kiosk-browser.sh").read_text()
    for flag in (
        "--kiosk",
        "--noerrdialogs",
        "--disable-infobars",
        "--no-first-run",
        "--disable-session-crashed-bubble",
        "--disable-background-networking",
        "--disable-component-update",
        "--check-for-update-interval=31536000",
    ):
        assert flag in script, flag
    assert "http://127.0.0.1:8080/" in script
