"""Delivery you can see on the alert page (issue 6): per display delivered, shown,
latency and online state; the reach chart; the incident timeline (W14) as HTML, JSON
and PDF. The views of the alert page itself live in :mod:`.alerts`."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from flask import current_app, g, get_template_attribute, jsonify, render_template

from ...documents import render_pdf
from ...domain.posting import to_local
from ...extensions import db
from ...models import AlertRecord, Tenant
from ...security import tenant_staff_required
from ...services import alert_delivery as delivery
from ...services import alerts as svc
from ...services.printing import PDF_BASE_URL
from ..clock import request_now
from .alerts import _record
from .blueprint import bp


@bp.app_template_filter("de_time_precise")
def de_time_precise(value: datetime | None, tz: str = "Europe/Berlin") -> str:
    """``21.11.2026, 17:03:12,4 Uhr``: deliveries are compared in fractions of a second."""
    if value is None:
        return "–"
    local = to_local(value, tz)
    tenths = local.microsecond // 100_000
    return local.strftime("%d.%m.%Y, %H:%M:%S") + f",{tenths} Uhr"


def _export(tenant: Tenant, alert_id: int) -> tuple[AlertRecord, list[AlertRecord], Any]:
    record = _record(tenant, alert_id)
    records = delivery.incident_records(db.session, record)
    return record, records, delivery.incident_timeline(db.session, record, request_now())


@bp.route("/<tenant>/warnungen/<int:alert_id>/ablauf.json")
@tenant_staff_required("alerter")
def alerts_timeline_json(alert_id: int) -> Any:
    record, records, events = _export(g.tenant, alert_id)
    body = delivery.timeline_json(record, records, events)
    response = current_app.response_class(
        json.dumps(body, ensure_ascii=False, indent=2), mimetype="application/json"
    )
    response.headers["Content-Disposition"] = f'attachment; filename="ablauf-{record.id}.json"'
    return response


@bp.route("/<tenant>/warnungen/<int:alert_id>/ablauf.pdf")
@tenant_staff_required("alerter")
def alerts_timeline_pdf(alert_id: int) -> Any:
    tenant = g.tenant
    record, records, events = _export(tenant, alert_id)
    now = request_now()
    html = render_template(
        "pdf/alert_timeline.html",
        tenant=tenant,
        record=record,
        records=records,
        timeline=events,
        delivery=delivery.delivery_status(
            db.session, record, now, svc.policy_from_config(current_app.config)
        ),
        generated_at=now,
    )
    response = current_app.response_class(
        render_pdf(html, PDF_BASE_URL), mimetype="application/pdf"
    )
    response.headers["Content-Disposition"] = f'inline; filename="ablauf-{record.id}.pdf"'
    return response


@bp.route("/<tenant>/warnungen/<int:alert_id>/zustellung.json")
@tenant_staff_required("alerter")
def alerts_delivery_json(alert_id: int) -> Any:
    """The alert page's delivery section as it would render now, with its counts: the
    page's script polls it and swaps the section's body (issue 13). ``html`` is the
    same macro the page renders, so the live and the reloaded page never differ."""
    tenant = g.tenant
    record = _record(tenant, alert_id)
    status = delivery.delivery_status(
        db.session, record, request_now(), svc.policy_from_config(current_app.config)
    )
    body = get_template_attribute("admin/alerts/_delivery.html", "delivery_body")
    response = jsonify(
        {
            "alert_id": record.id,
            "total": status.total,
            "shown": status.shown,
            "delivered": status.delivered,
            "offline": len(status.offline),
            "summary": f"{status.shown} von {status.total} Anzeigen haben die Meldung angezeigt.",
            "html": str(body(status, tenant.timezone)),
        }
    )
    response.headers["Cache-Control"] = "no-store"
    return response
