"""Writing a backup: the database snapshot first, then the file store, the manifest last."""

from __future__ import annotations

import hashlib
import io
import json
import os
import sqlite3
import tarfile
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

from .common import (
    DB_MEMBERS,
    FILES_PREFIX,
    FORMAT,
    FORMAT_VERSION,
    MANIFEST,
    RESTORE_PREFIX,
    TEMP_PREFIXES,
    BackupError,
    BackupInfo,
    _info,
    _os_problem,
    _pg_connection,
    _pg_tool,
    _run,
    _sqlite_family,
    _sqlite_path,
    database_kind,
)


def _dump_database(database_url: str, target: Path) -> str:
    kind = database_kind(database_url)
    if kind == "sqlite":
        source = _sqlite_path(database_url)
        if not source.is_file():
            raise BackupError(f"Die SQLite-Datenbank {source} gibt es nicht.")
        src = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)
        dst = sqlite3.connect(target)
        try:
            with dst:
                src.backup(dst)
            dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        finally:
            src.close()
            dst.close()
    else:
        uri, env = _pg_connection(database_url)
        _run(
            [
                _pg_tool("pg_dump"),
                "--format=custom",
                "--no-owner",
                "--no-privileges",
                f"--file={target}",
                f"--dbname={uri}",
            ],
            env,
            "pg_dump",
        )
    return kind


def _data_files(
    data_dir: Path, skip: set[Path] | frozenset[Path] = frozenset()
) -> list[tuple[str, Path]]:
    if not data_dir.is_dir():
        return []
    found = []
    for path in sorted(data_dir.rglob("*")):
        rel = path.relative_to(data_dir)
        if path.is_symlink() or not path.is_file() or path.name.startswith(TEMP_PREFIXES):
            continue
        if path.resolve() in skip:
            continue
        if rel.parts[0].startswith(RESTORE_PREFIX):
            continue
        found.append((rel.as_posix(), path))
    return found


class _HashingReader:
    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.hasher = hashlib.sha256()
        self.size = 0

    def read(self, n: int = -1) -> bytes:
        chunk = self.raw.read(n)
        self.hasher.update(chunk)
        self.size += len(chunk)
        return chunk


def _add(tar: tarfile.TarFile, name: str, path: Path, mtime: float) -> dict[str, Any]:
    with path.open("rb") as raw:
        size = os.fstat(raw.fileno()).st_size
        info = tarfile.TarInfo(name)
        info.size, info.mtime, info.mode = size, mtime, 0o644
        reader = _HashingReader(raw)
        tar.addfile(info, reader)  # type: ignore[arg-type]
    return {"path": name, "sha256": reader.hasher.hexdigest(), "size": reader.size}


def create_backup(
    target: Path,
    *,
    database_url: str,
    data_dir: Path,
    now: datetime,
    alembic_revision: str | None = None,
) -> BackupInfo:
    """Write the archive to ``target`` (atomically: a temp file renamed at the end, so
    a failed backup leaves neither a partial archive nor a temp folder)."""
    target = Path(target).resolve()
    try:
        return _write_backup(target, database_url, Path(data_dir), now, alembic_revision)
    except OSError as exc:
        raise BackupError(
            f"Die Sicherung konnte nicht geschrieben werden ({exc.filename or target}: "
            f"{_os_problem(exc)})."
        ) from None
    except sqlite3.Error as exc:
        raise BackupError(f"Die SQLite-Datenbank konnte nicht gelesen werden ({exc}).") from None


def _write_backup(
    target: Path, database_url: str, data_dir: Path, now: datetime, alembic_revision: str | None
) -> BackupInfo:
    target.parent.mkdir(parents=True, exist_ok=True)
    mtime = now.timestamp()
    with tempfile.TemporaryDirectory(prefix=".aushang-backup-", dir=target.parent) as tmp:
        kind = database_kind(database_url)
        db_file = Path(tmp) / DB_MEMBERS[kind]
        _dump_database(database_url, db_file)
        partial = Path(tmp) / "archive.tar.gz"
        members: list[dict[str, Any]] = []
        with tarfile.open(partial, "w:gz", format=tarfile.PAX_FORMAT) as tar:
            members.append(_add(tar, DB_MEMBERS[kind], db_file, mtime))
            for rel, path in _data_files(data_dir.resolve(), _sqlite_family(database_url)):
                members.append(_add(tar, FILES_PREFIX + rel, path, mtime))
            manifest = {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "created_at": now.isoformat(),
                "database": {"kind": kind, "member": DB_MEMBERS[kind]},
                "alembic_revision": alembic_revision,
                "members": members,
            }
            body = json.dumps(manifest, indent=2, ensure_ascii=False).encode("utf-8")
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mtime, info.mode = len(body), mtime, 0o644
            tar.addfile(info, io.BytesIO(body))
        with partial.open("rb") as f:
            os.fsync(f.fileno())
        os.replace(partial, target)
    return _info(target, manifest)
