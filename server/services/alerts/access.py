"""Who may warn whose displays, and the control centres' API tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...domain.errors import NotFound, PermissionDenied, ValidationFailed
from ...models import (
    AlertPermission,
    ApiToken,
    Tenant,
    User,
)
from ...security import new_token, token_hash
from .. import audit

# --- permissions and tokens ------------------------------------------------------------


def alertable_tenants(session: Session, tenant: Tenant) -> list[Tenant]:
    """The tenant itself and every tenant that allowed it to warn its displays."""
    granted = session.scalars(
        select(Tenant)
        .join(AlertPermission, AlertPermission.tenant_id == Tenant.id)
        .where(AlertPermission.grantee_tenant_id == tenant.id, Tenant.active)
        .order_by(Tenant.name)
    ).all()
    return [tenant, *[t for t in granted if t.id != tenant.id]]


def alert_grantees(session: Session, tenant: Tenant) -> list[Tenant]:
    """The tenants this tenant allowed to warn its displays."""
    return list(
        session.scalars(
            select(Tenant)
            .join(AlertPermission, AlertPermission.grantee_tenant_id == Tenant.id)
            .where(AlertPermission.tenant_id == tenant.id)
            .order_by(Tenant.name)
        ).all()
    )


def grant_alert_permission(
    session: Session, *, tenant: Tenant, grantee: Tenant, now: datetime, actor: User | str
) -> AlertPermission:
    """``tenant`` allows ``grantee`` (its Landkreis) to warn its displays."""
    existing = session.get(AlertPermission, (tenant.id, grantee.id))
    if existing is not None:
        return existing
    permission = AlertPermission(tenant=tenant, grantee=grantee, created_at=now)
    session.add(permission)
    audit.record(
        session,
        now=now,
        action="alert.permission_granted",
        object_type="tenant",
        object_id=tenant.id,
        actor=actor,
        tenant_id=tenant.id,
        details={"grantee": grantee.slug},
    )
    session.flush()
    return permission


def create_api_token(
    session: Session, *, tenant: Tenant, name: str, user: User | None, now: datetime
) -> tuple[ApiToken, str]:
    """A new token with the ``alerts`` scope; the plain value is shown once."""
    if not name.strip():
        raise ValidationFailed("Bitte einen Namen für den Zugang angeben.", {"name": "Pflichtfeld"})
    plain = new_token("ahw")
    token = ApiToken(
        tenant=tenant,
        name=name.strip()[:200],
        token_hash=token_hash(plain),
        scopes="alerts",
        created_at=now,
        created_by_id=user.id if user else None,
    )
    session.add(token)
    audit.record(
        session,
        now=now,
        action="alert.token_created",
        object_type="api_token",
        object_id=name,
        actor=user or "system",
        tenant_id=tenant.id,
    )
    session.flush()
    return token, plain


def authenticate_token(session: Session, plain: str, scope: str, now: datetime) -> ApiToken:
    """The active token for a bearer value with ``scope``; raises PermissionDenied."""
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash(plain)))
    if token is None or token.revoked_at is not None or not token.tenant.active:
        raise PermissionDenied("Unbekannter oder widerrufener Zugangsschlüssel.")
    if not token.has_scope(scope):
        raise PermissionDenied(f"Der Zugangsschlüssel hat keine Berechtigung „{scope}“.")
    token.last_used_at = now
    return token


def list_api_tokens(session: Session, tenant: Tenant) -> list[ApiToken]:
    """The tenant's control-centre tokens, active ones first, newest first."""
    tokens = session.scalars(select(ApiToken).where(ApiToken.tenant_id == tenant.id)).all()
    return sorted(tokens, key=lambda t: (t.revoked_at is not None, -t.id))


def revoke_api_token(
    session: Session, *, tenant: Tenant, token_id: int, user: User, now: datetime
) -> ApiToken:
    """Revoke one of the tenant's tokens at once; a token of another tenant is 404."""
    token = session.get(ApiToken, token_id)
    if token is None or token.tenant_id != tenant.id:
        raise NotFound("Zugang nicht gefunden.")
    if token.revoked_at is None:
        token.revoked_at = now
        audit.record(
            session,
            now=now,
            action="alert.token_revoked",
            object_type="api_token",
            object_id=token.id,
            actor=user,
            tenant_id=tenant.id,
            details={"name": token.name},
        )
        session.flush()
    return token
