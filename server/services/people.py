"""Tenants, users and memberships."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..domain.ars import validate_ars
from ..domain.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from ..models import ROLES, Membership, Tenant, User
from ..security import hash_password, password_problem
from . import audit

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
RESERVED_SLUGS = {"admin", "api", "login", "logout", "konto", "static", "feeds", "files", "healthz"}


def validate_tenant_fields(name: str, slug: str, ars: str, timezone: str) -> dict[str, str]:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    errors: dict[str, str] = {}
    if not name.strip():
        errors["name"] = "Bitte den Namen der Kommune angeben."
    if not SLUG_RE.match(slug or "") or slug in RESERVED_SLUGS:
        errors["slug"] = "Kleinbuchstaben, Ziffern und Bindestriche, z. B. „musterstadt“."
    try:
        validate_ars(ars)
    except ValidationFailed as exc:
        errors.update(exc.field_errors)
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        errors["timezone"] = "Unbekannte Zeitzone."
    return errors


def create_tenant(
    session: Session,
    *,
    name: str,
    slug: str,
    ars: str,
    now: datetime,
    actor: User | str,
    timezone: str = "Europe/Berlin",
) -> Tenant:
    errors = validate_tenant_fields(name, slug, ars, timezone)
    if not errors and session.scalar(select(Tenant.id).where(Tenant.slug == slug)):
        errors["slug"] = "Dieses Kürzel ist bereits vergeben."
    if errors:
        raise ValidationFailed("Bitte prüfen Sie die Angaben zur Kommune.", errors)
    tenant = Tenant(
        name=name.strip(), slug=slug, ars=validate_ars(ars), timezone=timezone, created_at=now
    )
    session.add(tenant)
    session.flush()
    audit.record(
        session,
        now=now,
        action="tenant.create",
        object_type="tenant",
        object_id=tenant.id,
        actor=actor,
        tenant_id=tenant.id,
        details={"slug": slug, "ars": tenant.ars},
    )
    return tenant


def create_user(
    session: Session,
    *,
    email: str,
    name: str,
    password: str,
    now: datetime,
    actor: User | str,
    tenant_slug: str | None = None,
    tenant: Tenant | None = None,
    roles: list[str] | None = None,
    system_admin: bool = False,
    require_roles: bool = False,
) -> User:
    errors: dict[str, str] = {}
    email = (email or "").strip().lower()
    if not EMAIL_RE.match(email):
        errors["email"] = "Bitte eine gültige E-Mail-Adresse angeben."
    elif session.scalar(select(User.id).where(func.lower(User.email) == email)):
        errors["email"] = "Zu dieser E-Mail-Adresse gibt es bereits ein Konto."
    if not name.strip():
        errors["name"] = "Bitte den Namen angeben."
    problem = password_problem(password)
    if problem:
        errors["password"] = problem
    roles = roles or []
    bad = [r for r in roles if r not in ROLES]
    if bad:
        errors["roles"] = "Unbekannte Rolle: " + ", ".join(bad)
    elif require_roles and not roles:
        errors["roles"] = "Bitte mindestens eine Rolle wählen."
    if tenant is None and tenant_slug:
        tenant = session.scalar(select(Tenant).where(Tenant.slug == tenant_slug))
        if tenant is None:
            errors["tenant"] = "Diese Kommune gibt es nicht."
    if roles and tenant is None and "tenant" not in errors:
        errors["tenant"] = "Rollen gelten je Kommune: bitte eine Kommune angeben."
    if errors:
        raise ValidationFailed("Bitte prüfen Sie die Angaben zum Konto.", errors)
    user = User(
        email=email,
        name=name.strip(),
        password_hash=hash_password(password),
        is_system_admin=system_admin,
        created_at=now,
    )
    session.add(user)
    session.flush()
    for role in roles:
        assert tenant is not None
        user.memberships.append(Membership(tenant_id=tenant.id, role=role))
    session.flush()
    audit.record(
        session,
        now=now,
        action="user.create",
        object_type="user",
        object_id=user.id,
        actor=actor,
        tenant_id=tenant.id if tenant else None,
        details={"email": email, "roles": sorted(roles), "system_admin": system_admin},
    )
    return user


def set_roles(
    session: Session, user: User, tenant: Tenant, roles: list[str], now: datetime, actor: User
) -> None:
    bad = [r for r in roles if r not in ROLES]
    if bad:
        raise ValidationFailed("Unbekannte Rolle.", {"roles": ", ".join(bad)})
    if user.id == actor.id and "admin" in user.roles_in(tenant.id) and "admin" not in roles:
        raise Conflict("Sie können sich die Administrationsrolle nicht selbst entziehen.")
    for m in [m for m in user.memberships if m.tenant_id == tenant.id]:
        if m.role not in roles:
            user.memberships.remove(m)
    held = user.roles_in(tenant.id)
    for role in roles:
        if role not in held:
            user.memberships.append(Membership(tenant_id=tenant.id, role=role))
    session.flush()
    audit.record(
        session,
        now=now,
        action="user.roles",
        object_type="user",
        object_id=user.id,
        actor=actor,
        tenant_id=tenant.id,
        details={"roles": sorted(roles)},
    )


def get_user_in_tenant(session: Session, tenant: Tenant, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None or tenant.id not in user.tenant_ids():
        raise NotFound("Dieses Konto gibt es in dieser Kommune nicht.")
    return user


def _guard_account(user: User, tenant: Tenant, actor: User) -> None:
    """A tenant admin manages accounts of their tenant only. An account that also
    belongs to another tenant, or a system admin, is managed by the system admins:
    otherwise one tenant's admin could lock out or take over someone elsewhere."""
    if actor.is_system_admin:
        return
    if user.is_system_admin or user.tenant_ids() - {tenant.id}:
        raise PermissionDenied(
            "Dieses Konto gehört auch zu einer anderen Kommune oder zur Systemverwaltung; "
            "nur die Systemadministration kann es sperren oder sein Passwort setzen."
        )


def set_active(
    session: Session, user: User, tenant: Tenant, active: bool, now: datetime, actor: User
) -> None:
    """Deactivate (no login, sessions end) or reactivate an account."""
    _guard_account(user, tenant, actor)
    if user.id == actor.id and not active:
        raise Conflict("Sie können Ihr eigenes Konto nicht deaktivieren.")
    if user.active == active:
        return
    user.active = active
    if not active:
        user.session_epoch += 1
    else:
        user.failed_logins = 0
        user.locked_until = None
    session.flush()
    audit.record(
        session,
        now=now,
        action="user.activate" if active else "user.deactivate",
        object_type="user",
        object_id=user.id,
        actor=actor,
        tenant_id=tenant.id,
        details={"email": user.email},
    )


def reset_password(
    session: Session, user: User, tenant: Tenant, password: str, now: datetime, actor: User
) -> None:
    """An admin sets a new password; the account's other sessions end."""
    _guard_account(user, tenant, actor)
    problem = password_problem(password)
    if problem:
        raise ValidationFailed("Das neue Passwort ist zu schwach.", {"password": problem})
    user.password_hash = hash_password(password)
    user.session_epoch += 1
    user.failed_logins = 0
    user.locked_until = None
    session.flush()
    audit.record(
        session,
        now=now,
        action="user.password_reset",
        object_type="user",
        object_id=user.id,
        actor=actor,
        tenant_id=tenant.id,
        details={"email": user.email},
    )


def tenant_users(session: Session, tenant: Tenant) -> list[User]:
    return list(
        session.scalars(
            select(User)
            .where(User.id.in_(select(Membership.user_id).where(Membership.tenant_id == tenant.id)))
            .order_by(func.lower(User.name), User.id)
        )
    )
