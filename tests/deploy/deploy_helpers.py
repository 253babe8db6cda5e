"""Shared helpers for the Raspberry Pi deployment tests."""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

DEPLOY_DIR = Path(__file__).parents[2] / "deploy" / "raspberry-pi"
INSTALL_SH = DEPLOY_DIR / "install.sh"

BOOKWORM = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_CODENAME=bookworm\n'


def require_tool(name: str) -> str:
    """Path of a tool; skip without it, but fail in CI (scripts/system-deps.sh installs it)."""
    path = shutil.which(name)
    if path:
        return path
    message = f"{name} is missing: install it with scripts/system-deps.sh (Debian package)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def snapshot(root: Path) -> dict[str, tuple]:
    """Every path under root with its type, mode and content (or link target)."""
    result: dict[str, tuple] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            rel = str(path.relative_to(root))
            st = path.lstat()
            if path.is_symlink():
                result[rel] = ("link", os.readlink(path))
            elif path.is_dir():
                result[rel] = ("dir", oct(st.st_mode & 0o7777))
            elif not stat.S_ISREG(st.st_mode):
                # Device nodes of a debootstrapped root: never read /dev/zero.
                result[rel] = ("special", oct(st.st_mode), st.st_rdev)
            else:
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
                result[rel] = ("file", oct(st.st_mode & 0o7777), digest)
    return result


def make_source(path: Path, version: str = "1.2.3", marker: str = "one") -> Path:
    """A minimal player source tree (the real player is not needed to test the installer)."""
    (path / "player").mkdir(parents=True, exist_ok=True)
    (path / "player" / "__init__.py").write_text(f'MARKER = "{marker}"\n')
    (path / "player" / "__main__.py").write_text("print('player')\n")
    (path / "pyproject.toml").write_text(f'[project]\nname = "aushang"\nversion = "{version}"\n')
    return path


def make_root(path: Path, os_release: str = BOOKWORM) -> Path:
    (path / "etc").mkdir(parents=True)
    (path / "etc" / "os-release").write_text(os_release)
    (path / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/bash\n")
    (path / "etc" / "group").write_text("root:x:0:\n")
    return path


def run_install(*args: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(INSTALL_SH), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
