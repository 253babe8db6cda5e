"""Who may do what to a notice, and the locking and queries every lifecycle module
shares (the rules themselves live in server.domain.workflow)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..domain import posting, workflow
from ..domain.errors import DomainError, NotFound, PermissionDenied
from ..domain.workflow import Action
from ..models import Notice, NoticeVersion, Tenant, User
from ..models.notices import VersionEditor

# --- permissions -------------------------------------------------------------------


def has_role(user: User, tenant_id: int, *roles: str) -> bool:
    """System admins may do everything; others need one of ``roles`` in the tenant
    (a tenant admin counts as every staff role of that tenant)."""
    if user.is_system_admin:
        return True
    held = user.roles_in(tenant_id)
    return bool(held & (set(roles) | {"admin"}))


def require_role(user: User, tenant_id: int, *roles: str) -> None:
    if not has_role(user, tenant_id, *roles):
        raise PermissionDenied("Für diese Aktion fehlt Ihnen die Berechtigung.")


def workflow_state(notice: Notice) -> workflow.NoticeState:
    wv = notice.working_version
    return workflow.NoticeState(
        status=notice.status,
        working=wv.status if wv is not None else None,
        has_current=notice.current_version_id is not None,
        ever_released=bool(notice.released_versions),
        hint_required=notice.hint_required,
        provided=notice.provided_on is not None,
    )


def workflow_actor(user: User, notice: Notice) -> workflow.Actor:
    wv = notice.working_version
    return workflow.Actor(
        roles=workflow.effective_roles(
            user.roles_in(notice.tenant_id), system_admin=user.is_system_admin
        ),
        changed_working_version=wv is not None and user.id in wv.editor_ids,
    )


def refusal(action: Action, notice: Notice, user: User) -> DomainError | None:
    """Why ``user`` may not take ``action`` on ``notice`` now, or None (the rules live
    in server.domain.workflow; the staff pages ask the same question)."""
    return workflow.refusal(action, workflow_state(notice), workflow_actor(user, notice))


def allowed_actions(notice: Notice, user: User) -> frozenset[Action]:
    return workflow.allowed_actions(workflow_state(notice), workflow_actor(user, notice))


def _check(action: Action, notice: Notice, user: User) -> None:
    workflow.require(action, workflow_state(notice), workflow_actor(user, notice))


def _lock(session: Session, notice: Notice) -> None:
    """Serialise lifecycle steps on one notice, then re-read its state.

    A no-op UPDATE of the notice row is the lock that works on both databases: on
    PostgreSQL it takes the row lock (a parallel step waits until this transaction
    ends), on SQLite it takes the database's write lock. What was loaded before may be
    stale by then, so the notice and its versions are read again: of two parallel
    releases or corrections, the second sees the first and is refused."""
    result = session.execute(
        update(Notice)
        .where(Notice.id == notice.id)
        .values(updated_at=Notice.updated_at)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount == 0:  # type: ignore[attr-defined]
        raise NotFound("Diese Bekanntmachung gibt es nicht mehr.")
    loaded = list(notice.__dict__.get("versions") or [])
    session.expire(notice)
    for v in loaded:
        session.expire(v)


def _record_editor(version: NoticeVersion, user: User, kind: str, now: datetime) -> None:
    """Remember that ``user`` changed ``version`` (four eyes by content)."""
    for e in version.editors:
        if e.user_id == user.id and e.kind == kind:
            e.last_at = now
            return
    version.editors.append(VersionEditor(user=user, kind=kind, first_at=now, last_at=now))


# --- queries -----------------------------------------------------------------------


def get_notice(session: Session, tenant: Tenant, number: str) -> Notice:
    notice = session.scalar(
        select(Notice).where(Notice.tenant_id == tenant.id, Notice.number == number)
    )
    if notice is None:
        raise NotFound("Diese Bekanntmachung gibt es nicht.")
    return notice


def notice_phase(notice: Notice, now: datetime) -> posting.Phase:
    return posting.phase(notice.status, notice.starts_at, notice.ends_at, now)


def is_public(notice: Notice, now: datetime) -> bool:
    """Whether the public may see the notice at all (L7, L15)."""
    if notice.current_version_id is None or notice.provided_at is None:
        return False
    if now < notice.provided_at:
        return False
    if notice.contains_personal_data:
        # Personal data leaves the public pages after the period or on withdrawal.
        ph = notice_phase(notice, now)
        return ph in (posting.Phase.IN_AUSHANG, posting.Phase.SCHEDULED)
    return True
