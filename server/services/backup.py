"""Backup and restore of one installation: the database and the file store in one archive.

The archive is a ``.tar.gz`` with

- ``database.sqlite3`` (SQLite, taken with the sqlite3 online backup API, so it is a
  consistent snapshot even while the server writes) or ``database.pgdump``
  (PostgreSQL, ``pg_dump --format=custom``),
- ``files/…``: the content-addressed file store (``AUSHANG_DATA_DIR``),
- ``manifest.json`` (last): format, time, database kind, Alembic revision and the
  SHA-256 and size of every other member.

The database is snapshotted before the files are read. Files are written before the
database row that names them is committed and are never changed afterwards (their
name is their hash), so every file the snapshot refers to is in the archive.

Restore checks the whole archive against its manifest in a staging folder first and
refuses a damaged one before it touches anything; then it replaces the database
content and swaps the file store in by renaming.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import zlib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

from sqlalchemy.engine import make_url

FORMAT = "aushang-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DB_MEMBERS = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}
FILES_PREFIX = "files/"
# Half-written uploads of the blob store; never part of a backup.
TEMP_PREFIXES = (".upload-", ".tmp-")
KIND_LABELS = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


class BackupError(Exception):
    """A backup or restore that cannot go ahead; ``str()`` is German, for operators."""


@dataclass
class BackupInfo:
    path: Path
    database_kind: str
    created_at: str
    alembic_revision: str | None
    files: int
    total_bytes: int
    manifest: dict[str, Any] = field(repr=False, default_factory=dict)


def database_kind(database_url: str) -> str:
    backend = make_url(database_url).get_backend_name()
    if backend not in DB_MEMBERS:
        raise BackupError(f"Datenbanktyp „{backend}“ wird für Sicherungen nicht unterstützt.")
    return backend


def _sqlite_path(database_url: str) -> Path:
    database = make_url(database_url).database
    if not database or database == ":memory:":
        raise BackupError("Eine SQLite-Datenbank im Arbeitsspeicher kann nicht gesichert werden.")
    return Path(database)


def _pg_connection(database_url: str) -> tuple[str, dict[str, str]]:
    """A libpq URI without the password, and the environment that carries it (so it
    never shows in the process list)."""
    url = make_url(database_url)
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    uri = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    return uri, env


def _pg_tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            f"{name} wurde nicht gefunden. Bitte die PostgreSQL-Client-Programme installieren "
            "(Debian: postgresql-client, in der Version des Servers oder neuer)."
        )
    return found


def _run(cmd: list[str], env: dict[str, str], what: str) -> None:
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        raise BackupError(f"{what} ist fehlgeschlagen: {' '.join(detail[-3:])}")


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


def _data_files(data_dir: Path) -> list[tuple[str, Path]]:
    if not data_dir.is_dir():
        return []
    found = []
    for path in sorted(data_dir.rglob("*")):
        if path.is_symlink() or not path.is_file() or path.name.startswith(TEMP_PREFIXES):
            continue
        found.append((path.relative_to(data_dir).as_posix(), path))
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
    """Write the archive to ``target`` (atomically: a temp file renamed at the end)."""
    target = Path(target).resolve()
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
            for rel, path in _data_files(Path(data_dir)):
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


def _info(path: Path, manifest: dict[str, Any]) -> BackupInfo:
    files = [m for m in manifest["members"] if m["path"].startswith(FILES_PREFIX)]
    return BackupInfo(
        path=path,
        database_kind=manifest["database"]["kind"],
        created_at=manifest["created_at"],
        alembic_revision=manifest.get("alembic_revision"),
        files=len(files),
        total_bytes=sum(m["size"] for m in manifest["members"]),
        manifest=manifest,
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


def _damaged(archive: Path, why: str) -> BackupError:
    return BackupError(
        f"Die Sicherung {archive} ist beschädigt oder keine Aushang-Sicherung ({why}). "
        "Es wurde nichts verändert."
    )


def _extract_verified(archive: Path, staging: Path) -> dict[str, Any]:
    """Unpack into ``staging`` and check every member against the manifest."""
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
                out_path = staging / member.name
                out_path.parent.mkdir(parents=True, exist_ok=True)
                hasher, size = hashlib.sha256(), 0
                with out_path.open("wb") as out:
                    while chunk := source.read(1024 * 1024):
                        hasher.update(chunk)
                        size += len(chunk)
                        out.write(chunk)
                seen[member.name] = (hasher.hexdigest(), size)
    except BackupError:
        raise
    except FileNotFoundError:
        raise BackupError(f"Die Sicherung {archive} gibt es nicht.") from None
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise _damaged(archive, f"Archiv nicht lesbar: {exc}") from None
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
    """Check an archive completely without restoring it."""
    archive = Path(archive).resolve()
    with tempfile.TemporaryDirectory(prefix=".aushang-verify-") as tmp:
        manifest = _extract_verified(archive, Path(tmp))
        if manifest["database"]["kind"] == "sqlite":
            _check_sqlite(archive, Path(tmp) / DB_MEMBERS["sqlite"])
    return _info(archive, manifest)


def _check_sqlite(archive: Path, path: Path) -> None:
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


def restore_backup(archive: Path, *, database_url: str, data_dir: Path) -> BackupInfo:
    """Replace the database content and the file store by the archive's.

    The server must be stopped (and connections of this process closed) first:
    PostgreSQL's ``pg_restore --clean`` waits for every lock on the tables.
    """
    archive = Path(archive).resolve()
    data_dir = Path(data_dir).resolve()
    target_kind = database_kind(database_url)
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".aushang-restore-", dir=data_dir.parent))
    try:
        manifest = _extract_verified(archive, staging)
        kind = manifest["database"]["kind"]
        if kind != target_kind:
            raise BackupError(
                f"Die Sicherung enthält eine {KIND_LABELS[kind]}-Datenbank, konfiguriert ist "
                f"{KIND_LABELS[target_kind]}. Bitte DATABASE_URL prüfen (ein Wechsel des "
                "Datenbanktyps geht über den Archiv-Export, nicht über eine Sicherung)."
            )
        db_file = staging / DB_MEMBERS[kind]
        if kind == "sqlite":
            _check_sqlite(archive, db_file)
            _restore_sqlite(db_file, _sqlite_path(database_url))
        else:
            uri, env = _pg_connection(database_url)
            _run(
                [
                    _pg_tool("pg_restore"),
                    "--clean",
                    "--if-exists",
                    "--no-owner",
                    "--no-privileges",
                    "--single-transaction",
                    "--exit-on-error",
                    f"--dbname={uri}",
                    str(db_file),
                ],
                env,
                "pg_restore",
            )
        _swap_in_files(staging / FILES_PREFIX.rstrip("/"), data_dir)
        return _info(archive, manifest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _restore_sqlite(source: Path, target: Path) -> None:
    # The backup API writes through SQLite itself, so WAL and -shm files of the
    # target stay consistent (copying the file over would not).
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)
    dst = sqlite3.connect(target, timeout=30)
    try:
        with dst:
            src.backup(dst)
    finally:
        src.close()
        dst.close()


def _swap_in_files(new_files: Path, data_dir: Path) -> None:
    if not new_files.is_dir():
        new_files.mkdir(parents=True)
    old = data_dir.with_name(f".{data_dir.name}.before-restore")
    if old.exists():
        shutil.rmtree(old)
    try:
        if data_dir.exists():
            os.replace(data_dir, old)
        os.replace(new_files, data_dir)
    except OSError:
        # A mount point (container volume, separate disk) cannot be renamed: replace
        # its content instead.
        if old.exists() and not data_dir.exists():
            os.replace(old, data_dir)
        for child in list(data_dir.iterdir()):
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
        for child in new_files.iterdir():
            shutil.move(str(child), str(data_dir / child.name))
    shutil.rmtree(old, ignore_errors=True)
