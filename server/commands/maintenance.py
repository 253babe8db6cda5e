"""Backups (whole installation) and archives (released notices with their evidence)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.orm import Session

from ..domain.posting import utcnow
from ..extensions import db
from ..uow import unit_of_work
from .common import fail, size_label


def _alembic_revision() -> str | None:
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    try:
        revision: str | None = db.session.execute(
            text("SELECT version_num FROM alembic_version")
        ).scalar()
        return revision
    except SQLAlchemyError:
        db.session.rollback()
        return None


def _end_session() -> None:
    """Give the connection back before an external tool works on the database."""
    db.session.remove()


@click.command("backup")
@click.argument("archive", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def backup_command(archive: Path) -> None:
    """Datenbank und Dateiablage in ein Archiv sichern (auch bei laufendem Server)."""
    from ..services.backup import BackupError, create_backup

    cfg = current_app.config
    revision = _alembic_revision()
    _end_session()
    try:
        info = create_backup(
            archive,
            database_url=cfg["SQLALCHEMY_DATABASE_URI"],
            data_dir=Path(cfg["AUSHANG_DATA_DIR"]),
            now=utcnow(),
            alembic_revision=revision,
        )
    except BackupError as exc:
        fail(f"Sicherung fehlgeschlagen: {exc}")
    click.echo(
        f"Sicherung geschrieben: {info.path} ({info.database_kind}, {info.files} Dateien, "
        f"{size_label(info.total_bytes)})."
    )


@click.command("restore")
@click.argument("archive", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--check", "check_only", is_flag=True, help="Nur prüfen, nichts verändern.")
@click.option("--yes", is_flag=True, help="Ohne Rückfrage wiederherstellen.")
@with_appcontext
def restore_command(archive: Path, check_only: bool, yes: bool) -> None:
    """Eine Sicherung prüfen und wiederherstellen (ersetzt Datenbank und Dateiablage).

    Den Server und den Scheduler vorher anhalten; danach `aushang db upgrade`.
    """
    from ..services import audit
    from ..services.backup import BackupError, restore_backup, verify_backup

    cfg = current_app.config
    try:
        info = verify_backup(archive)
    except BackupError as exc:
        fail(str(exc))
    click.echo(
        f"Sicherung in Ordnung: vom {info.created_at}, {info.database_kind}, "
        f"{info.files} Dateien, Prüfsummen stimmen."
    )
    if check_only:
        return
    if not yes:
        click.confirm(
            "Alle Daten der Datenbank und der Dateiablage werden durch die Sicherung ersetzt. "
            "Fortfahren?",
            abort=True,
        )
    _end_session()
    db.engine.dispose()  # pg_restore --clean needs the tables free of our own locks
    try:
        restore_backup(
            archive,
            database_url=cfg["SQLALCHEMY_DATABASE_URI"],
            data_dir=Path(cfg["AUSHANG_DATA_DIR"]),
            checked=info,
        )
    except BackupError as exc:
        fail(f"Wiederherstellung fehlgeschlagen: {exc}")
    if _alembic_revision() is not None:
        with unit_of_work() as session:
            audit.record(
                session,
                now=utcnow(),
                action="system.restore",
                object_type="backup",
                object_id=archive.name,
                actor="cli",
                details={"created_at": info.created_at, "files": info.files},
            )
    click.echo(
        "Wiederherstellung abgeschlossen. Bitte jetzt `aushang db upgrade` ausführen und "
        "`aushang audit verify` prüfen."
    )


@click.group("archive")
def archive_group() -> None:
    """Archiv exportieren und einlesen (ZIP mit manifest.json)."""


class _Bar:
    """A click progress bar that learns its length from the first report."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.bar: Any = None

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            self.bar = click.progressbar(length=total, label=self.label, file=sys.stderr)
            self.bar.__enter__()
        self.bar.update(done - self.bar.pos)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


@contextmanager
def _archive_run(label: str, failure: str) -> Iterator[tuple[_Bar, Session]]:
    """One unit of work with a progress bar; an ``ArchiveError`` ends the command."""
    from ..services.archive import ArchiveError

    bar = _Bar(label)
    try:
        with unit_of_work() as session:
            yield bar, session
    except ArchiveError as exc:
        bar.close()
        fail(f"{failure}: {exc.message}")
    bar.close()


@archive_group.command("export")
@click.argument("target", type=click.Path(dir_okay=False, writable=True))
@click.option("--tenant", "tenant_slug", default=None, help="Nur diese Kommune (Kürzel).")
@with_appcontext
def archive_export(target: str, tenant_slug: str | None) -> None:
    """Export all released versions with files, hashes, PDFs and Aushangvermerke."""
    from ..services import archive
    from ..services.files import BlobStore

    # Commits the print PDFs rendered on the way and the audit row.
    with _archive_run("Exportiere", "Export abgebrochen") as (bar, session):
        result = archive.export_archive(
            session,
            BlobStore(current_app.config["AUSHANG_DATA_DIR"]),
            target,
            now=utcnow(),
            base_url=current_app.config["AUSHANG_BASE_URL"],
            tenant_slug=tenant_slug,
            progress=bar,
            extra_channels=current_app.extensions.get("aushang_evidence_channels", ()),
        )
    click.echo(
        f"Archiv {target} geschrieben: {len(result.tenants)} Kommune(n), "
        f"{result.notices} Bekanntmachungen, {result.versions} Fassungen, {result.files} Dateien."
    )


@archive_group.command("import")
@click.argument("source", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def archive_import(source: str) -> None:
    """Verify an archive and read it into an empty database (or empty tenant)."""
    from ..services import archive
    from ..services.files import BlobStore

    with _archive_run("Prüfe und lese ein", "Import abgelehnt") as (bar, session):
        result = archive.import_archive(
            session,
            BlobStore(current_app.config["AUSHANG_DATA_DIR"]),
            source,
            now=utcnow(),
            progress=bar,
        )
    click.echo(
        f"Archiv eingelesen: {', '.join(result.tenants) or '–'}; {result.notices} "
        f"Bekanntmachungen, {result.versions} Fassungen, {result.files} Dateien; "
        "alle Prüfsummen stimmen."
    )
