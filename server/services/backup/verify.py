"""Reading an archive to its last byte and checking every member against the manifest."""

from __future__ import annotations

import gzip
import hashlib
import json
import sqlite3
import tarfile
import tempfile
import zlib
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import IO, Any, BinaryIO

from .common import (
    DB_MEMBERS,
    FILES_PREFIX,
    FORMAT,
    FORMAT_VERSION,
    MANIFEST,
    BackupError,
    BackupInfo,
    _damaged,
    _info,
    _os_problem,
)


def _safe_member_name(name: str) -> bool:
    p = PurePosixPath(name)
    return (
        bool(name)
        and not p.is_absolute()
        and "\\" not in name
        and all(part not in ("", ".", "..") for part in p.parts)
        and (name == MANIFEST or name in DB_MEMBERS.values() or name.startswith(FILES_PREFIX))
    )


class _WriteFailed(Exception):
    """Writing a staged member failed: the target's problem, not the archive's."""

    def __init__(self, path: Path, exc: OSError) -> None:
        super().__init__(path, exc)
        self.path, self.exc = path, exc


# Opens a staging file for writing, or returns None for a member that is only checked.
Keep = Callable[[str], BinaryIO | None]


def _check_archive_end(archive: Path, tar: tarfile.TarFile) -> None:
    """tarfile stops at the first zero block and never reads the rest of the gzip
    stream, so an archive cut anywhere after the last member's data would pass. Read
    on: at least the two zero blocks of tar's end-of-archive marker, nothing else, and
    the gzip trailer (``GzipFile`` checks its CRC-32 and length at the end)."""
    raw = tar.fileobj
    assert raw is not None
    raw.seek(tar.offset)
    zeros = 0
    while chunk := raw.read(1024 * 1024):
        if chunk.count(0) != len(chunk):
            raise _damaged(archive, "Daten nach dem Archivende")
        zeros += len(chunk)
    if zeros < 2 * tarfile.BLOCKSIZE:
        raise _damaged(archive, "Endmarkierung des Archivs fehlt, die Datei ist abgeschnitten")


def _read_archive(archive: Path, keep: Keep) -> dict[str, Any]:
    """Read the archive once from start to end, hash every member and check it and
    the archive's end against the manifest; ``keep`` decides which members are
    written where. Returns the verified manifest."""
    seen: dict[str, tuple[str, int]] = {}
    manifest_bytes: bytes | None = None
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar:
                if member.isdir():
                    continue
                if not member.isfile() or not _safe_member_name(member.name):
                    raise _damaged(archive, f"unzulässiger Eintrag „{member.name}“")
                if member.name in seen or (member.name == MANIFEST and manifest_bytes):
                    raise _damaged(archive, f"doppelter Eintrag „{member.name}“")
                source = tar.extractfile(member)
                assert source is not None
                if member.name == MANIFEST:
                    manifest_bytes = source.read(10 * 1024 * 1024 + 1)
                    continue
                seen[member.name] = _copy_member(source, member.name, keep)
            _check_archive_end(archive, tar)
    except BackupError:
        raise
    except _WriteFailed as failed:
        if isinstance(failed.exc, gzip.BadGzipFile | zlib.error | EOFError):
            # Reading the archive failed, not writing the copy: the archive is damaged.
            raise _damaged(archive, f"Prüfsumme stimmt nicht: {failed.exc}") from None
        raise BackupError(
            f"Die Sicherung konnte nicht ausgepackt werden ({failed.path}: "
            f"{_os_problem(failed.exc)}). Es wurde nichts verändert."
        ) from None
    except FileNotFoundError:
        raise BackupError(f"Die Sicherung {archive} gibt es nicht.") from None
    except EOFError:
        raise _damaged(archive, "die Datei endet vorzeitig, sie ist abgeschnitten") from None
    except gzip.BadGzipFile as exc:
        raise _damaged(
            archive, f"Prüfsumme oder Länge des gzip-Archivs stimmt nicht: {exc}"
        ) from None
    except (tarfile.TarError, OSError, zlib.error) as exc:
        raise _damaged(archive, f"Archiv nicht lesbar: {exc}") from None
    return _verified_manifest(archive, manifest_bytes, seen)


def _copy_member(source: IO[bytes], name: str, keep: Keep) -> tuple[str, int]:
    hasher, size = hashlib.sha256(), 0
    try:
        out = keep(name)
    except OSError as exc:
        raise _WriteFailed(Path(name), exc) from exc
    if out is None:
        while chunk := source.read(1024 * 1024):
            hasher.update(chunk)
            size += len(chunk)
        return hasher.hexdigest(), size
    target = Path(getattr(out, "name", name))
    try:
        with out:
            # Reading (a damaged archive) and writing (a full disk) fail differently.
            while chunk := source.read(1024 * 1024):
                hasher.update(chunk)
                size += len(chunk)
                try:
                    out.write(chunk)
                except OSError as exc:
                    raise _WriteFailed(target, exc) from exc
    except OSError as exc:  # from close(): the last buffered write
        raise _WriteFailed(target, exc) from exc
    return hasher.hexdigest(), size


def _verified_manifest(
    archive: Path, manifest_bytes: bytes | None, seen: dict[str, tuple[str, int]]
) -> dict[str, Any]:
    if manifest_bytes is None:
        raise _damaged(archive, "manifest.json fehlt")
    try:
        manifest = json.loads(manifest_bytes)
    except ValueError as exc:
        raise _damaged(archive, f"manifest.json unlesbar: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise _damaged(archive, "unbekanntes Format")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise BackupError(
            f"Die Sicherung hat das Format {manifest.get('format_version')}, diese Version "
            f"von Aushang liest Format {FORMAT_VERSION}."
        )
    try:
        declared = {m["path"]: (m["sha256"], int(m["size"])) for m in manifest["members"]}
        kind = manifest["database"]["kind"]
    except (ValueError, KeyError, TypeError) as exc:
        raise _damaged(archive, f"manifest.json unvollständig: {exc!r}") from None
    if kind not in DB_MEMBERS or DB_MEMBERS[kind] not in declared:
        raise _damaged(archive, "Datenbank fehlt im Manifest")
    for name in sorted(set(declared) | set(seen)):
        if name not in seen:
            raise _damaged(archive, f"„{name}“ fehlt")
        if name not in declared:
            raise _damaged(archive, f"„{name}“ steht nicht im Manifest")
        if seen[name] != declared[name]:
            raise _damaged(archive, f"Prüfsumme von „{name}“ stimmt nicht")
    return manifest


def verify_backup(archive: Path) -> BackupInfo:
    """Check an archive completely without restoring it: every member against the
    manifest, the archive's end, and a SQLite database itself. Only the SQLite
    database is written (to the temp folder), to let SQLite check it."""
    archive = Path(archive).resolve()
    with tempfile.TemporaryDirectory(prefix=".aushang-verify-") as tmp:
        db_copy = Path(tmp) / DB_MEMBERS["sqlite"]

        def keep(name: str) -> BinaryIO | None:
            return db_copy.open("wb") if name == DB_MEMBERS["sqlite"] else None

        manifest = _read_archive(archive, keep)
        if manifest["database"]["kind"] == "sqlite":
            _check_sqlite(archive, db_copy)
    return _info(archive, manifest)


def _check_sqlite(archive: Path, path: Path) -> None:
    # A cut database file can still pass integrity_check (the lost bytes may be free
    # space of the last page), so first compare the file with its own header.
    size = path.stat().st_size
    with path.open("rb") as f:
        header = f.read(100)
    if len(header) < 100 or not header.startswith(b"SQLite format 3\x00"):
        raise _damaged(archive, "Datenbank ist keine SQLite-Datei")
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    pages_valid = pages > 0 and header[24:28] == header[92:96]
    if page_size < 512 or size % page_size or (pages_valid and pages * page_size != size):
        raise _damaged(archive, "Datenbankdatei unvollständig")
    try:
        con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            result = con.execute("PRAGMA integrity_check").fetchone()
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        raise _damaged(archive, f"Datenbank unlesbar: {exc}") from None
    if not result or result[0] != "ok":
        raise _damaged(archive, f"Datenbank fehlerhaft: {result}")
