"""Tenant admins manage the people of their tenant: accounts, roles, activation and
passwords. Changes to accounts shared with other tenants stay with system admins."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import flash, g, redirect, render_template, request, url_for

from ...domain.errors import ValidationFailed
from ...extensions import db
from ...models import ROLE_LABELS, ROLES, User
from ...security import tenant_staff_required
from ...services import limits, people
from ..auth import limit_key
from . import bp
from .common import actor, form_text, request_now

# Invitations per tenant admin and hour: each one sends a mail to a stranger's address.
INVITATION_LIMIT = limits.Limit("user_invitation", 30, timedelta(hours=1))

ROLE_HINTS = {
    "editor": "verfasst Bekanntmachungen und legt sie zur Freigabe vor",
    "approver": "gibt Bekanntmachungen anderer frei, gibt zurück, zieht zurück",
    "alerter": "löst Warnungen des Bevölkerungsschutzes aus",
    "admin": "verwaltet Benutzer, Kategorien, Bekanntmachungsformen und Einstellungen",
}


def _role_options() -> list[tuple[str, str]]:
    return [(r, f"{ROLE_LABELS[r]} – {ROLE_HINTS[r]}") for r in ROLES]


def _roles_from_form() -> list[str]:
    return [r for r in dict.fromkeys(request.form.getlist("roles")) if r]


@bp.route("/<tenant>/benutzer/")
@tenant_staff_required("admin")
def users():
    tenant = g.tenant
    return render_template(
        "admin/users/list.html",
        tenant=tenant,
        users=people.tenant_users(db.session, tenant),
        invitations=people.pending_invitations(db.session, tenant, request_now()),
    )


@bp.route("/<tenant>/benutzer/neu", methods=["GET", "POST"])
@tenant_staff_required("admin")
def user_new():
    """Invite a person. The answer is "Einladung versandt" for every valid address,
    with or without an account elsewhere: the request writes the same two rows either
    way and looks no account up (issue 11's last finding, closed by issue 18)."""
    tenant = g.tenant
    form: dict[str, Any] = {"name": "", "email": "", "roles": ["editor"]}
    errors: dict[str, str] = {}
    message = None
    status = 200
    if request.method == "POST":
        form = {
            "name": form_text("name").strip(),
            "email": form_text("email").strip(),
            "roles": _roles_from_form(),
        }
        now = request_now()
        me = actor()
        key = limit_key("invite", str(me.id))
        try:
            if limits.exceeded(db.session, INVITATION_LIMIT, key, now):
                status = 429
                raise ValidationFailed(
                    "Zu viele Einladungen in kurzer Zeit. Bitte später erneut versuchen.",
                    {"email": "Bitte später erneut versuchen."},
                )
            people.invite(
                db.session,
                tenant=tenant,
                email=form["email"],
                name=form["name"],
                roles=form["roles"],
                now=now,
                actor=me,
            )
            limits.record(db.session, INVITATION_LIMIT, key, now)
            db.session.commit()
        except ValidationFailed as exc:
            db.session.rollback()
            errors, message = exc.field_errors, exc.message
            status = status if status == 429 else 422
        else:
            flash(
                f"{people.INVITATION_SENT} an {form['email'].lower()}. Die Rollen gelten, "
                "sobald die Einladung über den Link in der E-Mail angenommen wurde.",
                "success",
            )
            return redirect(url_for("admin.users", tenant=tenant.slug))
    return render_template(
        "admin/users/new.html",
        tenant=tenant,
        form=form,
        errors=errors,
        message=message,
        role_options=_role_options(),
    ), status


@bp.route("/<tenant>/benutzer/einladungen/<int:invitation_id>/zurueckziehen", methods=["POST"])
@tenant_staff_required("admin")
def invitation_revoke(invitation_id: int):
    tenant = g.tenant
    people.revoke_invitation(db.session, tenant, invitation_id, request_now(), actor())
    db.session.commit()
    flash("Die Einladung wurde zurückgezogen; ihr Link gilt nicht mehr.", "success")
    return redirect(url_for("admin.users", tenant=tenant.slug))


def _render_edit(
    user: User,
    errors: dict[str, str] | None = None,
    message: str | None = None,
    roles: list[str] | None = None,
    status: int = 200,
) -> tuple[str, int]:
    tenant = g.tenant
    me = actor()
    shared = bool(user.is_system_admin or user.tenant_ids() - {tenant.id})
    return render_template(
        "admin/users/edit.html",
        tenant=tenant,
        user=user,
        roles=roles if roles is not None else sorted(user.roles_in(tenant.id)),
        role_options=_role_options(),
        errors=errors or {},
        message=message,
        managed_elsewhere=shared and not me.is_system_admin,
        is_self=user.id == me.id,
    ), status


@bp.route("/<tenant>/benutzer/<int:user_id>")
@tenant_staff_required("admin")
def user_edit(user_id: int):
    return _render_edit(people.get_user_in_tenant(db.session, g.tenant, user_id))


@bp.route("/<tenant>/benutzer/<int:user_id>/rollen", methods=["POST"])
@tenant_staff_required("admin")
def user_roles(user_id: int):
    tenant = g.tenant
    user = people.get_user_in_tenant(db.session, tenant, user_id)
    roles = _roles_from_form()
    try:
        if not roles:
            raise ValidationFailed(
                "Ein Konto braucht mindestens eine Rolle. Um den Zugang zu sperren, "
                "deaktivieren Sie das Konto.",
                {"roles": "Bitte mindestens eine Rolle wählen."},
            )
        people.set_roles(db.session, user, tenant, roles, request_now(), actor())
        db.session.commit()
    except ValidationFailed as exc:
        db.session.rollback()
        user = people.get_user_in_tenant(db.session, tenant, user_id)
        return _render_edit(user, exc.field_errors, exc.message, roles=roles, status=422)
    flash(f"Die Rollen von {user.name} wurden gespeichert.", "success")
    return redirect(url_for("admin.user_edit", tenant=tenant.slug, user_id=user_id))


@bp.route("/<tenant>/benutzer/<int:user_id>/aktiv", methods=["POST"])
@tenant_staff_required("admin")
def user_active(user_id: int):
    tenant = g.tenant
    user = people.get_user_in_tenant(db.session, tenant, user_id)
    active = request.form.get("active") == "1"
    people.set_active(db.session, user, tenant, active, request_now(), actor())
    db.session.commit()
    flash(
        f"Das Konto von {user.name} ist wieder aktiv."
        if active
        else f"Das Konto von {user.name} wurde deaktiviert; es kann sich nicht mehr anmelden.",
        "success",
    )
    return redirect(url_for("admin.user_edit", tenant=tenant.slug, user_id=user_id))


@bp.route("/<tenant>/benutzer/<int:user_id>/passwort", methods=["POST"])
@tenant_staff_required("admin")
def user_password(user_id: int):
    tenant = g.tenant
    user = people.get_user_in_tenant(db.session, tenant, user_id)
    password = request.form.get("password") or ""
    repeat = request.form.get("password_repeat") or ""
    try:
        people.reset_password(db.session, user, tenant, password, request_now(), actor())
        if password != repeat:
            raise ValidationFailed(
                "Das Passwort wurde nicht gesetzt.",
                {"password_repeat": "Die beiden Eingaben stimmen nicht überein."},
            )
        db.session.commit()
    except ValidationFailed as exc:
        db.session.rollback()
        user = people.get_user_in_tenant(db.session, tenant, user_id)
        return _render_edit(user, exc.field_errors, exc.message, status=422)
    flash(
        f"Das neue Passwort für {user.name} ist gesetzt; laufende Sitzungen wurden beendet.",
        "success",
    )
    return redirect(url_for("admin.user_edit", tenant=tenant.slug, user_id=user_id))
