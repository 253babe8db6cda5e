"""Content-addressed blob store and upload checks.

Files are stored once under their SHA-256 (``ab/abcdef…``); the hash is the name, so a
stored file can never silently change and the same bytes are kept only once.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO

from ..domain.errors import DomainError, ValidationFailed

log = logging.getLogger("aushang.files")

ALLOWED_MEDIA = {
    "application/pdf": ".pdf",
    "image/png": ".png",
    "image/jpeg": ".jpg",
}


def sniff_media_type(head: bytes) -> str | None:
    """The media type by content (magic bytes), never by the file name."""
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    return None


class StorageFull(DomainError):
    """The disk of the file store is full (507 Insufficient Storage)."""

    status = 507


class StorageUnavailable(DomainError):
    """The file store failed otherwise (503, try again later)."""

    status = 503


@dataclass(frozen=True)
class StoredBlob:
    sha256: str
    size: int
    media_type: str


class BlobStore:
    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def path_for(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError("not a sha256 hex digest")
        return self.root / sha256[:2] / sha256

    def exists(self, sha256: str) -> bool:
        try:
            return self.path_for(sha256).is_file()
        except ValueError:
            return False

    def put_bytes(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        target = self.path_for(digest)
        if not target.exists():
            self._write_atomic(target, [data])
        return digest

    def put_stream(
        self, stream: IO[bytes], *, max_bytes: int, accept: Callable[[bytes], bool] | None = None
    ) -> tuple[str, int, bytes]:
        """Store a stream; returns (sha256, size, first bytes). Raises ValueError when
        the stream is larger than ``max_bytes`` or ``accept(first bytes)`` says no —
        nothing is kept then."""
        self.root.mkdir(parents=True, exist_ok=True)
        hasher = hashlib.sha256()
        size = 0
        head = b""
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".upload-")
        try:
            with self._open_temp(fd) as out:
                while chunk := stream.read(1024 * 256):
                    size += len(chunk)
                    if size > max_bytes:
                        raise ValueError("too large")
                    if len(head) < 16:
                        head += chunk[: 16 - len(head)]
                    hasher.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            if accept is not None and not accept(head):
                raise ValueError("refused")
            digest = hasher.hexdigest()
            target = self.path_for(digest)
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.exists():
                os.unlink(tmp)
            else:
                os.replace(tmp, target)
            return digest, size, head
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    def _open_temp(self, fd: int) -> BinaryIO:
        """The file object an upload is written to (tests put a full disk here)."""
        return os.fdopen(fd, "wb")

    def read(self, sha256: str) -> bytes:
        return self.path_for(sha256).read_bytes()

    def _write_atomic(self, target: Path, chunks: list[bytes]) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in chunks:
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, target)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise


def store_upload(
    store: BlobStore, stream: IO[bytes], filename: str, *, max_bytes: int
) -> StoredBlob:
    """Check an upload by content and size, then store it. Raises ValidationFailed with
    a German message; a refused file leaves nothing behind."""
    refused: list[bool] = []

    def accept(head: bytes) -> bool:
        ok = sniff_media_type(head) is not None
        refused.append(not ok)
        return ok

    try:
        digest, size, head = store.put_stream(stream, max_bytes=max_bytes, accept=accept)
    except OSError as exc:
        # put_stream has removed its temporary file: nothing half-written stays.
        log.warning("event=upload_store_failed errno=%s error=%s", exc.errno, exc)
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise StorageFull(
                f"Die Datei „{filename}“ wurde nicht gespeichert: Der Speicherplatz für "
                "Anlagen ist erschöpft. Bitte wenden Sie sich an die Systembetreuung.",
                {"attachment": "Kein Speicherplatz mehr frei. Es wurde nichts gespeichert."},
            ) from None
        raise StorageUnavailable(
            f"Die Datei „{filename}“ wurde nicht gespeichert: Der Dateispeicher ist gerade "
            "nicht verfügbar. Bitte versuchen Sie es in einigen Minuten erneut.",
            {"attachment": "Speicher nicht verfügbar. Es wurde nichts gespeichert."},
        ) from None
    except ValueError:
        if refused and refused[-1]:
            raise ValidationFailed(
                f"Die Datei „{filename}“ ist kein PDF-, PNG- oder JPEG-Dokument.",
                {"attachment": "Erlaubt sind PDF, PNG und JPEG (geprüft wird der Inhalt)."},
            ) from None
        mb = max_bytes // (1024 * 1024)
        raise ValidationFailed(
            f"Die Datei „{filename}“ ist größer als {mb} MB.",
            {"attachment": f"Höchstens {mb} MB je Datei."},
        ) from None
    media = sniff_media_type(head)
    assert media is not None  # accept() let it through
    return StoredBlob(sha256=digest, size=size, media_type=media)
