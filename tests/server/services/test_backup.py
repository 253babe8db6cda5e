"""``aushang backup`` / ``aushang restore``: round trip and refusal of damaged archives.

The round trip runs on the suite's database: SQLite by default (online backup API), and
PostgreSQL (pg_dump / pg_restore) when TEST_DATABASE_URL is set.
"""

from __future__ import annotations

import errno
import gzip
import hashlib
import io
import json
import os
import shutil
import sqlite3
import tarfile
from pathlib import Path

import pytest
from sqlalchemy import func, select

from server.commands import backup_command, restore_command
from server.extensions import db
from server.models import AuditEntry, NoticeVersion
from server.services import audit, backup
from server.services import notices as svc
from server.services.files import BlobStore, store_upload

from ...conftest import _truncate_all

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


@pytest.fixture()
def data_dir(app_ctx) -> Path:
    path = Path(app_ctx.config["AUSHANG_DATA_DIR"])
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(autouse=True)
def _needs_pg_tools(database_url):
    if database_url.startswith("postgresql") and shutil.which("pg_dump") is None:
        if os.environ.get("CI"):
            pytest.fail("pg_dump missing (Debian: postgresql-client)")
        pytest.skip("pg_dump not installed")


def _content(session, now, factory, data_dir: Path):
    tenant = factory.tenant()
    category = factory.category(tenant)
    editor = factory.user(tenant, "editor")
    approver = factory.user(tenant, "approver")
    store = BlobStore(data_dir)
    notice = svc.create_notice(session, tenant, editor, factory.notice_input(category), now)
    for name, data in (("plan.pdf", PDF), ("karte.png", PNG)):
        blob = store_upload(store, io.BytesIO(data), name, max_bytes=1024 * 1024)
        svc.add_attachment(session, notice, editor, blob, name, name, now)
    svc.submit(session, notice, editor, now)
    svc.release(session, notice, approver, "ok", now)
    factory.released_notice(tenant, category, editor, approver, title="Zweite Bekanntmachung")
    session.commit()


def _rows(session) -> dict[str, list[tuple]]:
    out = {}
    for table in db.metadata.sorted_tables:
        query = select(table).order_by(*table.primary_key.columns)
        out[table.name] = [tuple(r) for r in session.execute(query).all()]
    return out


def _files(data_dir: Path) -> dict[str, bytes]:
    return {
        p.relative_to(data_dir).as_posix(): p.read_bytes()
        for p in sorted(data_dir.rglob("*"))
        if p.is_file()
    }


def _release_connections() -> None:
    db.session.remove()
    db.engine.dispose()


def _wipe(data_dir: Path) -> None:
    _truncate_all()
    shutil.rmtree(data_dir, ignore_errors=True)


def test_round_trip_restores_identical_rows_files_and_audit_chain(
    app_ctx, session, now, factory, data_dir, tmp_path
):
    _content(session, now, factory, data_dir)
    (data_dir / ".upload-halfway").write_bytes(b"partial")  # never backed up
    before_rows, before_files = _rows(session), _files(data_dir)
    before_files.pop(".upload-halfway")
    assert sum(len(r) for r in before_rows.values()) > 10 and len(before_files) == 2
    url = app_ctx.config["SQLALCHEMY_DATABASE_URI"]

    archive = tmp_path / "sicherung.tar.gz"
    info = backup.create_backup(
        archive, database_url=url, data_dir=data_dir, now=now, alembic_revision="0001"
    )
    assert info.files == 2 and info.database_kind == db.engine.dialect.name
    assert backup.verify_backup(archive).files == 2

    _wipe(data_dir)
    assert not any(_rows(session).values())
    _release_connections()

    backup.restore_backup(archive, database_url=url, data_dir=data_dir)
    _release_connections()
    assert _rows(db.session) == before_rows
    assert _files(data_dir) == before_files
    result = audit.verify(db.session)
    assert result.ok and result.rows == len(before_rows[AuditEntry.__tablename__])


def test_cli_backup_and_restore(app_ctx, session, now, factory, data_dir, tmp_path):
    _content(session, now, factory, data_dir)
    entries = session.scalar(select(func.count()).select_from(AuditEntry))
    runner = app_ctx.test_cli_runner()
    archive = tmp_path / "cli.tar.gz"
    result = runner.invoke(backup_command, [str(archive)])
    assert result.exit_code == 0, result.output
    assert "Sicherung geschrieben" in result.output and "2 Dateien" in result.output

    result = runner.invoke(restore_command, ["--check", str(archive)])
    assert result.exit_code == 0 and "Prüfsummen stimmen" in result.output

    _wipe(data_dir)
    result = runner.invoke(restore_command, [str(archive)], input="n\n")
    assert result.exit_code != 0  # declined: nothing restored
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == 0

    result = runner.invoke(restore_command, ["--yes", str(archive)])
    assert result.exit_code == 0, result.output
    _release_connections()
    # The restore itself is on the record, at the end of the intact chain.
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == entries + 1
    last = db.session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc())).first()
    assert last.action == "system.restore"
    assert audit.verify(db.session).ok
    assert len(_files(data_dir)) == 2


# --- damaged archives -------------------------------------------------------------------


@pytest.fixture()
def good_archive(app_ctx, session, now, factory, data_dir, tmp_path) -> Path:
    _content(session, now, factory, data_dir)
    archive = tmp_path / "gut.tar.gz"
    backup.create_backup(
        archive,
        database_url=app_ctx.config["SQLALCHEMY_DATABASE_URI"],
        data_dir=data_dir,
        now=now,
    )
    return archive


def _rewrite(src: Path, dst: Path, change) -> Path:
    """Copy a tar.gz member by member; ``change(info, data)`` may alter or add members."""
    with tarfile.open(src, "r:gz") as tin, tarfile.open(dst, "w:gz") as tout:
        for member in tin:
            data = tin.extractfile(member).read()
            for info, body in change(member, data):
                info.size = len(body)
                tout.addfile(info, io.BytesIO(body))
    return dst


def _flip_middle(src: Path, dst: Path) -> Path:
    raw = bytearray(src.read_bytes())
    for i in range(len(raw) // 2, len(raw) // 2 + 16):
        raw[i] ^= 0xFF
    dst.write_bytes(bytes(raw))
    return dst


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _tamper_file(member, data):
    if member.name.startswith("files/"):
        data = data[:-1] + b"X"
    yield member, data


def _traversal(member, data):
    yield member, data
    if member.name == "manifest.json":
        evil = tarfile.TarInfo("files/../../evil.txt")
        yield evil, b"owned"


def _drop_file(member, data):
    if not member.name.startswith("files/"):
        yield member, data


def _forged_manifest(member, data):
    if member.name == "manifest.json":
        data = json.dumps({"format": "something-else"}).encode()
    yield member, data


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (lambda a, t: _flip_middle(a, t / "kaputt.tar.gz"), "beschädigt"),
        (
            lambda a, t: _write(t / "halb.tar.gz", a.read_bytes()[: a.stat().st_size // 2]),
            "beschädigt",
        ),
        (lambda a, t: _write(t / "text.tar.gz", b"keine Sicherung"), "beschädigt"),
        (lambda a, t: _rewrite(a, t / "anders.tar.gz", _tamper_file), "Prüfsumme"),
        (lambda a, t: _rewrite(a, t / "pfad.tar.gz", _traversal), "unzulässiger Eintrag"),
        (lambda a, t: _rewrite(a, t / "fehlt.tar.gz", _drop_file), "fehlt"),
        (lambda a, t: _rewrite(a, t / "manifest.tar.gz", _forged_manifest), "unbekanntes Format"),
        (lambda a, t: t / "gibt-es-nicht.tar.gz", "gibt es nicht"),
    ],
    ids=[
        "flipped-bytes",
        "truncated",
        "not-an-archive",
        "tampered-file",
        "path-traversal",
        "missing-file",
        "foreign-manifest",
        "missing-archive",
    ],
)
def test_a_damaged_archive_is_refused_and_nothing_changes(
    app_ctx, session, data_dir, good_archive, tmp_path, damage, expected
):
    bad = damage(good_archive, tmp_path)
    rows_before, files_before = _rows(session), _files(data_dir)
    _release_connections()
    with pytest.raises(backup.BackupError) as refused:
        backup.restore_backup(
            bad, database_url=app_ctx.config["SQLALCHEMY_DATABASE_URI"], data_dir=data_dir
        )
    assert expected in str(refused.value)
    assert "Es wurde nichts verändert" in str(refused.value) or expected == "gibt es nicht"
    assert _rows(db.session) == rows_before
    assert _files(data_dir) == files_before
    assert not (tmp_path.parent / "evil.txt").exists()
    assert not list(data_dir.parent.glob(".aushang-restore-*"))  # staging cleaned up
    assert not list(data_dir.glob(".aushang-restore-*"))

    result = app_ctx.test_cli_runner().invoke(restore_command, ["--yes", str(bad)])
    assert result.exit_code == 1 and expected in result.output


def test_restore_refuses_another_database_kind(tmp_path, now):
    source = tmp_path / "quelle.db"
    con = sqlite3.connect(source)
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    archive = tmp_path / "sqlite.tar.gz"
    backup.create_backup(
        archive, database_url=f"sqlite:///{source}", data_dir=tmp_path / "leer", now=now
    )
    with pytest.raises(backup.BackupError, match="SQLite-Datenbank, konfiguriert ist PostgreSQL"):
        backup.restore_backup(
            archive,
            database_url="postgresql+psycopg://nobody@127.0.0.1:1/none",
            data_dir=tmp_path / "ziel",
        )
    assert not (tmp_path / "ziel").exists()


# --- cut archives: --check reads to the very end --------------------------------------


def _cut(archive: Path, n: int, target: Path) -> Path:
    return _write(target, archive.read_bytes()[:-n])


@pytest.mark.parametrize("cut", [1, 4, 8, 9, 16, 29, 30, 47, 48, 49, 100, 1000, 5000])
def test_an_archive_cut_short_fails_the_check(app_ctx, good_archive, tmp_path, cut):
    # tarfile stops reading at the first zero block of the end-of-archive marker, so
    # before the fix an archive cut by up to 29..48 bytes (gzip trailer and the
    # compressed zero padding) passed.
    bad = _cut(good_archive, cut, tmp_path / f"minus-{cut}.tar.gz")
    with pytest.raises(backup.BackupError, match="abgeschnitten"):
        backup.verify_backup(bad)

    result = app_ctx.test_cli_runner().invoke(restore_command, ["--check", str(bad)])
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)  # a message, no traceback
    assert "beschädigt" in result.output and "abgeschnitten" in result.output


def _tar_bytes(archive: Path) -> bytes:
    return gzip.decompress(archive.read_bytes())


def _without_end_blocks(tar: bytes) -> bytes:
    while tar.endswith(bytes(512)):
        tar = tar[:-512]
    return tar


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda t: gzip.compress(_without_end_blocks(t)), "Endmarkierung des Archivs fehlt"),
        (
            lambda t: gzip.compress(_without_end_blocks(t) + bytes(512)),
            "Endmarkierung des Archivs fehlt",
        ),
        (
            lambda t: gzip.compress(_without_end_blocks(t) + bytes(1024) + b"x" * 512),
            "Daten nach dem Archivende",
        ),
    ],
    ids=["no-end-blocks", "one-end-block", "data-after-end"],
)
def test_the_tar_end_of_archive_marker_is_checked(
    app_ctx, good_archive, tmp_path, change, expected
):
    raw = _tar_bytes(good_archive)
    assert raw.endswith(bytes(1024))
    bad = _write(tmp_path / "ende.tar.gz", change(raw))
    with pytest.raises(backup.BackupError, match=expected):
        backup.verify_backup(bad)


@pytest.mark.parametrize("offset", [-8, -5, -4, -1], ids=["crc", "crc-last", "isize", "isize-last"])
def test_the_gzip_trailer_is_checked(app_ctx, good_archive, tmp_path, offset):
    raw = bytearray(good_archive.read_bytes())
    raw[offset] ^= 0x01
    bad = _write(tmp_path / "trailer.tar.gz", bytes(raw))
    with pytest.raises(backup.BackupError, match="gzip-Archivs stimmt nicht"):
        backup.verify_backup(bad)


def _sqlite_archive(tmp_path: Path, now) -> Path:
    source = tmp_path / "quelle.db"
    con = sqlite3.connect(source)
    con.execute("CREATE TABLE t (x)")
    con.executemany("INSERT INTO t VALUES (?)", [(f"Zeile {i} " * 20,) for i in range(300)])
    con.commit()
    con.close()
    archive = tmp_path / "sqlite.tar.gz"
    backup.create_backup(
        archive, database_url=f"sqlite:///{source}", data_dir=tmp_path / "leer", now=now
    )
    return archive


def _cut_database(good: Path, cut: int, target: Path) -> Path:
    """The database file ``cut`` bytes short, with a manifest that matches the short
    file (as a backup of a damaged database file would have)."""
    short = {}

    def change(member, data):
        if member.name == "database.sqlite3":
            data = data[:-cut]
            short["sha256"], short["size"] = hashlib.sha256(data).hexdigest(), len(data)
        if member.name == "manifest.json":
            manifest = json.loads(data)
            for m in manifest["members"]:
                if m["path"] == "database.sqlite3":
                    m.update(short)
            data = json.dumps(manifest).encode()
        yield member, data

    return _rewrite(good, target, change)


@pytest.mark.parametrize("cut", [1, 16, 48, 100, 4096])
def test_a_cut_sqlite_database_fails_the_check(tmp_path, now, cut):
    good = _sqlite_archive(tmp_path, now)
    assert backup.verify_backup(good).database_kind == "sqlite"
    bad = _cut_database(good, cut, tmp_path / "kurz.tar.gz")
    with pytest.raises(backup.BackupError, match="Datenbankdatei unvollständig"):
        backup.verify_backup(bad)


# --- a restore that cannot destroy --------------------------------------------------------


class FullDisk(backup.Disk):
    """Reports ``free`` bytes but holds only ``room`` more: the free-space probe can be
    wrong (other writers, quotas), so the copy itself must fail safely too."""

    def __init__(self, *, free: int = 10**12, room: int | None = None) -> None:
        self.free, self.room, self.written = free, room, 0

    def free_bytes(self, path: Path) -> int:
        return self.free

    def open_write(self, path: Path):
        return _LimitedFile(path.open("wb"), self)


class _LimitedFile:
    def __init__(self, raw, disk: FullDisk) -> None:
        self.raw, self.disk, self.name = raw, disk, raw.name

    def write(self, chunk: bytes) -> int:
        if self.disk.room is not None and self.disk.written + len(chunk) > self.disk.room:
            self.raw.write(chunk[: self.disk.room - self.disk.written])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), self.name)
        self.disk.written += len(chunk)
        return self.raw.write(chunk)

    def close(self) -> None:
        self.raw.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class MountedDataDir(backup.Disk):
    """The data directory as its own mount point: the kernel refuses to rename it
    (EBUSY) and to rename anything across its boundary (EXDEV). ``fail_at`` makes
    the n-th rename fail, ``fail_from`` every rename from the n-th on."""

    def __init__(self, data_dir: Path, *, fail_at: int | None = None, fail_from=None) -> None:
        self.data_dir, self.fail_at, self.fail_from = data_dir.resolve(), fail_at, fail_from
        self.renames = 0

    def _inside(self, path: Path) -> bool:
        return self.data_dir in Path(path).resolve().parents

    def replace(self, source: Path, target: Path) -> None:
        if self.data_dir in (Path(source).resolve(), Path(target).resolve()):
            raise OSError(errno.EBUSY, os.strerror(errno.EBUSY), str(source))
        if self._inside(source) != self._inside(target):
            raise OSError(errno.EXDEV, os.strerror(errno.EXDEV), str(source))
        self.renames += 1
        if self.renames == self.fail_at or (self.fail_from and self.renames >= self.fail_from):
            raise OSError(errno.EIO, os.strerror(errno.EIO), str(source))
        os.replace(source, target)


class Untouchable:
    """Database restorers that must never run."""

    def __init__(self) -> None:
        self.calls: list = []

    def run(self, cmd, env, what) -> None:
        self.calls.append(what)

    def connect(self, path):
        self.calls.append(path)
        raise AssertionError("the database must not be touched")


@pytest.fixture()
def changed_since(app_ctx, session, now, factory, data_dir, good_archive):
    """After the backup: one more notice and one more file, so restored and current
    state differ. Returns (rows, files, url) of the current state."""
    tenant = factory.tenant(slug="spaeter")
    category = factory.category(tenant)
    editor, approver = factory.user(tenant, "editor"), factory.user(tenant, "approver")
    factory.released_notice(tenant, category, editor, approver, title="Nach der Sicherung")
    BlobStore(data_dir).put_bytes(b"erst nach der Sicherung hochgeladen")
    session.commit()
    rows, files = _rows(session), _files(data_dir)
    _release_connections()
    return rows, files, app_ctx.config["SQLALCHEMY_DATABASE_URI"]


def _unchanged(data_dir: Path, rows, files) -> None:
    _release_connections()
    assert _rows(db.session) == rows
    assert _files(data_dir) == files  # includes hidden entries: no staging left behind


def _sizes(archive: Path) -> dict[str, int]:
    return {m["path"]: m["size"] for m in backup.verify_backup(archive).manifest["members"]}


def test_too_little_free_space_is_refused_before_anything_is_written(
    data_dir, good_archive, changed_since
):
    rows, files, url = changed_since
    needed = sum(_sizes(good_archive).values())
    untouchable = Untouchable()
    with pytest.raises(backup.BackupError, match="Zu wenig Speicherplatz") as refused:
        backup.restore_backup(
            good_archive,
            database_url=url,
            data_dir=data_dir,
            disk=FullDisk(free=needed),  # the payload fits, the head room does not
            run=untouchable.run,
            sqlite_connect=untouchable.connect,
        )
    assert "Es wurde nichts verändert" in str(refused.value)
    assert untouchable.calls == []
    _unchanged(data_dir, rows, files)


def test_a_disk_that_fills_up_while_unpacking_leaves_everything_as_it_was(
    data_dir, good_archive, changed_since
):
    rows, files, url = changed_since
    sizes = _sizes(good_archive)
    db_size = next(size for path, size in sizes.items() if path.startswith("database."))
    untouchable = Untouchable()
    with pytest.raises(backup.BackupError, match="kein Speicherplatz mehr frei") as refused:
        backup.restore_backup(
            good_archive,
            database_url=url,
            data_dir=data_dir,
            disk=FullDisk(room=db_size + 100),  # the database fits, the files do not
            run=untouchable.run,
            sqlite_connect=untouchable.connect,
        )
    assert "Es wurde nichts verändert" in str(refused.value)
    assert untouchable.calls == []  # neither pg_restore nor SQLite ran
    _unchanged(data_dir, rows, files)


def test_a_mounted_data_dir_is_never_renamed_and_its_content_is_swapped(
    data_dir, good_archive, changed_since
):
    _, files_now, url = changed_since
    with tarfile.open(good_archive) as tar:
        backed_up = {
            m.name.removeprefix("files/"): tar.extractfile(m).read()
            for m in tar
            if m.name.startswith("files/")
        }
    assert backed_up and set(backed_up) < set(files_now)
    handle = os.open(data_dir, os.O_RDONLY)
    try:
        mount = MountedDataDir(data_dir)
        backup.restore_backup(good_archive, database_url=url, data_dir=data_dir, disk=mount)
        # Same directory (inode), still at its place: moved into, never renamed or removed.
        assert os.fstat(handle).st_ino == os.stat(data_dir).st_ino
    finally:
        os.close(handle)
    assert mount.renames > 0
    assert _files(data_dir) == backed_up
    _release_connections()
    titles = {r.title for r in db.session.execute(select(NoticeVersion.title))}
    assert "Nach der Sicherung" not in titles


@pytest.mark.parametrize("fail_at", [1, 2, 3, 4])
def test_a_failed_move_into_a_mounted_data_dir_is_rolled_back(
    data_dir, good_archive, changed_since, fail_at
):
    rows, files, url = changed_since
    untouchable = Untouchable()
    with pytest.raises(backup.BackupError, match="Dateiablage konnte nicht ersetzt werden"):
        backup.restore_backup(
            good_archive,
            database_url=url,
            data_dir=data_dir,
            disk=MountedDataDir(data_dir, fail_at=fail_at),
            run=untouchable.run,
            sqlite_connect=untouchable.connect,
        )
    assert untouchable.calls == []
    _unchanged(data_dir, rows, files)


def test_old_files_that_cannot_be_moved_back_are_kept_and_named(
    data_dir, good_archive, changed_since
):
    rows, files, url = changed_since
    untouchable = Untouchable()
    with pytest.raises(backup.BackupError, match="von Hand") as refused:
        backup.restore_backup(
            good_archive,
            database_url=url,
            data_dir=data_dir,
            disk=MountedDataDir(data_dir, fail_from=2),
            run=untouchable.run,
            sqlite_connect=untouchable.connect,
        )
    assert untouchable.calls == []
    (kept,) = data_dir.glob(".aushang-restore-*/previous")
    assert str(kept) in str(refused.value) and any(kept.iterdir())
    # Every old file is still there, in its place or in the folder the message names.
    still = {p.name: p.read_bytes() for p in data_dir.rglob("*") if p.is_file()}
    assert all(still.get(Path(name).name) == body for name, body in files.items())
    _release_connections()
    assert _rows(db.session) == rows


def test_when_the_sqlite_database_cannot_be_replaced_the_files_are_moved_back(
    app_ctx, data_dir, good_archive
):
    url = app_ctx.config["SQLALCHEMY_DATABASE_URI"]
    if not url.startswith("sqlite"):
        pytest.skip("SQLite only; see the pg_restore test")
    # A current database smaller than the backed-up one that may not grow by a page:
    # SQLite's own "database or disk is full" part way through the copy.
    _wipe(data_dir)
    BlobStore(data_dir).put_bytes(b"die einzige Datei jetzt")
    _release_connections()
    con = sqlite3.connect(backup._sqlite_path(url))
    con.execute("VACUUM")
    con.close()
    rows, files = _rows(db.session), _files(data_dir)
    _release_connections()

    def full(target: Path) -> sqlite3.Connection:
        con = sqlite3.connect(target)
        pages = con.execute("PRAGMA page_count").fetchone()[0]
        con.execute(f"PRAGMA max_page_count = {pages}")
        return con

    with pytest.raises(backup.BackupError, match="database or disk is full") as refused:
        backup.restore_backup(
            good_archive, database_url=url, data_dir=data_dir, sqlite_connect=full
        )
    assert "Es wurde nichts verändert" in str(refused.value)
    _unchanged(data_dir, rows, files)


def test_a_failing_pg_restore_rolls_back_and_the_files_are_moved_back(
    data_dir, good_archive, changed_since
):
    rows, files, url = changed_since
    if not url.startswith("postgresql"):
        pytest.skip("PostgreSQL only")
    seen = []

    def cut_dump(cmd, env, what):
        # A real pg_restore of a dump that breaks off half way: --clean has already
        # dropped tables when it fails, --single-transaction undoes that.
        dump = Path(cmd[-1])
        seen.append(sorted(p.name for p in data_dir.iterdir()))  # files already swapped
        dump.write_bytes(dump.read_bytes()[: dump.stat().st_size * 2 // 3])
        backup._run(cmd, env, what)

    with pytest.raises(backup.BackupError, match="pg_restore ist fehlgeschlagen") as refused:
        backup.restore_backup(good_archive, database_url=url, data_dir=data_dir, run=cut_dump)
    assert "Es wurde nichts verändert" in str(refused.value)
    assert len(seen) == 1  # the database came last
    _unchanged(data_dir, rows, files)


def test_cli_restore_reports_a_failure_without_traceback(
    app_ctx, data_dir, good_archive, changed_since, tmp_path
):
    rows, _, _ = changed_since
    shutil.rmtree(data_dir)
    data_dir.write_bytes(b"keine Ablage")  # a file where the data directory should be
    result = app_ctx.test_cli_runner().invoke(restore_command, ["--yes", str(good_archive)])
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Wiederherstellung fehlgeschlagen" in result.output
    assert "Es wurde nichts verändert" in result.output
    assert "Traceback" not in result.output
    assert data_dir.read_bytes() == b"keine Ablage"
    data_dir.unlink()
    _release_connections()
    assert _rows(db.session) == rows


def test_cli_backup_reports_a_failure_without_traceback(app_ctx, session, tmp_path):
    blocker = _write(tmp_path / "kein-ordner", b"eine Datei, kein Ordner")
    result = app_ctx.test_cli_runner().invoke(backup_command, [str(blocker / "s.tar.gz")])
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Sicherung fehlgeschlagen" in result.output
    assert "konnte nicht geschrieben werden" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kein-ordner"]


def test_a_sqlite_database_inside_the_data_dir_is_the_database_not_a_file(tmp_path, now):
    data = tmp_path / "daten"
    store = BlobStore(data)
    digest = store.put_bytes(b"eine Anlage")
    url = f"sqlite:///{data / 'aushang.db'}"
    con = sqlite3.connect(data / "aushang.db")
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("CREATE TABLE t (x)")
    con.execute("INSERT INTO t VALUES ('in der Sicherung')")
    con.commit()
    assert (data / "aushang.db-wal").exists()  # the connection stays open: a live WAL

    archive = tmp_path / "innen.tar.gz"
    info = backup.create_backup(archive, database_url=url, data_dir=data, now=now)
    with tarfile.open(archive) as tar:
        assert [n for n in tar.getnames() if n.startswith("files/")] == [
            f"files/{digest[:2]}/{digest}"
        ]
    assert info.files == 1

    con.execute("INSERT INTO t VALUES ('danach')")
    con.commit()
    con.close()
    store.path_for(digest).unlink()

    backup.restore_backup(archive, database_url=url, data_dir=data)
    con = sqlite3.connect(data / "aushang.db")
    assert con.execute("SELECT x FROM t").fetchall() == [("in der Sicherung",)]
    assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    con.close()
    assert store.path_for(digest).read_bytes() == b"eine Anlage"
    assert not list(data.glob(".aushang-restore-*"))


def test_an_old_backup_with_the_database_among_its_files_does_not_break_it(tmp_path, now):
    data = tmp_path / "daten"
    data.mkdir()
    url = f"sqlite:///{data / 'aushang.db'}"
    con = sqlite3.connect(data / "aushang.db")
    con.execute("CREATE TABLE t (x)")
    con.execute("INSERT INTO t VALUES ('in der Sicherung')")
    con.commit()
    con.close()
    good = backup.create_backup(tmp_path / "neu.tar.gz", database_url=url, data_dir=data, now=now)
    stale = b"eine alte, fremde WAL-Datei"

    def with_stale_wal(member, data_):
        if member.name == "manifest.json":
            manifest = json.loads(data_)
            manifest["members"].append(
                {
                    "path": "files/aushang.db-wal",
                    "sha256": hashlib.sha256(stale).hexdigest(),
                    "size": len(stale),
                }
            )
            yield tarfile.TarInfo("files/aushang.db-wal"), stale
            data_ = json.dumps(manifest).encode()
        yield member, data_

    old = _rewrite(good.path, tmp_path / "alt.tar.gz", with_stale_wal)
    assert backup.verify_backup(old).files == 1

    class Recording(backup.Disk):
        def __init__(self) -> None:
            self.moved_in: list[Path] = []

        def replace(self, source: Path, target: Path) -> None:
            self.moved_in.append(Path(target))
            super().replace(source, target)

    disk = Recording()
    backup.restore_backup(old, database_url=url, data_dir=data, disk=disk)
    assert data.resolve() / "aushang.db-wal" not in disk.moved_in
    assert data.resolve() / "aushang.db" not in disk.moved_in  # only the staged files
    con = sqlite3.connect(data / "aushang.db")
    assert con.execute("SELECT x FROM t").fetchall() == [("in der Sicherung",)]
    con.close()
