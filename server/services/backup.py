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

Checking reads every archive to its last byte (tar end-of-archive blocks, gzip
CRC-32 and length) and compares every member with the manifest. Restore changes all
or nothing: it checks free space, stages inside the data directory (which may be a
mount point), swaps the file store's entries by rename and replaces the database
last, in one transaction; see :func:`restore_backup`.
"""

from __future__ import annotations

import contextlib
import errno
import gzip
import hashlib
import io
import json
import os
import shutil
import sqlite3
import tarfile
import tempfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import IO, Any, BinaryIO

from sqlalchemy.engine import make_url

from ..processes import run_tool

FORMAT = "aushang-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DB_MEMBERS = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}
FILES_PREFIX = "files/"
# Half-written uploads of the blob store; never part of a backup.
TEMP_PREFIXES = (".upload-", ".tmp-")
# A restore stages inside the data directory; never part of a backup either.
RESTORE_PREFIX = ".aushang-restore-"
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
    proc = run_tool(cmd, env=env)
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


def _sqlite_family(database_url: str) -> set[Path]:
    """A SQLite database file and its journal, WAL and shared-memory files: they may
    lie inside the data directory, but they are the database, never stored files."""
    if database_kind(database_url) != "sqlite":
        return set()
    db_path = _sqlite_path(database_url).resolve()
    return {db_path, *(db_path.with_name(db_path.name + s) for s in ("-wal", "-shm", "-journal"))}


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


def _os_problem(exc: OSError) -> str:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return "kein Speicherplatz mehr frei"
    return exc.strerror or str(exc)


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


class Disk:
    """The file system operations of a restore; tests pass a fake that fills up or
    refuses to rename, as a full disk or a mount point would."""

    def free_bytes(self, path: Path) -> int:
        return shutil.disk_usage(path).free

    def device(self, path: Path) -> int:
        return path.stat().st_dev

    def open_write(self, path: Path) -> BinaryIO:
        return path.open("wb")

    def replace(self, source: Path, target: Path) -> None:
        os.replace(source, target)


Runner = Callable[[list[str], dict[str, str], str], None]
SqliteConnect = Callable[[Path], sqlite3.Connection]


def _connect_target(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, timeout=30)


# Head room on top of the counted bytes (directory entries, journal headers).
SPACE_MARGIN = 16 * 1024 * 1024


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB".replace(".", ",")


def restore_backup(
    archive: Path,
    *,
    database_url: str,
    data_dir: Path,
    checked: BackupInfo | None = None,
    disk: Disk | None = None,
    run: Runner | None = None,
    sqlite_connect: SqliteConnect = _connect_target,
) -> BackupInfo:
    """Replace the database content and the file store by the archive's, or change
    nothing at all.

    1. Read the whole archive and check it (skipped when ``checked`` is the result of
       :func:`verify_backup` for the same file).
    2. Check the free space for the staged copy (and a SQLite database) first.
    3. Unpack into a staging folder *inside* ``AUSHANG_DATA_DIR`` and check it again.
       Inside, not beside: the data directory is often its own mount point (a volume,
       a separate disk, a bind mount that ``os.path.ismount`` does not see), which can
       be neither renamed nor renamed into from outside. So the directory itself is
       never renamed or removed; its entries are moved, which stays on one file system.
    4. Swap the file store's entries (the old ones go to the staging folder).
    5. Replace the database last, in one transaction (SQLite's backup API,
       ``pg_restore --single-transaction``). If that fails, the file entries are moved
       back and the database has not changed.

    The server and scheduler must be stopped (and connections of this process closed)
    first: PostgreSQL's ``pg_restore --clean`` waits for every lock on the tables.
    """
    archive = Path(archive).resolve()
    data_dir = Path(data_dir).resolve()
    disk = disk or Disk()
    target_kind = database_kind(database_url)
    manifest = checked.manifest if checked is not None else _read_archive(archive, _only_check)
    kind = manifest["database"]["kind"]
    if kind != target_kind:
        raise BackupError(
            f"Die Sicherung enthält eine {KIND_LABELS[kind]}-Datenbank, konfiguriert ist "
            f"{KIND_LABELS[target_kind]}. Bitte DATABASE_URL prüfen (ein Wechsel des "
            "Datenbanktyps geht über den Archiv-Export, nicht über eine Sicherung)."
        )
    sqlite_target = _sqlite_path(database_url) if kind == "sqlite" else None
    created = not data_dir.exists()
    staging: Path | None = None
    done = False
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        _check_space(disk, manifest, data_dir, sqlite_target)
        staging = Path(tempfile.mkdtemp(prefix=RESTORE_PREFIX, dir=data_dir))
        _stage_and_swap(
            archive, manifest, data_dir, staging, disk, run, sqlite_connect, database_url
        )
        done = True
    except _OldFilesStuck:
        staging = None  # it holds the only copy of some old files
        raise
    except OSError as exc:
        raise BackupError(
            f"Wiederherstellung nicht möglich ({exc.filename or data_dir}: "
            f"{_os_problem(exc)}). Es wurde nichts verändert."
        ) from None
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        if created and not done:
            with contextlib.suppress(OSError):
                data_dir.rmdir()
    return _info(archive, manifest)


class _OldFilesStuck(BackupError):
    pass


def _only_check(name: str) -> None:
    return None


def _check_space(
    disk: Disk, manifest: dict[str, Any], data_dir: Path, sqlite_target: Path | None
) -> None:
    # The staged copy of every member lands in the data directory; SQLite writes the
    # new pages into the database file and keeps the old ones in its journal.
    needs: dict[int, tuple[Path, int]] = {}

    def need(path: Path, n: int) -> None:
        dev = disk.device(path)
        where, before = needs.get(dev, (path, 0))
        needs[dev] = (where, before + n)

    need(data_dir, sum(int(m["size"]) for m in manifest["members"]))
    if sqlite_target is not None:
        db_size = next(
            int(m["size"]) for m in manifest["members"] if m["path"] == DB_MEMBERS["sqlite"]
        )
        old = sqlite_target.stat().st_size if sqlite_target.exists() else 0
        need(_existing(sqlite_target), db_size + old)
    for where, n in needs.values():
        free = disk.free_bytes(where)
        if free < n + SPACE_MARGIN:
            raise BackupError(
                f"Zu wenig Speicherplatz für die Wiederherstellung: in {where} werden "
                f"{_mb(n + SPACE_MARGIN)} gebraucht, frei sind {_mb(free)}. "
                "Es wurde nichts verändert."
            )


def _existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _stage_and_swap(
    archive: Path,
    manifest: dict[str, Any],
    data_dir: Path,
    staging: Path,
    disk: Disk,
    run: Runner | None,
    sqlite_connect: SqliteConnect,
    database_url: str,
) -> None:
    def keep(name: str) -> BinaryIO:
        path = staging / name
        path.parent.mkdir(parents=True, exist_ok=True)
        return disk.open_write(path)

    staged = _read_archive(archive, keep)
    if staged != manifest:
        raise _damaged(archive, "die Datei hat sich während der Wiederherstellung geändert")
    kind = manifest["database"]["kind"]
    db_file = staging / DB_MEMBERS[kind]
    if kind == "sqlite":
        _check_sqlite(archive, db_file)
    new_files = staging / FILES_PREFIX.rstrip("/")
    new_files.mkdir(exist_ok=True)
    for path in _sqlite_family(database_url):
        # Older backups carried a database inside the data directory as a file too;
        # moved in beside the new database, a stale -wal would be replayed into it.
        if data_dir in path.parents:
            (new_files / path.relative_to(data_dir)).unlink(missing_ok=True)
    swap = _EntrySwap(disk, data_dir, staging / "previous")
    try:
        swap.swap_in(new_files)
        if kind == "sqlite":
            _restore_sqlite(db_file, _sqlite_path(database_url), sqlite_connect)
        else:
            _restore_postgresql(db_file, database_url, run or _run)
    except BaseException as exc:
        stuck = swap.roll_back()
        if stuck:
            raise _OldFilesStuck(
                "Wiederherstellung fehlgeschlagen, und nicht alle bisherigen Dateien "
                f"konnten zurückgelegt werden ({', '.join(stuck[:5])}). Sie liegen in "
                f"{staging / 'previous'}; bitte von Hand nach {data_dir} zurückschieben. "
                "Die Datenbank ist unverändert."
            ) from exc
        if isinstance(exc, OSError):
            raise BackupError(
                f"Die Dateiablage konnte nicht ersetzt werden ({exc.filename or data_dir}: "
                f"{_os_problem(exc)}). Es wurde nichts verändert."
            ) from None
        raise


class _EntrySwap:
    """Moves the data directory's entries aside and the new ones in, by rename on one
    file system, and remembers every move so it can undo them in reverse."""

    def __init__(self, disk: Disk, data_dir: Path, previous: Path) -> None:
        self.disk, self.data_dir, self.previous = disk, data_dir, previous
        self.moves: list[tuple[Path, Path]] = []

    def _move(self, source: Path, target: Path) -> None:
        self.disk.replace(source, target)
        self.moves.append((source, target))

    def swap_in(self, new_files: Path) -> None:
        self.previous.mkdir()
        for entry in sorted(self.data_dir.iterdir()):
            # Staging folders, ours and any left by an interrupted restore, stay.
            if not entry.name.startswith(RESTORE_PREFIX):
                self._move(entry, self.previous / entry.name)
        for entry in sorted(new_files.iterdir()):
            self._move(entry, self.data_dir / entry.name)

    def roll_back(self) -> list[str]:
        stuck = []
        for source, target in reversed(self.moves):
            try:
                self.disk.replace(target, source)
            except OSError:
                stuck.append(source.name)
        self.moves.clear()
        return stuck


def _restore_sqlite(source: Path, target: Path, connect: SqliteConnect) -> None:
    # The backup API writes through SQLite itself, in one transaction on the target:
    # WAL and -shm files stay consistent (copying the file over would not), and a
    # failure part way (disk full, locked) leaves the old content.
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        src = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)
        try:
            dst = connect(target)
            try:
                with dst:
                    src.backup(dst)
            finally:
                dst.close()
        finally:
            src.close()
    except sqlite3.Error as exc:
        raise BackupError(
            f"Die SQLite-Datenbank {target} konnte nicht ersetzt werden ({exc}; läuft der "
            "Server noch?). Es wurde nichts verändert."
        ) from None


def _restore_postgresql(dump: Path, database_url: str, run: Runner) -> None:
    uri, env = _pg_connection(database_url)
    try:
        run(
            [
                _pg_tool("pg_restore"),
                "--clean",
                "--if-exists",
                "--no-owner",
                "--no-privileges",
                "--single-transaction",
                "--exit-on-error",
                f"--dbname={uri}",
                str(dump),
            ],
            env,
            "pg_restore",
        )
    except BackupError as exc:
        # --single-transaction: a failed pg_restore has rolled back.
        raise BackupError(f"{exc} Es wurde nichts verändert.") from None
