"""System administration: the tenants of the installation."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from ...domain.errors import ValidationFailed
from ...extensions import db
from ...models import Tenant
from ...security import system_admin_required
from ...services import people
from ..clock import request_now
from .blueprint import bp


@bp.route("/system/kommunen", methods=["GET", "POST"])
@system_admin_required
def system_tenants():
    errors: dict[str, str] = {}
    form = {"name": "", "slug": "", "ars": "", "timezone": "Europe/Berlin"}
    status = 200
    if request.method == "POST":
        form = {k: (request.form.get(k) or "").strip() for k in form}
        try:
            tenant = people.create_tenant(
                db.session,
                name=form["name"],
                slug=form["slug"].lower(),
                ars=form["ars"],
                timezone=form["timezone"] or "Europe/Berlin",
                now=request_now(),
                actor=current_user._get_current_object(),
            )
            db.session.commit()
            flash(f"Die Kommune „{tenant.name}“ wurde angelegt.", "success")
            return redirect(url_for("admin.system_tenants"))
        except ValidationFailed as exc:
            db.session.rollback()
            errors = exc.field_errors
            status = 422
    tenants = db.session.scalars(select(Tenant).order_by(Tenant.name)).all()
    return render_template(
        "admin/system_tenants.html", tenants=tenants, errors=errors, form=form
    ), status
