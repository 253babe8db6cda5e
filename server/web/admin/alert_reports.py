"""Delivery and Warntag reports of a warning (W15): HTML, JSON and PDF."""

from __future__ import annotations

import json
from typing import Any

from flask import current_app, g, render_template

from ...extensions import db
from ...models import AlertRecord, Tenant
from ...security import tenant_staff_required
from ...services import warntag
from ..clock import request_now
from . import bp
from .alerts import _record


def _report(tenant: Tenant, alert_id: int) -> tuple[AlertRecord, Any]:
    record = _record(tenant, alert_id)
    rows = warntag.delivery_rows(current_app.extensions, db.session, record)
    return record, warntag.report_for(record, tenant, rows)


@bp.route("/<tenant>/warnungen/<int:alert_id>/bericht")
@tenant_staff_required("alerter")
def alerts_warntag(alert_id: int) -> Any:
    tenant = g.tenant
    record, report = _report(tenant, alert_id)
    return render_template("admin/alerts/warntag.html", tenant=tenant, record=record, report=report)


@bp.route("/<tenant>/warnungen/<int:alert_id>/bericht.json")
@tenant_staff_required("alerter")
def alerts_warntag_json(alert_id: int) -> Any:
    _record_, report = _report(g.tenant, alert_id)
    return current_app.response_class(
        json.dumps(report.as_json(), ensure_ascii=False, indent=2), mimetype="application/json"
    )


@bp.route("/<tenant>/warnungen/<int:alert_id>/bericht.pdf")
@tenant_staff_required("alerter")
def alerts_warntag_pdf(alert_id: int) -> Any:
    tenant = g.tenant
    record, report = _report(tenant, alert_id)
    pdf = warntag.report_pdf(report, tenant, request_now(), render=render_template)
    response = current_app.response_class(pdf, mimetype="application/pdf")
    name = "warntag-bericht" if report.is_test else "zustellbericht"
    response.headers["Content-Disposition"] = f'inline; filename="{name}-{record.id}.pdf"'
    return response
