"""install.sh against a scratch root (--root): files, users, units; idempotence; uninstall."""

from __future__ import annotations

import re
import subprocess
import zipfile
from pathlib import Path

import pytest
from deploy_helpers import make_root, make_source, run_install, snapshot

SERVER = "https://aushang.example.de"
PREFIX = "opt/aushang-player"


@pytest.fixture
def root(tmp_path):
    return make_root(tmp_path / "root")


@pytest.fixture
def source(tmp_path):
    return make_source(tmp_path / "src")


def install(root, source, *extra):
    result = run_install("--root", root, "--server", SERVER, "--source", source, *extra)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def current(root: Path) -> str:
    return (root / PREFIX / "current").readlink().name


def plan(root: Path) -> list[str]:
    return (root / "var/lib/aushang-installer/plan").read_text().splitlines()


def test_install_creates_users_units_config_and_version(root, source):
    result = install(root, source, "--token", "prov-123")
    assert "keine Änderung" not in result.stdout

    passwd = (root / "etc/passwd").read_text().splitlines()
    assert passwd[0] == "root:x:0:0:root:/root:/bin/bash"
    users = {line.split(":")[0]: line.split(":") for line in passwd}
    assert users["aushang"][5:] == ["/var/lib/aushang-player", "/usr/sbin/nologin"]
    assert users["aushang-kiosk"][6] == "/usr/sbin/nologin"
    groups = {line.split(":")[0] for line in (root / "etc/group").read_text().splitlines()}
    assert {"aushang", "aushang-kiosk"} <= groups

    units = root / "etc/systemd/system"
    for unit in (
        "aushang-player.service",
        "aushang-kiosk.service",
        "aushang-browser-health.service",
        "aushang-browser-health.timer",
    ):
        assert (units / unit).is_file()
    wants = units / "multi-user.target.wants"
    assert (wants / "aushang-player.service").readlink() == Path(
        "/etc/systemd/system/aushang-player.service"
    )
    assert (wants / "aushang-kiosk.service").is_symlink()
    assert (units / "timers.target.wants/aushang-browser-health.timer").is_symlink()
    assert (root / "etc/systemd/journald.conf.d/aushang.conf").read_text().count("SystemMaxUse=")

    ini = (root / "etc/aushang-player/player.ini").read_text()
    assert f"url = {SERVER}\n" in ini
    assert "provisioning_token = prov-123\n" in ini
    assert "kiosk_port = 8080" in ini
    assert oct((root / "etc/aushang-player/player.ini").stat().st_mode & 0o777) == "0o640"

    version = current(root)
    assert version.startswith("1.2.3-")
    version_dir = root / PREFIX / "versions" / version
    assert (version_dir / "app/player/__main__.py").is_file()
    assert (version_dir / "venv/bin/python").readlink() == Path("/usr/bin/python3")
    assert (version_dir / "VERSION").read_text().strip() == version
    for script in ("kiosk-session.sh", "kiosk-browser.sh", "browser_health.py"):
        assert (root / PREFIX / "libexec" / script).stat().st_mode & 0o111

    steps = plan(root)
    assert any(
        s.startswith("apt-get install") and "chromium" in s and "cec-utils" in s for s in steps
    )
    assert any(s.startswith("useradd --system") and s.endswith(" aushang") for s in steps)
    assert f"/{PREFIX}/versions/{version}/venv/bin/pip install requests>=2.31" in steps
    assert "systemctl enable aushang-player.service" in steps
    assert "systemctl disable getty@tty1.service" in steps


def test_second_run_changes_nothing(root, source):
    install(root, source)
    before = snapshot(root)
    again = install(root, source)
    assert "keine Änderung" in again.stdout
    assert snapshot(root) == before


def test_uninstall_restores_the_root_exactly(root, source):
    pristine = snapshot(root)
    install(root, source, "--overlay")
    assert snapshot(root) != pristine
    result = run_install("--root", root, "--uninstall")
    assert result.returncode == 0, result.stderr
    assert snapshot(root) == pristine
    assert "nicht installiert" in run_install("--root", root, "--uninstall").stdout


def test_uninstall_after_update_and_rollback(root, source, tmp_path):
    pristine = snapshot(root)
    install(root, source)
    install(root, make_source(tmp_path / "src2", "1.2.4", "two"))
    assert run_install("--root", root, "--rollback").returncode == 0
    assert run_install("--root", root, "--uninstall").returncode == 0
    assert snapshot(root) == pristine


@pytest.mark.parametrize(
    ("os_release", "arch", "reason"),
    [
        ("ID=ubuntu\nID_LIKE=debian\nVERSION_CODENAME=jammy\n", "arm64", "jammy"),
        ("ID=raspbian\nID_LIKE=debian\nVERSION_CODENAME=bullseye\n", "armhf", "bullseye"),
        ("ID=fedora\nVERSION_CODENAME=\n", "arm64", "fedora"),
        ("ID=debian\nVERSION_CODENAME=bookworm\n", "amd64", "amd64"),
    ],
)
def test_refuses_unsupported_systems_without_changes(tmp_path, source, os_release, arch, reason):
    root = make_root(tmp_path / "root", os_release)
    pristine = snapshot(root)
    result = run_install("--root", root, "--arch", arch, "--server", SERVER, "--source", source)
    assert result.returncode == 2
    assert "Abbruch" in result.stderr and reason in result.stderr
    assert "Bookworm" in result.stderr
    assert snapshot(root) == pristine


def test_raspberry_pi_os_32_bit_is_supported(tmp_path, source):
    root = make_root(tmp_path / "root", "ID=raspbian\nID_LIKE=debian\nVERSION_CODENAME=bookworm\n")
    result = run_install("--root", root, "--arch", "armhf", "--server", SERVER, "--source", source)
    assert result.returncode == 0, result.stderr


def test_refuses_missing_os_release(tmp_path, source):
    root = tmp_path / "empty"
    root.mkdir()
    result = run_install("--root", root, "--server", SERVER, "--source", source)
    assert result.returncode == 2
    assert list(root.iterdir()) == []


@pytest.mark.parametrize("url", ["http://aushang.example.de", "aushang.example.de", "https://"])
def test_refuses_a_server_url_that_is_not_https(root, source, url):
    pristine = snapshot(root)
    result = run_install("--root", root, "--server", url, "--source", source)
    assert result.returncode == 1
    assert "https://" in result.stderr
    assert snapshot(root) == pristine


def test_first_install_needs_a_server(root, source):
    result = run_install("--root", root, "--source", source)
    assert result.returncode == 1
    assert "--server" in result.stderr


def test_update_installs_beside_and_switches(root, source, tmp_path):
    install(root, source)
    old = current(root)
    new_source = make_source(tmp_path / "src2", "1.2.4", "two")
    result = run_install(
        "--root", root, "--update", "--source", new_source, "--start-check", "true"
    )
    assert result.returncode == 0, result.stderr
    new = current(root)
    assert new.startswith("1.2.4-") and new != old
    assert (root / PREFIX / "previous").readlink() == Path("versions") / old
    assert (root / PREFIX / "versions" / old).is_dir()
    assert "systemctl restart aushang-player.service" in plan(root)
    # The config was kept.
    assert f"url = {SERVER}" in (root / "etc/aushang-player/player.ini").read_text()

    back = run_install("--root", root, "--rollback")
    assert back.returncode == 0, back.stderr
    assert current(root) == old


def test_failed_start_rolls_back(root, source, tmp_path):
    install(root, source)
    old = current(root)
    broken = make_source(tmp_path / "broken", "2.0.0", "broken")
    result = run_install("--root", root, "--update", "--source", broken, "--start-check", "false")
    assert result.returncode == 1
    assert "zurückgeschaltet" in result.stderr
    assert current(root) == old


def test_update_needs_an_installation(root, source):
    result = run_install("--root", root, "--update", "--source", source)
    assert result.returncode == 1
    assert "kein installierter Player" in result.stderr


def test_old_versions_are_pruned(root, tmp_path):
    for n in range(5):
        src = make_source(tmp_path / f"src{n}", f"1.0.{n}", str(n))
        result = run_install("--root", root, "--server", SERVER, "--source", src, "--keep", "3")
        assert result.returncode == 0, result.stderr
    versions = sorted(p.name for p in (root / PREFIX / "versions").iterdir())
    assert len(versions) == 3
    assert current(root).startswith("1.0.4-")


def test_install_from_wheel_takes_only_the_player(root, tmp_path):
    wheel = tmp_path / "aushang-3.1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("player/__init__.py", "")
        archive.writestr("player/__main__.py", "print('player')\n")
        archive.writestr("server/__init__.py", "")
        archive.writestr("aushang-3.1.0.dist-info/METADATA", "Name: aushang\n")
    result = run_install("--root", root, "--server", SERVER, "--wheel", wheel)
    assert result.returncode == 0, result.stderr
    version = current(root)
    assert version.startswith("3.1.0-")
    app = root / PREFIX / "versions" / version / "app"
    assert sorted(p.name for p in app.iterdir()) == ["player"]


def test_changed_server_url_updates_config_only(root, source):
    install(root, source)
    ini = root / "etc/aushang-player/player.ini"
    ini.write_text(ini.read_text().replace("control = auto", "control = cec"))
    result = run_install("--root", root, "--server", "https://neu.example.de", "--source", source)
    assert result.returncode == 0
    text = ini.read_text()
    assert "url = https://neu.example.de" in text
    assert "control = cec" in text  # the local edit stays


def test_overlay_is_recorded_once(root, source):
    install(root, source, "--overlay")
    assert "raspi-config nonint do_overlayfs 0" in plan(root)
    assert "keine Änderung" in install(root, source, "--overlay").stdout


def test_display_manager_is_disabled_and_restored(root, source):
    units = root / "etc/systemd/system"
    units.mkdir(parents=True)
    (units / "display-manager.service").symlink_to("/lib/systemd/system/lightdm.service")
    pristine = snapshot(root)
    install(root, source)
    assert "systemctl disable lightdm.service" in plan(root)
    result = run_install("--root", root, "--uninstall")
    assert "systemctl enable lightdm.service" in result.stdout
    assert snapshot(root) == pristine


def test_changed_config_restarts_the_player(root, source):
    install(root, source)
    assert "systemctl try-restart aushang-player.service" not in plan(root)
    install(root, source, "--token", "neu-456")
    assert "systemctl try-restart aushang-player.service" in plan(root)


@pytest.mark.parametrize(
    "cmdline",
    [
        # Raspberry Pi OS Bookworm: raspi-config's overlay is the overlayroot package.
        "console=serial0,115200 console=tty1 root=PARTUUID=4e639091-02 rootfstype=ext4 "
        "fsck.repair=yes rootwait overlayroot=tmpfs quiet splash",
        "console=tty1 root=/dev/mmcblk0p2 overlayroot=tmpfs:recurse=0 rootwait",
        # Bullseye and older: the initramfs overlay.
        "console=tty1 root=PARTUUID=738a4d67-02 rootfstype=ext4 fsck.repair=yes rootwait boot=overlay",
    ],
    ids=["overlayroot-tmpfs", "overlayroot-tmpfs-options", "boot-overlay"],
)
def test_refuses_to_install_while_the_overlay_is_active(root, source, cmdline):
    (root / "proc").mkdir()
    (root / "proc/cmdline").write_text(cmdline + "\n")
    pristine = snapshot(root)
    result = run_install("--root", root, "--server", SERVER, "--source", source)
    assert result.returncode == 1
    assert "Schreibschutz (Overlay) ist aktiv" in result.stderr
    assert "do_overlayfs 1" in result.stderr
    assert snapshot(root) == pristine


@pytest.mark.parametrize(
    "cmdline",
    [
        "console=tty1 root=PARTUUID=4e639091-02 rootfstype=ext4 rootwait quiet splash",
        "console=tty1 root=/dev/mmcblk0p2 overlayroot=disabled rootwait",
        "console=tty1 root=/dev/mmcblk0p2 rootwait bootoverlay=1",
    ],
)
def test_installs_without_an_overlay(root, source, cmdline):
    (root / "proc").mkdir()
    (root / "proc/cmdline").write_text(cmdline + "\n")
    install(root, source)


def test_device_identity_is_created_once_and_survives_updates(root, source, tmp_path):
    install(root, source)
    identity = root / "etc/aushang-player/identity"
    key = identity.read_text()
    assert re.fullmatch(r"[A-Za-z0-9_-]{40,}", key), key
    assert oct(identity.stat().st_mode & 0o777) == "0o640"
    ini = (root / "etc/aushang-player/player.ini").read_text()
    assert "identity_file = /etc/aushang-player/identity\n" in ini
    install(root, make_source(tmp_path / "src2", "1.2.4", "two"), "--update")
    assert identity.read_text() == key


def test_the_installed_copy_rolls_back_and_uninstalls_on_its_own(root, source, tmp_path):
    pristine = snapshot(root)
    install(root, source)
    install(root, make_source(tmp_path / "src2", "1.2.4", "two"), "--update")
    copy = root / PREFIX / "install.sh"
    for name in ("files.sh", "versions.sh", "uninstall.sh"):
        assert (root / PREFIX / "lib" / name).is_file()
    rollback = subprocess.run(
        ["bash", str(copy), "--root", str(root), "--rollback"], capture_output=True, text=True
    )
    assert rollback.returncode == 0, rollback.stderr
    assert current(root).startswith("1.2.3-")
    gone = subprocess.run(
        ["bash", str(copy), "--root", str(root), "--uninstall"], capture_output=True, text=True
    )
    assert gone.returncode == 0, gone.stderr
    assert snapshot(root) == pristine
