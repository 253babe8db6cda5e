"""Account mail: invitations and password resets.

Whether the address has an account is looked at only here, in the sender job, never in
the request that asked for the mail: the request writes the same outbox row either way,
so neither its answer nor its timing tells the asker anything.
"""

from __future__ import annotations

from typing import Any

from flask import url_for
from sqlalchemy import func, select

from ..models import OutboxMessage, StaffInvitation, User
from ..models.tenants import ROLE_LABELS
from .compose import Batch, Composed, composer
from .tokens import INVITATION, PASSWORD_RESET, fingerprint, make


def account_for(batch: Batch, email: str) -> User | None:
    return batch.session.scalar(select(User).where(func.lower(User.email) == email.lower()))


@composer("staff.invitation")
def invitation_mail(batch: Batch, row: OutboxMessage, payload: dict[str, Any]) -> Composed | None:
    invitation = batch.session.get(StaffInvitation, int(payload["invitation"]))
    if invitation is None or invitation.revoked_at or invitation.accepted_at:
        return None
    token = make(INVITATION, {"i": invitation.id}, batch.now)
    existing = account_for(batch, invitation.email)
    roles = ", ".join(ROLE_LABELS.get(r, r) for r in invitation.role_list())
    context = {
        "invitation": invitation,
        "tenant": invitation.tenant,
        "roles": roles,
        "existing": existing,
        "expires_at": invitation.expires_at,
    }
    label = "Mitgliedschaft annehmen" if existing else "Passwort festlegen"
    return Composed(
        subject=f"Einladung zu Aushang – {invitation.tenant.name}",
        template="invitation_existing" if existing else "invitation_new",
        context=context,
        action_url=url_for("auth.invitation", token=token, _external=True),
        action_label=label,
    )


@composer("staff.password_reset")
def password_reset_mail(
    batch: Batch, row: OutboxMessage, payload: dict[str, Any]
) -> Composed | None:
    user = account_for(batch, row.recipient)
    if user is None or not user.active:
        return None  # nothing to reset; the asker was told the same as everyone
    claims = {"u": user.id, "p": fingerprint(user.password_hash)}
    token = make(PASSWORD_RESET, claims, batch.now)
    return Composed(
        subject="Aushang: Passwort zurücksetzen",
        template="password_reset",
        context={"user": user, "hours": int(PASSWORD_RESET[1].total_seconds() // 3600)},
        action_url=url_for("auth.password_reset", token=token, _external=True),
        action_label="Neues Passwort festlegen",
    )
