"""People and evidence: user accounts, the audit chain, the demo data."""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from ..domain.errors import DomainError
from ..domain.posting import utcnow
from ..extensions import db
from ..uow import unit_of_work
from .common import demo_player_dir, fail


@click.group("audit")
def audit_group() -> None:
    """Prüfprotokoll (Audit-Log)."""


@audit_group.command("verify")
@with_appcontext
def audit_verify() -> None:
    """Verify the hash chain; exit 1 and name the first broken row."""
    from ..services import audit

    result = audit.verify(db.session)
    if result.ok:
        click.echo(f"Prüfprotokoll unverändert: {result.rows} Einträge geprüft.")
        return
    fail(
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
def user_create(
    email: str,
    name: str,
    password: str,
    tenant_slug: str | None,
    roles: tuple[str, ...],
    system_admin: bool,
) -> None:
    from ..services import people

    try:
        with unit_of_work() as session:
            people.create_user(
                session,
                email=email,
                name=name,
                password=password,
                tenant_slug=tenant_slug,
                roles=list(roles),
                system_admin=system_admin,
                now=utcnow(),
                actor="cli",
            )
    except DomainError as exc:
        details = "; ".join(f"{k}: {v}" for k, v in exc.field_errors.items())
        fail(f"{exc.message} {details}".strip())
    click.echo(f"Benutzer {email} angelegt.")


@click.group("demo")
def demo_group() -> None:
    """Demodaten."""


@demo_group.command("load")
@click.option("--if-empty", is_flag=True, help="Nur laden, wenn noch keine Kommune existiert.")
@with_appcontext
def demo_load(if_empty: bool) -> None:
    from ..demo import DEMO_PASSWORD, DEMO_USERS, demo_provisioning_token, load_demo
    from ..models import Tenant

    if if_empty and db.session.scalar(select(Tenant.id).limit(1)) is not None:
        click.echo("Demodaten: bereits vorhanden.")
    else:
        now = utcnow()
        with unit_of_work() as session:
            tenant = load_demo(session, now)
            token = demo_provisioning_token(session, tenant, now)
        token_file = demo_player_dir() / "provisioning_token"
        token_file.parent.mkdir(parents=True, exist_ok=True)
        token_file.write_text(token + "\n")
        token_file.chmod(0o600)
        click.echo("Demodaten geladen.")
    click.echo(f"Anmeldungen (Passwort für alle: {DEMO_PASSWORD}):")
    for email, _name, roles in DEMO_USERS:
        click.echo(f"  {email:32} {', '.join(roles) or 'Systemadministration'}")
