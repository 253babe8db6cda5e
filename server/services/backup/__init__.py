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

from .common import (
    DB_MEMBERS,
    FILES_PREFIX,
    FORMAT,
    FORMAT_VERSION,
    KIND_LABELS,
    MANIFEST,
    BackupError,
    BackupInfo,
    database_kind,
)

# The tool runner and the SQLite path, for tests that inject faults around them.
from .common import _run as _run
from .common import _sqlite_path as _sqlite_path
from .create import create_backup
from .restore import Disk, restore_backup
from .verify import verify_backup

__all__ = [
    "BackupError",
    "BackupInfo",
    "DB_MEMBERS",
    "Disk",
    "FILES_PREFIX",
    "FORMAT",
    "FORMAT_VERSION",
    "KIND_LABELS",
    "MANIFEST",
    "create_backup",
    "database_kind",
    "restore_backup",
    "verify_backup",
]
