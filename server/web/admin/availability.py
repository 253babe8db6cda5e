"""Staff page of the Internet channel's outages (issue 17, build 2): gaps in the
server's own heartbeat during an Aushangfrist, with the decision per outage."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from sqlalchemy import select

from ...domain.errors import NotFound, ValidationFailed
from ...extensions import db
from ...models import OUTAGE_DECISION_LABELS, InternetOutage
from ...security import tenant_staff_required
from ...services import availability
from .blueprint import bp
from .common import actor, add_nav, form_text, request_now

add_nav([("admin.internet_outages", "Ausfälle Internet", ("approver",))])


@bp.route("/<tenant>/ausfaelle-internet")
@tenant_staff_required("approver")
def internet_outages():
    rows = db.session.scalars(
        select(InternetOutage)
        .where(InternetOutage.tenant_id == g.tenant.id)
        .order_by(InternetOutage.started_at.desc())
        .limit(200)
    ).all()
    return render_template(
        "admin/internet_outages.html",
        tenant=g.tenant,
        rows=rows,
        decision_options=list(OUTAGE_DECISION_LABELS.items()),
        OUTAGE_DECISION_LABELS=OUTAGE_DECISION_LABELS,
    )


@bp.route("/<tenant>/ausfaelle-internet/<int:internet_outage_id>", methods=["POST"])
@tenant_staff_required("approver")
def internet_outage_decide(internet_outage_id: int):
    outage = db.session.get(InternetOutage, internet_outage_id)
    if outage is None or outage.tenant_id != g.tenant.id:
        raise NotFound("Diesen Ausfall gibt es nicht.")
    decision = request.form.get("decision", "")
    try:
        availability.decide(db.session, outage, actor(), decision, form_text("note"), request_now())
        db.session.commit()
    except ValidationFailed as exc:
        db.session.rollback()
        flash(exc.message + " " + " ".join(exc.field_errors.values()), "error")
        return redirect(url_for("admin.internet_outages", tenant=g.tenant.slug)), 303
    if decision == "extend":
        flash(
            "Gespeichert. Der Aushang der betroffenen Bekanntmachungen "
            f"({', '.join(outage.notice_numbers)}) wurde um die Dauer des Ausfalls verlängert.",
            "success",
        )
    else:
        flash("Die Entscheidung zum Ausfall wurde gespeichert.", "success")
    return redirect(url_for("admin.internet_outages", tenant=g.tenant.slug))
