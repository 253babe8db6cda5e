"""Feedback messages from the public site (L19), read by tenant admins."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, url_for
from sqlalchemy import select

from ...extensions import db
from ...models import Feedback
from ...security import tenant_staff_required
from ...services import audit
from ...uow import committed
from ..clock import request_now
from . import bp


@bp.route("/<tenant>/rueckmeldungen")
@tenant_staff_required("admin")
def feedback_list():
    items = db.session.scalars(
        select(Feedback)
        .where(Feedback.tenant_id == g.tenant.id)
        .order_by(Feedback.handled_at.is_not(None), Feedback.created_at.desc())
        .limit(500)
    ).all()
    return render_template("admin/feedback.html", tenant=g.tenant, items=items)


@bp.route("/<tenant>/rueckmeldungen/<int:feedback_id>/erledigt", methods=["POST"])
@tenant_staff_required("admin")
@committed
def feedback_done(feedback_id: int):
    from flask_login import current_user

    item = db.session.get(Feedback, feedback_id)
    if item is None or item.tenant_id != g.tenant.id:
        abort(404)
    if item.handled_at is None:
        now = request_now()
        item.handled_at = now
        audit.record(
            db.session,
            now=now,
            action="feedback.handled",
            object_type="feedback",
            object_id=item.id,
            actor=current_user._get_current_object(),
            tenant_id=g.tenant.id,
        )
        flash("Als erledigt markiert.", "success")
    return redirect(url_for("admin.feedback_list", tenant=g.tenant.slug))
