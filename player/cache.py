"""The on-disk state of a player: content-addressed assets, the manifest, small JSON files.

Every write is atomic (temp file, fsync, ``os.replace``, fsync of the directory). Assets are
verified by SHA-256 before they get their final name; the manifest is written only after all
its assets are in place, so a power cut at any moment leaves either the old or the new
manifest, each with all of its files.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
TMP_PREFIX = ".tmp-"


class CacheError(Exception):
    code = "cache_error"


class IntegrityError(CacheError):
    code = "asset_integrity"


class DiskFull(CacheError):
    code = "disk_full"


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _disk_error(exc: OSError) -> CacheError:
    # EFBIG: a file-size limit (RLIMIT_FSIZE, a size-capped volume) leaves no room either.
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return DiskFull("Speicher voll")
    return CacheError(f"Schreibfehler: {exc.strerror or exc}")


class Cache:
    def __init__(
        self,
        root: Path,
        disk_free: Callable[[Path], int] | None = None,
        min_free_bytes: int = 16 * 1024 * 1024,
    ) -> None:
        self.root = Path(root)
        self.assets_dir = self.root / "assets"
        self._disk_free = disk_free or (lambda p: shutil.disk_usage(p).free)
        self.min_free_bytes = min_free_bytes
        self._verified: set[str] = set()
        self.assets_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o700)

    # -- housekeeping -------------------------------------------------------------------

    def remove_temp_files(self) -> int:
        """Drop half-written files left by a crash."""
        removed = 0
        for folder in (self.root, self.assets_dir):
            for path in folder.glob(TMP_PREFIX + "*"):
                path.unlink(missing_ok=True)
                removed += 1
        return removed

    def free_bytes(self) -> int:
        try:
            return int(self._disk_free(self.root))
        except OSError:
            return 0

    # -- small JSON files ----------------------------------------------------------------

    def _write_atomic(self, path: Path, data: bytes, mode: int = 0o600) -> None:
        fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX, dir=path.parent)
        try:
            os.fchmod(fd, mode)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except OSError as exc:
            Path(tmp).unlink(missing_ok=True)
            raise _disk_error(exc) from exc
        _fsync_dir(path.parent)

    def read_json(self, name: str) -> Any | None:
        try:
            return json.loads((self.root / name).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, UnicodeDecodeError):
            # A damaged small file is treated as absent; the server has the truth.
            (self.root / name).unlink(missing_ok=True)
            return None

    def write_json(self, name: str, value: Any) -> None:
        data = json.dumps(value, ensure_ascii=False, sort_keys=True).encode()
        self._write_atomic(self.root / name, data)

    def remove(self, name: str) -> None:
        (self.root / name).unlink(missing_ok=True)

    # -- token ---------------------------------------------------------------------------

    def read_token(self) -> str | None:
        try:
            token = (self.root / "token").read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError):
            return None
        return token or None

    def write_token(self, token: str) -> None:
        self._write_atomic(self.root / "token", token.encode("ascii"), mode=0o600)

    def remove_token(self) -> None:
        (self.root / "token").unlink(missing_ok=True)

    # -- manifest ------------------------------------------------------------------------

    def load_manifest(self) -> dict[str, Any] | None:
        value = self.read_json("manifest.json")
        return value if isinstance(value, dict) else None

    def save_manifest(self, manifest: dict[str, Any]) -> None:
        self.write_json("manifest.json", manifest)

    # -- assets --------------------------------------------------------------------------

    def asset_path(self, sha256: str) -> Path | None:
        """Path of a stored, verified asset; None when absent or damaged."""
        if not SHA256_RE.match(sha256):
            return None
        path = self.assets_dir / sha256
        if sha256 in self._verified and path.exists():
            return path
        return path if self.verify(sha256) else None

    def verify(self, sha256: str) -> bool:
        """Check a stored file against its name; delete it when it does not match."""
        path = self.assets_dir / sha256
        digest = hashlib.sha256()
        try:
            with open(path, "rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 16), b""):
                    digest.update(chunk)
        except FileNotFoundError:
            self._verified.discard(sha256)
            return False
        except OSError:
            digest = hashlib.sha256(b"unreadable")
        if digest.hexdigest() == sha256:
            self._verified.add(sha256)
            return True
        self._verified.discard(sha256)
        path.unlink(missing_ok=True)
        return False

    def has(self, sha256: str) -> bool:
        return self.asset_path(sha256) is not None

    def store_asset(self, sha256: str, size: int, chunks: Iterable[bytes]) -> None:
        """Write a downloaded asset; raise IntegrityError or DiskFull, leaving nothing behind."""
        if not SHA256_RE.match(sha256):
            raise IntegrityError(f"ungültiger Hash {sha256!r}")
        if self.free_bytes() < size + self.min_free_bytes:
            raise DiskFull(f"Speicher voll: {size} Bytes für {sha256[:12]} passen nicht")
        fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX, dir=self.assets_dir)
        digest, written = hashlib.sha256(), 0
        try:
            with os.fdopen(fd, "wb") as fh:
                for chunk in chunks:
                    written += len(chunk)
                    if written > size:
                        raise IntegrityError(f"{sha256[:12]}: mehr als {size} Bytes")
                    digest.update(chunk)
                    fh.write(chunk)
                fh.flush()
                os.fsync(fh.fileno())
            if written != size or digest.hexdigest() != sha256:
                raise IntegrityError(f"{sha256[:12]}: Prüfsumme oder Größe falsch")
            os.replace(tmp, self.assets_dir / sha256)
        except OSError as exc:
            Path(tmp).unlink(missing_ok=True)
            raise _disk_error(exc) from exc
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        _fsync_dir(self.assets_dir)
        self._verified.add(sha256)

    def stored(self) -> Iterator[str]:
        for path in self.assets_dir.iterdir():
            if SHA256_RE.match(path.name):
                yield path.name

    def remove_unused(self, keep: set[str]) -> list[str]:
        removed = []
        for sha in list(self.stored()):
            if sha not in keep:
                (self.assets_dir / sha).unlink(missing_ok=True)
                self._verified.discard(sha)
                removed.append(sha)
        return removed
