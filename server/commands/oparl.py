"""Meetings from the council information system (OParl) as notice drafts."""

from __future__ import annotations

from datetime import datetime

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain.errors import DomainError
from ..domain.posting import utcnow
from ..extensions import db
from ..uow import unit_of_work
from .common import fail


@click.group("oparl")
def oparl_group() -> None:
    """Sitzungen aus dem Ratsinformationssystem (OParl) übernehmen."""


def _parse_since(since: str | None) -> datetime | None:
    if not since:
        return None
    try:
        modified_since = datetime.fromisoformat(since.replace("Z", "+00:00"))
    except ValueError:
        fail(f"„{since}“ ist kein Zeitpunkt im Format ISO 8601 (z. B. 2026-01-31T00:00:00Z).")
    if modified_since.tzinfo is None:
        fail("Bitte den Zeitpunkt mit Zeitzone angeben (z. B. …Z oder …+01:00).")
    return modified_since


def _save_source(
    session: Session, tenant_id: int, url: str, category_id: int, author_id: int, now: datetime
) -> None:
    """Remember the source for the periodic import (``--save``)."""
    from ..models import OParlSource

    source = session.scalar(
        select(OParlSource).where(OParlSource.tenant_id == tenant_id, OParlSource.url == url)
    ) or OParlSource(tenant_id=tenant_id, url=url, last_error="")
    source.category_id = category_id
    source.author_id = author_id
    source.active = True
    source.synced_until = now
    session.add(source)


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
def oparl_import(
    url: str,
    tenant_slug: str,
    category_slug: str,
    email: str,
    since: str | None,
    timeout: float,
    save: bool,
) -> None:
    """Import meetings from an OParl meeting list, Body, System or single Meeting URL."""
    from ..domain.oparl import OParlError
    from ..models import Category, Tenant, User
    from ..services.oparl_import import import_meetings
    from ..sources.oparl import DEFAULT_USER_AGENT, OParlClient

    now = utcnow()
    tenant = db.session.scalar(select(Tenant).where(Tenant.slug == tenant_slug))
    if tenant is None:
        fail(f"Unbekannte Kommune „{tenant_slug}“.")
    category = db.session.scalar(
        select(Category).where(Category.tenant_id == tenant.id, Category.slug == category_slug)
    )
    if category is None:
        fail(f"Unbekannte Kategorie „{category_slug}“ in {tenant.name}.")
    author = db.session.scalar(select(User).where(User.email == email))
    if author is None:
        fail(f"Unbekanntes Benutzerkonto „{email}“.")
    modified_since = _parse_since(since)
    user_agent = current_app.config.get("AUSHANG_OPARL_USER_AGENT") or DEFAULT_USER_AGENT
    client = OParlClient(timeout=timeout, user_agent=user_agent)
    try:
        with unit_of_work() as session:
            result = import_meetings(
                session,
                tenant=tenant,
                category=category,
                author=author,
                url=url,
                now=now,
                client=client,
                modified_since=modified_since,
            )
            if save:
                _save_source(session, tenant.id, url, category.id, author.id, now)
    except (OParlError, DomainError) as exc:
        fail(f"OParl-Import abgebrochen, nichts wurde geändert: {getattr(exc, 'message', exc)}")
    click.echo(f"OParl-Import: {result.summary()}.")
    for number in result.created:
        click.echo(f"  neuer Entwurf {number}")
    for number in result.updated:
        click.echo(f"  Entwurf aktualisiert {number}")
    for number in result.flagged:
        click.echo(f"  markiert {number}")
    for warning in result.warnings:
        click.echo(f"  Hinweis: {warning}")
