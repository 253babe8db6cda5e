"""Tenants, users and memberships."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..domain.ars import validate_ars
from ..domain.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from ..mail import outbox
from ..models import ROLES, Membership, StaffInvitation, Tenant, User
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


def _email_error(session: Session, email: str) -> str | None:
    if not EMAIL_RE.match(email):
        return "Bitte eine gültige E-Mail-Adresse angeben."
    if session.scalar(select(User.id).where(func.lower(User.email) == email)):
        return "Zu dieser E-Mail-Adresse gibt es bereits ein Konto."
    return None


def _roles_error(roles: list[str], require_roles: bool) -> str | None:
    bad = [r for r in roles if r not in ROLES]
    if bad:
        return "Unbekannte Rolle: " + ", ".join(bad)
    if require_roles and not roles:
        return "Bitte mindestens eine Rolle wählen."
    return None


def _resolve_tenant(
    session: Session, tenant: Tenant | None, tenant_slug: str | None, roles: list[str]
) -> tuple[Tenant | None, str | None]:
    if tenant is None and tenant_slug:
        tenant = session.scalar(select(Tenant).where(Tenant.slug == tenant_slug))
        if tenant is None:
            return None, "Diese Kommune gibt es nicht."
    if roles and tenant is None:
        return None, "Rollen gelten je Kommune: bitte eine Kommune angeben."
    return tenant, None


def _collect(errors: dict[str, str | None]) -> dict[str, str]:
    return {field: text for field, text in errors.items() if text}


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
    must_change_password: bool = False,
) -> User:
    """An account with a password chosen by someone (the CLI, the demo, an accepted
    invitation). ``must_change_password``: the owner must replace it at first login."""
    email = (email or "").strip().lower()
    roles = roles or []
    tenant, tenant_error = _resolve_tenant(session, tenant, tenant_slug, roles)
    errors = _collect(
        {
            "email": _email_error(session, email),
            "name": None if name.strip() else "Bitte den Namen angeben.",
            "password": password_problem(password),
            "roles": _roles_error(roles, require_roles),
            "tenant": tenant_error,
        }
    )
    if errors:
        raise ValidationFailed("Bitte prüfen Sie die Angaben zum Konto.", errors)
    user = User(
        email=email,
        name=name.strip(),
        password_hash=hash_password(password),
        is_system_admin=system_admin,
        password_must_change=must_change_password,
        created_at=now,
    )
    session.add(user)
    session.flush()
    if tenant is not None:
        user.memberships.extend(Membership(tenant_id=tenant.id, role=r) for r in roles)
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


# --- Invitations (issue 18) ---------------------------------------------------------------
#
# A tenant admin never learns whether an address has an account elsewhere: inviting
# writes one invitation and one outbox row, whatever the address; the sender job
# decides which mail to write (set a password, or accept the membership), and the roles
# become a membership only when the invited person uses the link.

INVITATION_LIFETIME = timedelta(days=7)
INVITATION_SENT = "Einladung versandt"


def invite(
    session: Session,
    *,
    tenant: Tenant,
    email: str,
    name: str,
    roles: list[str],
    now: datetime,
    actor: User,
) -> StaffInvitation:
    email = (email or "").strip().lower()
    errors = _collect(
        {
            "email": None
            if EMAIL_RE.match(email)
            else "Bitte eine gültige E-Mail-Adresse angeben.",
            "name": None if name.strip() else "Bitte den Namen angeben.",
            "roles": _roles_error(roles, True),
        }
    )
    if errors:
        raise ValidationFailed("Bitte prüfen Sie die Angaben zur Einladung.", errors)
    invitation = StaffInvitation(
        tenant_id=tenant.id,
        email=email,
        name=name.strip(),
        roles=",".join(sorted(set(roles))),
        invited_by_id=actor.id,
        created_at=now,
        expires_at=now + INVITATION_LIFETIME,
    )
    session.add(invitation)
    session.flush()
    outbox.mail(session, "staff.invitation", email, now, {"invitation": invitation.id}, tenant.id)
    audit.record(
        session,
        now=now,
        action="user.invite",
        object_type="staff_invitation",
        object_id=invitation.id,
        actor=actor,
        tenant_id=tenant.id,
        details={"email": email, "roles": sorted(set(roles))},
    )
    return invitation


def open_invitation(session: Session, invitation_id: int, now: datetime) -> StaffInvitation:
    """The invitation behind a link, if it can still be used (once, before expiry)."""
    invitation = session.get(StaffInvitation, invitation_id)
    if invitation is None or invitation.revoked_at is not None:
        raise NotFound("Diese Einladung gibt es nicht (mehr).")
    if invitation.accepted_at is not None:
        raise Conflict("Diese Einladung wurde bereits angenommen.")
    if invitation.expires_at <= now:
        raise Conflict("Diese Einladung ist abgelaufen. Bitte lassen Sie sich erneut einladen.")
    return invitation


def account_of(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(func.lower(User.email) == email.lower()))


def accept_invitation(
    session: Session,
    invitation: StaffInvitation,
    now: datetime,
    *,
    name: str = "",
    password: str = "",
) -> User:
    """Use the invitation: the existing account gains the roles, or a new account with
    the chosen password is made. Either way the invitation is used up."""
    user = account_of(session, invitation.email)
    if user is None:
        user = create_user(
            session,
            email=invitation.email,
            name=name or invitation.name,
            password=password,
            now=now,
            actor="system",
        )
    held = user.roles_in(invitation.tenant_id)
    for role in invitation.role_list():
        if role not in held:
            user.memberships.append(Membership(tenant_id=invitation.tenant_id, role=role))
    invitation.accepted_at = now
    session.flush()
    audit.record(
        session,
        now=now,
        action="user.invitation_accepted",
        object_type="user",
        object_id=user.id,
        actor=user,
        tenant_id=invitation.tenant_id,
        details={"invitation": invitation.id, "roles": invitation.role_list()},
    )
    return user


def pending_invitations(session: Session, tenant: Tenant, now: datetime) -> list[StaffInvitation]:
    return list(
        session.scalars(
            select(StaffInvitation)
            .where(
                StaffInvitation.tenant_id == tenant.id,
                StaffInvitation.accepted_at.is_(None),
                StaffInvitation.revoked_at.is_(None),
                StaffInvitation.expires_at > now,
            )
            .order_by(StaffInvitation.created_at.desc())
        )
    )


def revoke_invitation(
    session: Session, tenant: Tenant, invitation_id: int, now: datetime, actor: User
) -> None:
    invitation = session.get(StaffInvitation, invitation_id)
    if invitation is None or invitation.tenant_id != tenant.id:
        raise NotFound("Diese Einladung gibt es nicht.")
    if invitation.accepted_at is None and invitation.revoked_at is None:
        invitation.revoked_at = now
        session.flush()
        audit.record(
            session,
            now=now,
            action="user.invitation_revoked",
            object_type="staff_invitation",
            object_id=invitation.id,
            actor=actor,
            tenant_id=tenant.id,
            details={"email": invitation.email},
        )


def request_password_reset(session: Session, email: str, now: datetime) -> None:
    """Queue a reset mail for the address; the sender writes it only if an active
    account has that address (the request looks nothing up)."""
    email = (email or "").strip().lower()
    if EMAIL_RE.match(email):
        outbox.mail(session, "staff.password_reset", email, now, {})


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
    user.password_must_change = True  # chosen by the admin: the owner replaces it
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
