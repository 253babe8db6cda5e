"""Entwarnung with care (issue 17, build 4): the warning page's Entwarnung goes to a page
that restates what will happen before the irreversible step; the step itself stays the
POST of ``alerts_cancel`` (server/web/admin/alerts.py)."""

from __future__ import annotations

from typing import Any

from flask import flash, g, redirect, render_template, request, url_for

from ...domain.alerts.lifecycle import Phase
from ...security import tenant_staff_required
from ...services import alerts as svc
from .alert_forms import _policy
from .alerts import _record
from .blueprint import bp

MAX_TEXT = 2000


@bp.route("/<tenant>/warnungen/<int:alert_id>/entwarnung/bestaetigen")
@tenant_staff_required("alerter")
def alerts_cancel_confirm(alert_id: int) -> Any:
    tenant = g.tenant
    record = _record(tenant, alert_id)
    back = url_for("admin.alerts_show", tenant=tenant.slug, alert_id=record.id)
    own = record.feed_key == "" and record.issuer_tenant_id == tenant.id
    if not own or record.phase != Phase.ACTIVE.value:
        flash("Für diese Warnung kann hier keine Entwarnung ausgelöst werden.", "error")
        return redirect(back)
    info = svc.load_message(record).primary_info()
    return render_template(
        "admin/alerts/confirm_cancel.html",
        tenant=tenant,
        record=record,
        headline=(info.headline if info is not None else "") or record.headline,
        kommunen=sorted(t.tenant.name for t in record.targets),
        all_clear_minutes=round(_policy().all_clear_for.total_seconds() / 60),
        text=(request.args.get("all_clear_text") or "").strip()[:MAX_TEXT],
        back=back,
    )
