"""System administration: the tenants of the installation, and the guided start of a
new one (issue 17, build 5): the Kommune, its first admin and a starter set of
categories and publication forms in one form; the checklist on its dashboard then
leads through the rest."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from ...domain.errors import ValidationFailed
from ...extensions import db
from ...models import Tenant
from ...security import system_admin_required
from ...services import onboarding, people
from ..clock import request_now
from .blueprint import bp

FIELDS = ("name", "slug", "ars", "timezone", "admin_name", "admin_email")


def _create(form: dict[str, str], password: str, starter: bool) -> Tenant:
    now = request_now()
    me = current_user._get_current_object()
    errors: dict[str, str] = {}
    if form["timezone"] not in onboarding.TIMEZONES:
        errors["timezone"] = "Bitte eine Zeitzone aus der Liste wählen."
    if bool(form["admin_email"]) != bool(password):
        errors["admin_password" if form["admin_email"] else "admin_email"] = (
            "Für das erste Konto bitte E-Mail-Adresse und Kennwort angeben (oder beides leer lassen)."
        )
    try:
        tenant = people.create_tenant(
            db.session,
            name=form["name"],
            slug=form["slug"].lower(),
            ars=form["ars"],
            timezone=form["timezone"] or "Europe/Berlin",
            now=now,
            actor=me,
        )
    except ValidationFailed as exc:
        errors = {**exc.field_errors, **errors}
        raise ValidationFailed(exc.message, errors) from exc
    if errors:
        raise ValidationFailed("Bitte prüfen Sie die Angaben zur Kommune.", errors)
    if form["admin_email"]:
        try:
            onboarding.create_first_admin(
                db.session,
                tenant,
                me,
                name=form["admin_name"] or form["admin_email"],
                email=form["admin_email"],
                password=password,
                now=now,
            )
        except ValidationFailed as exc:
            renamed = {f"admin_{k}" if k in ("name", "email", "password") else k: v
                       for k, v in exc.field_errors.items()}  # fmt: skip
            raise ValidationFailed(exc.message, renamed) from exc
    if starter:
        base = current_app.config.get("AUSHANG_BASE_URL", "").rstrip("/")
        onboarding.apply_starter_set(
            db.session, tenant, me, now, public_url=f"{base}/{tenant.slug}/"
        )
    return tenant


@bp.route("/system/kommunen", methods=["GET", "POST"])
@system_admin_required
def system_tenants():
    errors: dict[str, str] = {}
    form = dict.fromkeys(FIELDS, "")
    form["timezone"] = "Europe/Berlin"
    starter = True
    status = 200
    if request.method == "POST":
        form = {k: (request.form.get(k) or "").strip() for k in FIELDS}
        starter = request.form.get("starter") == "1"
        try:
            tenant = _create(form, request.form.get("admin_password") or "", starter)
            db.session.commit()
            flash(
                f"Die Kommune „{tenant.name}“ wurde angelegt. Die Liste unten führt durch "
                "die nächsten Schritte.",
                "success",
            )
            return redirect(url_for("admin.dashboard", tenant=tenant.slug))
        except ValidationFailed as exc:
            db.session.rollback()
            errors = exc.field_errors
            status = 422
    tenants = db.session.scalars(select(Tenant).order_by(Tenant.name)).all()
    return render_template(
        "admin/system_tenants.html",
        tenants=tenants,
        errors=errors,
        form=form,
        starter=starter,
        timezones=onboarding.TIMEZONES,
    ), status
