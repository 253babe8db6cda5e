"""Archive export → import into an empty database gives identical hashes (L18)."""

from __future__ import annotations

import hashlib
import json
import os
import uuid
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from server import create_app
from server.commands import archive_group
from server.config import load_settings
from server.domain.integrity import sha256_hex, version_canonical_text
from server.extensions import db
from server.models import Notice, User
from server.services import archive
from server.services import notices as svc
from server.services.files import BlobStore

from ..publicworld import PDF_BYTES, PNG_BYTES


@pytest.fixture()
def second_app(tmp_path, now):
    """A second installation on its own, empty database and data directory."""
    base = os.environ.get("TEST_DATABASE_URL")
    admin = name = None
    if base:
        url = make_url(base)
        if url.drivername in ("postgresql", "postgres"):
            url = url.set(drivername="postgresql+psycopg")
        name = f"aushang_import_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        admin = create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        db_url = url.set(database=name).render_as_string(hide_password=False)
    else:
        db_url = f"sqlite:///{tmp_path / 'second.db'}"
    settings = load_settings(
        {
            "AUSHANG_INSTANCE_PATH": str(tmp_path / "instance2"),
            "DATABASE_URL": db_url,
            "SECRET_KEY": "second",
        }
    )
    app2 = create_app({"TESTING": True, "AUSHANG_CLOCK": lambda: now}, settings=settings)
    with app2.app_context():
        from flask_migrate import upgrade

        upgrade()
    try:
        yield app2
    finally:
        with app2.app_context():
            db.session.remove()
            db.engine.dispose()
        if admin is not None:
            with admin.connect() as conn:
                conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = :n AND pid <> pg_backend_pid()"
                    ),
                    {"n": name},
                )
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            admin.dispose()


def populate(public_world, now) -> None:
    """Notices in every archived state: current, corrected, withdrawn, ended, personal."""
    s = public_world.factory.session
    public_world.notice(
        title="Satzung mit Plänen", files=[("plan.pdf", PDF_BYTES), ("karte.png", PNG_BYTES)]
    )
    corrected = public_world.notice(
        title="Einladung", files=[("tagesordnung.pdf", PDF_BYTES + b"1")]
    )
    later = now + timedelta(hours=3)
    svc.start_correction(s, corrected, public_world.editor, "Uhrzeit", later)
    data = svc.input_from_version(corrected, corrected.working_version)
    data.body_md = "Beginn 18:30 Uhr."
    svc.update_draft(s, corrected, public_world.editor, data, later)
    svc.submit(s, corrected, public_world.editor, later)
    svc.release(s, corrected, public_world.approver, "ok", later)
    withdrawn = public_world.notice(title="Abgesagt")
    svc.withdraw(s, withdrawn, public_world.approver, "withdrawn", "Abgesagt", later)
    public_world.notice(
        title="Zustellung",
        at=now - timedelta(days=30),
        start=now.date() - timedelta(days=30),
        end=now.date() - timedelta(days=10),
        contains_personal_data=True,
    )
    public_world.notice(title="Nur Entwurf", release=False)
    s.commit()


def fingerprint(session, store: BlobStore) -> dict:
    """Every version's content hash (recomputed from the stored text, too), its
    attachment hashes (checked against the stored bytes) and its PDF hash."""
    result = {}
    for n in session.scalars(select(Notice).order_by(Notice.number)):
        for v in n.released_versions:
            fields = {k: getattr(v, k) for k in archive.CONTENT_KEYS}
            fields["posting_start"] = n.posting_start
            fields["posting_end"] = n.posting_end
            recomputed = sha256_hex(
                version_canonical_text(fields, [a.sha256 for a in v.attachments])
            )
            assert recomputed == v.content_hash
            for a in v.attachments:
                assert hashlib.sha256(store.read(a.sha256)).hexdigest() == a.sha256
            assert hashlib.sha256(store.read(v.pdf_sha256)).hexdigest() == v.pdf_sha256
            result[(n.tenant.slug, n.number, v.number)] = (
                v.content_hash,
                tuple(a.sha256 for a in v.attachments),
                v.pdf_sha256,
                n.provided_on,
                n.status,
                v.released_by.email if v.released_by else None,
            )
    return result


def test_export_import_into_empty_database_gives_identical_hashes(
    public_world, app_ctx, now, tmp_path, second_app
):
    populate(public_world, now)
    target = tmp_path / "archiv.zip"
    out = app_ctx.test_cli_runner().invoke(archive_group, ["export", str(target)])
    assert out.exit_code == 0, out.output
    assert "4 Bekanntmachungen, 5 Fassungen" in out.output
    before = fingerprint(db.session, public_world.store)
    assert len(before) == 5

    with zipfile.ZipFile(target) as zf:
        names = set(zf.namelist())
        manifest = json.loads(zf.read("manifest.json"))
        vermerk = json.loads(zf.read("aushangvermerke/musterstadt/2026-0001.json"))
    assert "manifest.json" in names
    assert all(f"files/{sha}" in names for sha in manifest["files"])
    assert vermerk["notice"]["number"] == "2026-0001"
    assert "Nur Entwurf" not in json.dumps(manifest, ensure_ascii=False)

    # with_appcontext reuses an active app context, so enter the second app's first.
    with second_app.app_context():
        result = second_app.test_cli_runner().invoke(archive_group, ["import", str(target)])
        assert result.exit_code == 0, result.output
        assert "alle Prüfsummen stimmen" in result.output
        store2 = BlobStore(second_app.config["AUSHANG_DATA_DIR"])
        after = fingerprint(db.session, store2)
        imported = db.session.scalar(select(User).where(User.email == public_world.approver.email))
        assert imported is not None and not imported.active
        client2 = second_app.test_client()
        n1 = client2.get("/musterstadt/bekanntmachungen/2026-0002/v1.pdf")
        assert n1.status_code == 200
        assert hashlib.sha256(n1.data).hexdigest() == before[("musterstadt", "2026-0002", 1)][2]
        assert client2.get("/musterstadt/bekanntmachungen/2026-0004").status_code == 410
    assert after == before


def _rewrite(source: Path, target: Path, change) -> None:
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w") as dst:
        for info in src.infolist():
            dst.writestr(info.filename, change(info.filename, src.read(info.filename)))


def test_manipulated_archives_are_refused(
    public_world, app_ctx, now, tmp_path, second_app, session
):
    populate(public_world, now)
    target = tmp_path / "archiv.zip"
    archive.export_archive(
        session, public_world.store, target, now=now, base_url="http://127.0.0.1:5000"
    )
    session.commit()
    attachment_sha = next(
        a.sha256
        for n in session.scalars(select(Notice))
        for v in n.released_versions
        for a in v.attachments
    )

    def flip_file(name, data):
        return data + b"x" if name == f"files/{attachment_sha}" else data

    def change_text(name, data):
        if name != "manifest.json":
            return data
        m = json.loads(data)
        m["tenants"][0]["notices"][0]["versions"][0]["body_md"] += " Zusatz."
        return json.dumps(m).encode()

    cases = [
        (flip_file, "wurde verändert: Prüfsumme stimmt nicht"),
        (change_text, "Der Inhalt passt nicht zur Prüfsumme"),
    ]
    with second_app.app_context():
        store2 = BlobStore(second_app.config["AUSHANG_DATA_DIR"])
        for change, message in cases:
            bad = tmp_path / "bad.zip"
            _rewrite(target, bad, change)
            with pytest.raises(archive.ArchiveError, match=message):
                archive.import_archive(db.session, store2, bad, now=now)
            db.session.rollback()
            assert db.session.scalar(select(Notice.id)) is None
        garbage = tmp_path / "garbage.zip"
        garbage.write_bytes(b"MZ not a zip")
        result = second_app.test_cli_runner().invoke(archive_group, ["import", str(garbage)])
        assert result.exit_code == 1
        assert "kein lesbares ZIP-Archiv" in result.output


def test_import_into_a_tenant_with_notices_is_refused(
    public_world, app_ctx, now, tmp_path, session
):
    populate(public_world, now)
    target = tmp_path / "archiv.zip"
    archive.export_archive(session, public_world.store, target, now=now, base_url="http://x")
    session.commit()
    result = app_ctx.test_cli_runner().invoke(archive_group, ["import", str(target)])
    assert result.exit_code == 1
    assert "enthält bereits Bekanntmachungen" in result.output


def test_export_of_unknown_tenant_fails_clearly(app_ctx, tmp_path, public_world):
    result = app_ctx.test_cli_runner().invoke(
        archive_group, ["export", str(tmp_path / "x.zip"), "--tenant", "gibtesnicht"]
    )
    assert result.exit_code == 1
    assert "Die Kommune „gibtesnicht“ gibt es nicht." in result.output
