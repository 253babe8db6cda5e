"""install.sh --root into a real debootstrapped Debian bookworm (issue 16), marked slow.

The folder comes from scripts/debootstrap-root.sh (built once, like the Debian packages of
scripts/system-deps.sh) and is named by AUSHANG_DEBOOTSTRAP_ROOT; the test copies it, so
the prepared folder stays pristine. On the copy: the installer recognises the real
os-release, adds its users beside Debian's system users, its units pass
`systemd-analyze verify` against the root's own systemd, a second run changes nothing, and
--uninstall restores the root exactly.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from deploy_helpers import DEPLOY_DIR, require_tool, run_install, snapshot

pytestmark = pytest.mark.slow

REPO = Path(__file__).parents[2]
UNITS = sorted(p.name for p in (DEPLOY_DIR / "systemd").glob("aushang-*"))


@pytest.fixture(scope="module")
def bookworm(tmp_path_factory) -> Path:
    prepared = os.environ.get("AUSHANG_DEBOOTSTRAP_ROOT", "")
    if not prepared or not Path(prepared, "etc/os-release").is_file():
        message = (
            "no debootstrapped bookworm: run scripts/debootstrap-root.sh DIR and set "
            "AUSHANG_DEBOOTSTRAP_ROOT=DIR"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    root = tmp_path_factory.mktemp("bookworm") / "root"
    # cp -a keeps owners, modes and symlinks as debootstrap made them.
    subprocess.run(["cp", "-a", prepared, str(root)], check=True, timeout=600)
    return root


def test_install_into_debootstrapped_bookworm(bookworm):
    pristine = snapshot(bookworm)
    result = run_install(
        "--root", bookworm, "--server", "https://aushang.example.de", "--source", REPO
    )
    assert result.returncode == 0, result.stdout + result.stderr
    passwd = (bookworm / "etc/passwd").read_text().splitlines()
    users = {line.split(":")[0]: line.split(":") for line in passwd}
    assert "_apt" in users and "aushang" in users and "aushang-kiosk" in users
    taken = [int(u[2]) for name, u in users.items() if name not in ("aushang", "aushang-kiosk")]
    assert int(users["aushang"][2]) not in taken and int(users["aushang-kiosk"][2]) not in taken
    version = (bookworm / "opt/aushang-player/current").readlink().name
    app = bookworm / "opt/aushang-player/versions" / version / "app/player"
    assert (app / "identity.py").is_file() and (app / "kiosk/index.html").is_file()
    assert (bookworm / "etc/aushang-player/identity").stat().st_size >= 40

    require_tool("systemd-analyze")
    for unit in UNITS:
        verify = subprocess.run(
            ["systemd-analyze", "verify", f"--root={bookworm}", f"/etc/systemd/system/{unit}"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert verify.returncode == 0 and not (verify.stdout + verify.stderr).strip(), (
            unit,
            verify.stdout + verify.stderr,
        )

    installed = snapshot(bookworm)
    again = run_install("--root", bookworm, "--source", REPO)
    assert again.returncode == 0 and "keine Änderung" in again.stdout, again.stdout
    assert snapshot(bookworm) == installed

    gone = run_install("--root", bookworm, "--uninstall")
    assert gone.returncode == 0, gone.stderr
    assert snapshot(bookworm) == pristine
    shutil.rmtree(bookworm)
