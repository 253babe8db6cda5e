"""CLI commands of ``aushang``; each command takes ``now`` once and commits once."""

from __future__ import annotations

import atexit
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from .domain.errors import DomainError
from .domain.posting import utcnow
from .extensions import db


def _fail(message: str, code: int = 1) -> None:
    click.echo(message, err=True)
    sys.exit(code)


def _demo_player_dir() -> Path:
    return Path(current_app.instance_path) / "demo-player"


def _start_demo_player(base: str, kiosk_port: int) -> subprocess.Popen[bytes] | None:
    """The player daemon of the demo, as a Raspberry Pi would run it, enrolled with
    the provisioning token that ``demo load`` left in the instance folder."""
    folder = _demo_player_dir()
    token_file = folder / "provisioning_token"
    if not token_file.exists():
        click.echo("Demo-Anzeige: kein Token (Demodaten nicht mit `aushang demo load` geladen).")
        return None
    config = folder / "player.ini"
    config.write_text(
        "[server]\n"
        f"url = {base}\n"
        f"provisioning_token = {token_file.read_text().strip()}\n"
        "[player]\n"
        f"state_dir = {folder / 'state'}\n"
        "kiosk_host = 127.0.0.1\n"
        f"kiosk_port = {kiosk_port}\n"
        "[screen]\n"
        "control = none\n"
    )
    config.chmod(0o600)
    log_file = open(folder / "player.log", "ab")  # noqa: SIM115  (lives as long as the child)
    child = subprocess.Popen(
        [sys.executable, "-m", "player", "--config", str(config)],
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )
    atexit.register(child.terminate)
    return child


@click.command("run")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--no-scheduler", is_flag=True, help="Keine periodischen Aufgaben im Prozess.")
@click.option(
    "--demo-player/--no-demo-player",
    default=False,
    help="Eine Demo-Anzeige (Player-Dienst mit Kiosk-Seite) mitstarten.",
)
@click.option("--kiosk-port", default=8080, show_default=True, type=int)
@click.option("--verbose", "-v", is_flag=True, help="Auch Zugriffe und Läufe des Planers anzeigen.")
@with_appcontext
def run_command(
    host: str, port: int, no_scheduler: bool, demo_player: bool, kiosk_port: int, verbose: bool
) -> None:
    """Development all-in-one: web server and scheduler in one process, and optionally a
    demo player with its kiosk page. Without ``--verbose`` only warnings and the
    addresses reach the console (issue 17), the addresses last."""
    from .jobs.runner import start_background

    level = logging.INFO if verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(asctime)s %(name)s %(message)s")
    if not verbose:  # access log and scheduler chatter only on request
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
    app = current_app._get_current_object()
    if not no_scheduler:
        start_background(app)
    base = f"http://{host}:{port}"
    player = demo_player and _start_demo_player(base, kiosk_port) is not None
    from werkzeug.serving import run_simple

    click.echo(f"Aushang läuft auf {base}/  (Anmeldung: {base}/login)")
    if player:
        click.echo(
            f"Demo-Anzeige (Kiosk-Seite des Players): http://127.0.0.1:{kiosk_port}/  "
            f"(Protokoll: {_demo_player_dir() / 'player.log'})"
        )

    run_simple(host, port, app, threaded=True, use_reloader=False)


@click.command("serve")
@click.option(
    "--bind",
    "binds",
    multiple=True,
    help="Adresse, z. B. 127.0.0.1:8000 oder unix:/run/aushang/web.sock (mehrfach möglich; Standard: AUSHANG_BIND)",
)
@click.option(
    "--workers",
    type=int,
    default=None,
    help="Prozesse (Standard: AUSHANG_WORKERS, 0 = Anzahl der Kerne)",
)
@click.option(
    "--threads",
    type=int,
    default=None,
    help="Threads je Prozess für gthread (Standard: AUSHANG_THREADS)",
)
@click.option(
    "--worker-class",
    default=None,
    type=click.Choice(["gthread", "gevent", "sync"]),
    help="Standard: AUSHANG_WORKER_CLASS (gthread)",
)
@click.option(
    "--connections",
    type=int,
    default=None,
    help="Gleichzeitige Verbindungen je Prozess (Standard: AUSHANG_WORKER_CONNECTIONS)",
)
def serve_command(binds, workers, threads, worker_class, connections) -> None:
    """Production web server (gunicorn); the scheduler runs separately."""
    # No app context here on purpose: the master must not import the database driver
    # (see server/serving.py); each worker creates the app itself.
    from .config import load_settings
    from .serving import ServeOptions, raise_file_limit, serve

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        options = ServeOptions.from_settings(
            load_settings(),
            bind=tuple(binds),
            workers=workers,
            threads=threads,
            worker_class=worker_class,
            connections=connections,
        )
    except ValueError as exc:
        _fail(str(exc))
    raise_file_limit(options.workers * options.gunicorn_config()["worker_connections"])
    serve(options)


@click.command("scheduler")
@with_appcontext
def scheduler_command() -> None:
    """Periodic jobs as their own process (one instance across hosts)."""
    from .jobs.runner import run_forever

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    sys.exit(run_forever(current_app._get_current_object()))


@click.group("audit")
def audit_group() -> None:
    """Prüfprotokoll (Audit-Log)."""


@audit_group.command("verify")
@with_appcontext
def audit_verify() -> None:
    """Verify the hash chain; exit 1 and name the first broken row."""
    from .services import audit

    result = audit.verify(db.session)
    if result.ok:
        click.echo(f"Prüfprotokoll unverändert: {result.rows} Einträge geprüft.")
        return
    _fail(
        f"Prüfprotokoll verletzt in Eintrag Nr. {result.broken_seq} (id={result.broken_id}): "
        f"{result.reason}."
    )


@click.group("user")
def user_group() -> None:
    """Benutzerkonten."""


@user_group.command("create")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--tenant", "tenant_slug", default=None, help="Kürzel der Kommune")
@click.option("--role", "roles", multiple=True, help="editor, approver, alerter, admin")
@click.option("--system-admin", is_flag=True)
@with_appcontext
def user_create(email, name, password, tenant_slug, roles, system_admin) -> None:
    from .services import people

    try:
        people.create_user(
            db.session,
            email=email,
            name=name,
            password=password,
            tenant_slug=tenant_slug,
            roles=list(roles),
            system_admin=system_admin,
            now=utcnow(),
            actor="cli",
        )
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        details = "; ".join(f"{k}: {v}" for k, v in exc.field_errors.items())
        _fail(f"{exc.message} {details}".strip())
    click.echo(f"Benutzer {email} angelegt.")


@click.group("demo")
def demo_group() -> None:
    """Demodaten."""


@demo_group.command("load")
@click.option("--if-empty", is_flag=True, help="Nur laden, wenn noch keine Kommune existiert.")
@with_appcontext
def demo_load(if_empty: bool) -> None:
    from .demo import DEMO_PASSWORD, DEMO_USERS, demo_provisioning_token, load_demo
    from .models import Tenant

    if if_empty and db.session.scalar(select(Tenant.id).limit(1)) is not None:
        click.echo("Demodaten: bereits vorhanden.")
    else:
        now = utcnow()
        tenant = load_demo(db.session, now)
        token = demo_provisioning_token(db.session, tenant, now)
        db.session.commit()
        token_file = _demo_player_dir() / "provisioning_token"
        token_file.parent.mkdir(parents=True, exist_ok=True)
        token_file.write_text(token + "\n")
        token_file.chmod(0o600)
        click.echo("Demodaten geladen.")
    click.echo(f"Anmeldungen (Passwort für alle: {DEMO_PASSWORD}):")
    for email, _name, roles in DEMO_USERS:
        click.echo(f"  {email:32} {', '.join(roles) or 'Systemadministration'}")


@click.group("oparl")
def oparl_group() -> None:
    """Sitzungen aus dem Ratsinformationssystem (OParl) übernehmen."""


@oparl_group.command("import")
@click.argument("url")
@click.option("--tenant", "tenant_slug", required=True, help="Kürzel der Kommune")
@click.option("--category", "category_slug", required=True, help="Kategorie der Entwürfe")
@click.option(
    "--as", "email", required=True, help="E-Mail der Redaktion, die die Entwürfe verfasst"
)
@click.option(
    "--since", default=None, help="Nur seit diesem Zeitpunkt geänderte Sitzungen (ISO 8601)"
)
@click.option("--timeout", default=15.0, show_default=True, type=float, help="Sekunden je Abruf")
@click.option("--save", is_flag=True, help="Quelle für den regelmäßigen Abruf speichern")
@with_appcontext
def oparl_import(url, tenant_slug, category_slug, email, since, timeout, save) -> None:
    """Import meetings from an OParl meeting list, Body, System or single Meeting URL."""
    from datetime import datetime

    from .domain.oparl import OParlError
    from .models import Category, OParlSource, Tenant, User
    from .services.oparl_import import import_meetings
    from .sources.oparl import DEFAULT_USER_AGENT, OParlClient

    now = utcnow()
    tenant = db.session.scalar(select(Tenant).where(Tenant.slug == tenant_slug))
    if tenant is None:
        _fail(f"Unbekannte Kommune „{tenant_slug}“.")
    category = db.session.scalar(
        select(Category).where(Category.tenant_id == tenant.id, Category.slug == category_slug)
    )
    if category is None:
        _fail(f"Unbekannte Kategorie „{category_slug}“ in {tenant.name}.")
    author = db.session.scalar(select(User).where(User.email == email))
    if author is None:
        _fail(f"Unbekanntes Benutzerkonto „{email}“.")
    modified_since = None
    if since:
        try:
            modified_since = datetime.fromisoformat(since.replace("Z", "+00:00"))
        except ValueError:
            _fail(f"„{since}“ ist kein Zeitpunkt im Format ISO 8601 (z. B. 2026-01-31T00:00:00Z).")
        if modified_since.tzinfo is None:
            _fail("Bitte den Zeitpunkt mit Zeitzone angeben (z. B. …Z oder …+01:00).")
    user_agent = current_app.config.get("AUSHANG_OPARL_USER_AGENT") or DEFAULT_USER_AGENT
    client = OParlClient(timeout=timeout, user_agent=user_agent)
    try:
        result = import_meetings(
            db.session,
            tenant=tenant,
            category=category,
            author=author,
            url=url,
            now=now,
            client=client,
            modified_since=modified_since,
        )
        if save:
            source = db.session.scalar(
                select(OParlSource).where(
                    OParlSource.tenant_id == tenant.id, OParlSource.url == url
                )
            ) or OParlSource(tenant_id=tenant.id, url=url, last_error="")
            source.category_id = category.id
            source.author_id = author.id
            source.active = True
            source.synced_until = now
            db.session.add(source)
        db.session.commit()
    except (OParlError, DomainError) as exc:
        db.session.rollback()
        _fail(f"OParl-Import abgebrochen, nichts wurde geändert: {getattr(exc, 'message', exc)}")
    click.echo(f"OParl-Import: {result.summary()}.")
    for number in result.created:
        click.echo(f"  neuer Entwurf {number}")
    for number in result.updated:
        click.echo(f"  Entwurf aktualisiert {number}")
    for number in result.flagged:
        click.echo(f"  markiert {number}")
    for warning in result.warnings:
        click.echo(f"  Hinweis: {warning}")


def _alembic_revision() -> str | None:
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    try:
        return db.session.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except SQLAlchemyError:
        db.session.rollback()
        return None


def _size(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB".replace(".", ",")


@click.command("backup")
@click.argument("archive", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def backup_command(archive: Path) -> None:
    """Datenbank und Dateiablage in ein Archiv sichern (auch bei laufendem Server)."""
    from .services.backup import BackupError, create_backup

    cfg = current_app.config
    revision = _alembic_revision()
    db.session.remove()
    try:
        info = create_backup(
            archive,
            database_url=cfg["SQLALCHEMY_DATABASE_URI"],
            data_dir=Path(cfg["AUSHANG_DATA_DIR"]),
            now=utcnow(),
            alembic_revision=revision,
        )
    except BackupError as exc:
        _fail(f"Sicherung fehlgeschlagen: {exc}")
    click.echo(
        f"Sicherung geschrieben: {info.path} ({info.database_kind}, {info.files} Dateien, "
        f"{_size(info.total_bytes)})."
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
    from .services import audit
    from .services.backup import BackupError, restore_backup, verify_backup

    cfg = current_app.config
    try:
        info = verify_backup(archive)
    except BackupError as exc:
        _fail(str(exc))
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
    db.session.remove()
    db.engine.dispose()  # pg_restore --clean needs the tables free of our own locks
    try:
        restore_backup(
            archive,
            database_url=cfg["SQLALCHEMY_DATABASE_URI"],
            data_dir=Path(cfg["AUSHANG_DATA_DIR"]),
            checked=info,
        )
    except BackupError as exc:
        _fail(f"Wiederherstellung fehlgeschlagen: {exc}")
    if _alembic_revision() is not None:
        audit.record(
            db.session,
            now=utcnow(),
            action="system.restore",
            object_type="backup",
            object_id=archive.name,
            actor="cli",
            details={"created_at": info.created_at, "files": info.files},
        )
        db.session.commit()
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


@archive_group.command("export")
@click.argument("target", type=click.Path(dir_okay=False, writable=True))
@click.option("--tenant", "tenant_slug", default=None, help="Nur diese Kommune (Kürzel).")
@with_appcontext
def archive_export(target: str, tenant_slug: str | None) -> None:
    """Export all released versions with files, hashes, PDFs and Aushangvermerke."""
    from .services import archive
    from .services.files import BlobStore

    bar = _Bar("Exportiere")
    try:
        result = archive.export_archive(
            db.session,
            BlobStore(current_app.config["AUSHANG_DATA_DIR"]),
            target,
            now=utcnow(),
            base_url=current_app.config["AUSHANG_BASE_URL"],
            tenant_slug=tenant_slug,
            progress=bar,
            extra_channels=current_app.extensions.get("aushang_evidence_channels", ()),
        )
        db.session.commit()  # print PDFs rendered on the way, audit row
    except archive.ArchiveError as exc:
        db.session.rollback()
        bar.close()
        _fail(f"Export abgebrochen: {exc.message}")
    bar.close()
    click.echo(
        f"Archiv {target} geschrieben: {len(result.tenants)} Kommune(n), "
        f"{result.notices} Bekanntmachungen, {result.versions} Fassungen, {result.files} Dateien."
    )


@archive_group.command("import")
@click.argument("source", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def archive_import(source: str) -> None:
    """Verify an archive and read it into an empty database (or empty tenant)."""
    from .services import archive
    from .services.files import BlobStore

    bar = _Bar("Prüfe und lese ein")
    try:
        result = archive.import_archive(
            db.session,
            BlobStore(current_app.config["AUSHANG_DATA_DIR"]),
            source,
            now=utcnow(),
            progress=bar,
        )
        db.session.commit()
    except archive.ArchiveError as exc:
        db.session.rollback()
        bar.close()
        _fail(f"Import abgelehnt: {exc.message}")
    bar.close()
    click.echo(
        f"Archiv eingelesen: {', '.join(result.tenants) or '–'}; {result.notices} "
        f"Bekanntmachungen, {result.versions} Fassungen, {result.files} Dateien; "
        "alle Prüfsummen stimmen."
    )


def register(cli: click.Group) -> None:
    for command in (
        run_command,
        serve_command,
        scheduler_command,
        audit_group,
        user_group,
        demo_group,
        oparl_group,
        backup_command,
        restore_command,
        archive_group,
    ):
        cli.add_command(command)
