"""The staff dashboard: what is in Aushang, what waits, what ends, what is overdue."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app, g, render_template
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ...domain.posting import Phase
from ...extensions import db
from ...models import Notice
from ...security import tenant_staff_required
from ...services import alerts as alert_svc
from ...services import notices as svc
from ...services import onboarding
from ...services.displays.fleet import fleet_status
from ..clock import request_now
from .blueprint import bp


@bp.route("/<tenant>/")
@tenant_staff_required()
def dashboard():
    tenant = g.tenant
    now = request_now()
    all_notices = db.session.scalars(
        select(Notice)
        .where(Notice.tenant_id == tenant.id)
        .options(selectinload(Notice.versions), selectinload(Notice.category))
        .order_by(Notice.starts_at.desc().nulls_last(), Notice.id.desc())
    ).all()
    in_aushang, waiting, ending, overdue, drafts = [], [], [], [], []
    week_end = now + timedelta(days=7)
    for n in all_notices:
        ph = svc.notice_phase(n, now)
        if ph is Phase.IN_AUSHANG:
            in_aushang.append(n)
            if n.ends_at and n.ends_at <= week_end:
                ending.append(n)
        wv = n.working_version
        if wv is not None and wv.status == "submitted":
            waiting.append(n)
        elif wv is not None and wv.status == "draft":
            drafts.append(n)
        if svc.hint_overdue(n, now):
            overdue.append(n)
    ending.sort(key=lambda n: n.ends_at)
    steps = onboarding.checklist(db.session, tenant)
    return render_template(
        "admin/dashboard.html",
        tenant=tenant,
        now=now,
        checklist=None if all(s.done for s in steps) else steps,
        may_configure=bool(
            current_user.is_system_admin or "admin" in current_user.roles_in(tenant.id)
        ),
        in_aushang=in_aushang,
        waiting=waiting,
        ending=ending,
        overdue=overdue,
        drafts=drafts,
        hint_due_on=svc.hint_due_on,
        fleet=fleet_status(db.session, tenant, now),
        warnings=alert_svc.warning_status(
            db.session,
            tenant,
            now,
            alert_svc.policy_from_config(current_app.config),
            may_alert=bool(
                current_user.is_system_admin
                or current_user.roles_in(tenant.id) & {"alerter", "admin"}
            ),
        ),
    )
