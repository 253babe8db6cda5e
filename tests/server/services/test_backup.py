"""``aushang backup`` / ``aushang restore``: round trip and refusal of damaged archives.

The round trip runs on the suite's database: SQLite by default (online backup API), and
PostgreSQL (pg_dump / pg_restore) when TEST_DATABASE_URL is set.
"""

from __future__ import annotations

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
from server.models import AuditEntry
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
