"""The device identity (issue 16): a secret the player keeps across reboots and cache
wipes, so that re-enrolling with a provisioning key returns the same display.

install.sh writes it to /etc/aushang-player/identity before the read-only overlay is
switched on, so it is part of the image that every boot starts from; a player without
one creates it beside its cache. Where nothing can be written, it is derived from the
hardware (the Pi's serial number and the machine id), which survives reboots too but is
readable by anyone on the device: the file is the better identity.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import secrets
import tempfile
from collections.abc import Callable
from pathlib import Path

from player.status import kv

log = logging.getLogger("player")

VALID = re.compile(r"^[A-Za-z0-9_-]{16,200}$")
SERIAL_FILES = ("/sys/firmware/devicetree/base/serial-number", "/proc/device-tree/serial-number")
MACHINE_ID = "/etc/machine-id"


def _read(path: str | Path) -> str:
    try:
        return Path(path).read_bytes().decode("ascii", "replace").strip("\x00\n ")
    except OSError:
        return ""


def hardware_fingerprint() -> str:
    """The Pi's serial number and the machine id, or "" where neither exists."""
    serial = next((s for s in (_read(p) for p in SERIAL_FILES) if s), "")
    if not serial:
        cpuinfo = _read("/proc/cpuinfo")
        match = re.search(r"^Serial\s*:\s*(\w+)", cpuinfo, re.MULTILINE)
        serial = match.group(1) if match else ""
    machine = _read(MACHINE_ID)
    return f"{serial}:{machine}" if serial or machine else ""


def load_identity(path: Path, fingerprint: Callable[[], str] = hardware_fingerprint) -> str:
    """The device key in ``path``; created there on first use (atomically, mode 0600)."""
    try:
        text = path.read_text(encoding="ascii").strip()
        if VALID.match(text):
            return text
        log.warning(kv(event="identity_invalid", path=str(path)))
    except FileNotFoundError:
        pass
    except (OSError, UnicodeDecodeError) as exc:
        log.warning(kv(event="identity_unreadable", path=str(path), error=type(exc).__name__))
    key = secrets.token_urlsafe(32)
    try:
        _write(path, key)
    except OSError as exc:
        seed = fingerprint()
        if seed:
            log.warning(kv(event="identity_derived", path=str(path), error=type(exc).__name__))
            return hashlib.sha256(f"aushang-device-v1:{seed}".encode()).hexdigest()
        # Better than no identity: this run re-enrols as one device, the next may not.
        log.error(kv(event="identity_volatile", path=str(path), error=type(exc).__name__))
        return key
    log.info(kv(event="identity_created", path=str(path)))
    return key


def _write(path: Path, key: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-identity-", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(key + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError:
        Path(tmp).unlink(missing_ok=True)
        raise
