"""Warnings in the staff area (W10): the Schadenslage page, an alert's page with
Update and Entwarnung, feed health; tokens, permissions and the area are set up in
:mod:`.alert_setup`, reports in :mod:`.alert_reports`.

Only the alerter and admin roles reach these pages (``tenant_staff_required``).
"""

from __future__ import annotations

import json
from typing import Any

from flask import flash, g, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ...domain.alerts import (
    SOURCE_LABELS,
    TEMPLATES,
    Source,
    nina_dashboard_key,
    present,
)
from ...domain.alerts.lifecycle import END_REASON_LABELS, PHASE_LABELS, EndReason, Phase
from ...domain.alerts.policy import WARNSTUFE_LABELS
from ...domain.errors import NotFound, ValidationFailed
from ...extensions import db
from ...models import ALERT_ORIGIN_LABELS, AlertRecord, AlertTarget, Tenant
from ...security import tenant_staff_required
from ...services import alert_confirmation as confirmation
from ...services import alert_delivery
from ...services import alerts as svc
from ...services.alert_health import nina_status
from ...services.alerts import areas
from ...services.alerts.health import disturbed, health_text
from ..clock import request_now
from . import bp
from .alert_drafts import _preview, draft_from_token, draft_token
from .alert_forms import FIELDS, _defaults, _form_input, _policy

# Imported from here by tests and the kiosk preview before the split.
__all__ = ["_form_input", "draft_from_token", "draft_token"]


def _render_form(
    tenant: Tenant,
    raw: dict[str, Any],
    errors: dict[str, str] | None = None,
    preview: Any = None,
    record: AlertRecord | None = None,
    status: int = 200,
) -> Any:
    return render_template(
        "admin/alerts/new.html",
        tenant=tenant,
        form=raw,
        errors=errors or {},
        templates=TEMPLATES,
        warnstufen=WARNSTUFE_LABELS,
        allowed=svc.alertable_tenants(db.session, tenant),
        preview=preview,
        record=record,
        source_label=SOURCE_LABELS[Source.MANUAL],
    ), status


@bp.route("/<tenant>/warnungen/")
@tenant_staff_required("alerter")
def alerts_index() -> Any:
    tenant = g.tenant
    now = request_now()
    policy = _policy()
    own = db.session.scalars(
        select(AlertRecord)
        .outerjoin(AlertTarget, AlertTarget.alert_id == AlertRecord.id)
        .where((AlertRecord.issuer_tenant_id == tenant.id) | (AlertTarget.tenant_id == tenant.id))
        .options(selectinload(AlertRecord.targets))
        .order_by(AlertRecord.received_at.desc())
        .distinct()
        .limit(50)
    ).all()
    key = nina_dashboard_key(tenant.ars)
    showing = svc.active_alerts_for_place(
        db.session, tenant=tenant, test_display=True, now=now, policy=policy
    )
    health = svc.feed_health(db.session, key)
    tokens = svc.list_api_tokens(db.session, tenant)
    return render_template(
        "admin/alerts/index.html",
        tenant=tenant,
        now=now,
        own=own,
        showing=showing,
        feed_key=key,
        health=health,
        health_text=health_text(health, now, policy),
        stale=disturbed(health, now, policy),
        nina_enabled=policy.nina_enabled,
        tokens=tokens,
        api_page=url_for("openapi.api_page"),
        labels=_labels(),
        is_admin=_is_admin(tenant),
        grantees=svc.alert_grantees(db.session, tenant),
        awaiting=confirmation.awaiting(db.session, tenant),
    )


def _flash_issued(record: AlertRecord, done: str) -> None:
    if record.phase == svc.AWAITING_CONFIRMATION:
        flash(
            "Gespeichert, aber noch nicht ausgelöst: Eine zweite Person muss die Warnung "
            "auf dieser Seite bestätigen.",
            "warning",
        )
    else:
        flash(done, "success")


def _is_admin(tenant: Tenant) -> bool:
    return bool(current_user.is_system_admin or "admin" in current_user.roles_in(tenant.id))


def _labels() -> dict[str, Any]:
    return {
        "phase": {
            **{p.value: label for p, label in PHASE_LABELS.items()},
            svc.AWAITING_CONFIRMATION: "wartet auf Bestätigung",
            svc.DISCARDED: "verworfen",
        },
        "end": {
            **{r.value: label for r, label in END_REASON_LABELS.items()},
            svc.DISCARDED: "ohne Bestätigung verworfen",
        },
        "origin": ALERT_ORIGIN_LABELS,
        "source": {s.value: label for s, label in SOURCE_LABELS.items()},
        "warnstufe": WARNSTUFE_LABELS,
        "msg_type": {"Alert": "Warnung", "Update": "Aktualisierung", "Cancel": "Entwarnung"},
        "severity": {
            "Extreme": "extrem",
            "Severe": "schwer",
            "Moderate": "mittel",
            "Minor": "gering",
            "Unknown": "unbekannt",
        },
    }


@bp.route("/<tenant>/warnungen/neu", methods=["GET", "POST"])
@tenant_staff_required("alerter")
def alerts_new() -> Any:
    tenant = g.tenant
    if request.method == "GET":
        return _render_form(tenant, _defaults(tenant, request.args.get("vorlage", "")))
    now = request_now()
    try:
        data, raw = _form_input(tenant)
        if request.form.get("action") == "confirm":
            record = svc.issue_manual(
                db.session, tenant=tenant, user=current_user, data=data, now=now, policy=_policy()
            )
            db.session.commit()
            _flash_issued(record, "Die Warnung wurde ausgelöst.")
            return redirect(url_for("admin.alerts_show", tenant=tenant.slug, alert_id=record.id))
        alert, shown = svc.preview_manual(
            db.session, tenant=tenant, data=data, now=now, policy=_policy()
        )
    except ValidationFailed as exc:
        db.session.rollback()
        raw = {k: (request.form.get(k) or "").strip() for k in FIELDS}
        raw.update(
            warnstufe=request.form.get("warnstufe", ""),
            tenant_ids=request.form.getlist("tenant_ids"),
            extra_ars=request.form.get("extra_ars", ""),
            expires=request.form.get("expires", ""),
            test_mode=request.form.get("test_mode") == "1",
        )
        return _render_form(tenant, raw, exc.field_errors or {"form": exc.message}, status=422)
    return _render_form(tenant, raw, preview=_preview(tenant, raw, alert, shown, now))


def _record(tenant: Tenant, alert_id: int) -> AlertRecord:
    record = db.session.get(AlertRecord, alert_id)
    visible = record is not None and (
        record.issuer_tenant_id == tenant.id
        or any(t.tenant_id == tenant.id for t in record.targets)
        or record.feed_key == nina_dashboard_key(tenant.ars)
    )
    if record is None or not visible:
        raise NotFound("Warnung nicht gefunden.")
    return record


@bp.route("/<tenant>/warnungen/<int:alert_id>")
@tenant_staff_required("alerter")
def alerts_show(alert_id: int) -> Any:
    tenant = g.tenant
    record = _record(tenant, alert_id)
    message = svc.load_message(record)
    info = message.primary_info()
    editable = record.feed_key == "" and record.issuer_tenant_id == tenant.id
    form = None
    if editable and record.phase == Phase.ACTIVE.value and info is not None:
        key = next((k for k, t in TEMPLATES.items() if t.event == info.event), "")
        form = {
            "template_key": key,
            "area_desc": info.areas[0].area_desc if info.areas else tenant.name,
            "warnstufe": str(record.warnstufe),
            "tenant_ids": [str(t.tenant_id) for t in record.targets],
            "extra_ars": "",
            "expires": "",
            "test_mode": record.status != "Actual",
            "headline": info.headline or "",
            "description": info.description or "",
            "instruction": info.instruction or "",
            "sender_name": info.sender_name or "",
        }
    trail = [
        {
            "at": e.at,
            "action": e.action,
            "actor": e.actor,
            "reason": json.loads(e.details or "{}").get("reason"),
        }
        for e in (confirmation.trail(db.session, record) if record.feed_key == "" else [])
    ]
    held = None
    if confirmation.is_held(record):
        held = {
            "may_confirm": confirmation.may_confirm(current_user, tenant, record),
            "shown": present(
                message, Source(record.source), test_display=True, table=_policy().table
            ),
        }
    now = request_now()
    return render_template(
        "admin/alerts/show.html",
        relevant_by=_relevant_by(record, message, tenant),
        delivery=None
        if held
        else alert_delivery.delivery_status(db.session, record, now, _policy()),
        timeline=None if held else alert_delivery.incident_timeline(db.session, record, now),
        held=held,
        trail=trail,
        tenant=tenant,
        record=record,
        message=message,
        info=info,
        form=form,
        templates=TEMPLATES,
        warnstufen=WARNSTUFE_LABELS,
        allowed=svc.alertable_tenants(db.session, tenant),
        labels=_labels(),
        errors={},
        health_text=health_text(svc.feed_health(db.session, record.feed_key), now, _policy())
        if record.feed_key
        else None,
        now=now,
        EndReason=EndReason,
    )


def _relevant_by(record: AlertRecord, message: Any, tenant: Tenant) -> str:
    """ "relevant durch …" for this tenant: the W4 key stored at receipt (local
    messages) or decided now by the display's own rule (NINA)."""
    if record.feed_key:
        verdict = areas.relevance_for(db.session, message, tenant, from_own_dashboard=True)
        return areas.describe_match(verdict.key) if verdict.relevant else "nicht relevant"
    target = next((t for t in record.targets if t.tenant_id == tenant.id), None)
    if target is None:
        return "keinem Mandanten zugeordnet" if not record.targets else "nicht für uns"
    if not target.matched_by:
        return "beim Auslösen ausgewählt"
    return areas.describe_match(target.matched_by)


@bp.route("/<tenant>/warnungen/<int:alert_id>/aktualisieren", methods=["POST"])
@tenant_staff_required("alerter")
def alerts_update(alert_id: int) -> Any:
    tenant = g.tenant
    now = request_now()
    data, _raw = _form_input(tenant)
    record = svc.update_manual(
        db.session,
        tenant=tenant,
        user=current_user,
        record_id=alert_id,
        data=data,
        now=now,
        policy=_policy(),
    )
    db.session.commit()
    _flash_issued(record, "Die Warnung wurde aktualisiert.")
    return redirect(url_for("admin.alerts_show", tenant=tenant.slug, alert_id=record.id))


@bp.route("/<tenant>/warnungen/<int:alert_id>/entwarnung", methods=["POST"])
@tenant_staff_required("alerter")
def alerts_cancel(alert_id: int) -> Any:
    tenant = g.tenant
    record = svc.cancel_manual(
        db.session,
        tenant=tenant,
        user=current_user,
        record_id=alert_id,
        now=request_now(),
        policy=_policy(),
        description=(
            request.form.get("all_clear_text") or request.form.get("description") or ""
        ).strip()
        or None,
    )
    db.session.commit()
    flash("Die Entwarnung wurde ausgelöst.", "success")
    return redirect(url_for("admin.alerts_show", tenant=tenant.slug, alert_id=record.id))


@bp.route("/<tenant>/warnungen/<int:alert_id>/bestaetigen", methods=["POST"])
@tenant_staff_required("alerter")
def alerts_confirm(alert_id: int) -> Any:
    tenant = g.tenant
    record = confirmation.confirm(
        db.session,
        tenant=tenant,
        user=current_user,
        record_id=alert_id,
        now=request_now(),
        policy=_policy(),
    )
    db.session.commit()
    flash("Bestätigt: Die Warnung wurde ausgelöst.", "success")
    return redirect(url_for("admin.alerts_show", tenant=tenant.slug, alert_id=record.id))


@bp.route("/<tenant>/warnungen/<int:alert_id>/verwerfen", methods=["POST"])
@tenant_staff_required("alerter")
def alerts_discard(alert_id: int) -> Any:
    tenant = g.tenant
    record = confirmation.discard(
        db.session,
        tenant=tenant,
        user=current_user,
        record_id=alert_id,
        reason=request.form.get("reason") or "",
        now=request_now(),
    )
    db.session.commit()
    flash("Die Warnung wurde verworfen und nicht ausgelöst.", "success")
    return redirect(url_for("admin.alerts_show", tenant=tenant.slug, alert_id=record.id))


@bp.context_processor
def warning_alarms() -> dict[str, Any]:
    """On every staff page of a tenant, for its alerter and admin users: a banner when
    the NINA feed is stale (W3), and a notice of warnings awaiting confirmation (W10).
    Costs a primary-key lookup and a count, and nothing for other users."""
    tenant = g.get("tenant")
    user = current_user
    if tenant is None or not user.is_authenticated:
        return {}
    if not (user.is_system_admin or user.roles_in(tenant.id) & confirmation.CONFIRMING_ROLES):
        return {}
    status = nina_status(db.session, tenant, request_now(), _policy())
    return {
        "nina_alarm": status.banner_text(tenant.timezone) if status.stale else None,
        "alerts_awaiting": confirmation.awaiting_count(db.session, tenant.id),
    }
