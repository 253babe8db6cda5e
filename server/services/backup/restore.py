"""Restoring all or nothing: free space, staging inside the data directory, the swap of
the file store's entries, the database last."""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from .common import (
    DB_MEMBERS,
    FILES_PREFIX,
    KIND_LABELS,
    RESTORE_PREFIX,
    BackupError,
    BackupInfo,
    _damaged,
    _info,
    _os_problem,
    _pg_connection,
    _pg_tool,
    _run,
    _sqlite_family,
    _sqlite_path,
    database_kind,
)
from .verify import _check_sqlite, _read_archive


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
