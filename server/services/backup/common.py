"""What creating, checking and restoring a backup share: the format, the errors, the
database URL and the PostgreSQL client tools."""

from __future__ import annotations

import errno
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from ...processes import run_tool

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


def _sqlite_family(database_url: str) -> set[Path]:
    """A SQLite database file and its journal, WAL and shared-memory files: they may
    lie inside the data directory, but they are the database, never stored files."""
    if database_kind(database_url) != "sqlite":
        return set()
    db_path = _sqlite_path(database_url).resolve()
    return {db_path, *(db_path.with_name(db_path.name + s) for s in ("-wal", "-shm", "-journal"))}


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


def _damaged(archive: Path, why: str) -> BackupError:
    return BackupError(
        f"Die Sicherung {archive} ist beschädigt oder keine Aushang-Sicherung ({why}). "
        "Es wurde nichts verändert."
    )


def _os_problem(exc: OSError) -> str:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return "kein Speicherplatz mehr frei"
    return exc.strerror or str(exc)
