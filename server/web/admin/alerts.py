"""Warnings in the staff area (W10): the Schadenslage page, an alert's page with
Update and Entwarnung, feed health, API tokens and alert permissions.

Only the alerter and admin roles reach these pages (``tenant_staff_required``).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app, flash, g, redirect, render_template, request, url_for
from flask_login import current_user
from itsdangerous import BadData, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.datastructures import MultiDict

from ...domain.alerts import (
    SOURCE_LABELS,
    TEMPLATES,
    Source,
    nina_dashboard_key,
    present,
    template,
)
from ...domain.alerts.lifecycle import END_REASON_LABELS, PHASE_LABELS, EndReason, Phase
from ...domain.alerts.policy import WARNSTUFE_LABELS
from ...domain.alerts.relevance import warning_ars_codes
from ...domain.errors import NotFound, ValidationFailed
from ...extensions import db
from ...models import ALERT_ORIGIN_LABELS, AlertRecord, AlertTarget, ApiToken, Tenant
from ...security import tenant_staff_required
from ...services import alert_confirmation as confirmation
from ...services import alert_delivery, warntag
from ...services import alerts as svc
from ...services.alert_health import nina_status
from ...services.displays.reports import is_online
from ..clock import request_now
from . import bp

FIELDS = ("template_key", "area_desc", "headline", "description", "instruction", "sender_name")


def _policy() -> svc.AlertPolicy:
    return svc.policy_from_config(current_app.config)


def _parse_local(raw: str, tz: str, errors: dict[str, str]) -> datetime | None:
    raw = raw.strip()
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        errors["expires"] = "Bitte Datum und Uhrzeit angeben (TT.MM.JJJJ hh:mm)."
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(tz))
    return value


def _form_input(tenant: Tenant, form: Any = None) -> tuple[svc.ManualAlertInput, dict[str, Any]]:
    form = request.form if form is None else form
    errors: dict[str, str] = {}
    raw: dict[str, Any] = {k: (form.get(k) or "").strip() for k in FIELDS}
    raw["warnstufe"] = form.get("warnstufe", "")
    raw["tenant_ids"] = form.getlist("tenant_ids")
    raw["extra_ars"] = (form.get("extra_ars") or "").strip()
    raw["expires"] = (form.get("expires") or "").strip()
    raw["test_mode"] = form.get("test_mode") == "1"
    try:
        warnstufe = int(raw["warnstufe"])
    except ValueError:
        warnstufe = 0
    data = svc.ManualAlertInput(
        template_key=raw["template_key"],
        area_desc=raw["area_desc"],
        tenant_ids=[int(i) for i in raw["tenant_ids"] if i.isdigit()],
        warnstufe=warnstufe,
        headline=raw["headline"],
        description=raw["description"],
        instruction=raw["instruction"],
        sender_name=raw["sender_name"],
        extra_ars=[c for c in raw["extra_ars"].replace(";", ",").replace(" ", ",").split(",") if c],
        expires=_parse_local(raw["expires"], tenant.timezone, errors),
        test_mode=raw["test_mode"],
    )
    if errors:
        raise ValidationFailed("Die Warnung ist noch nicht vollständig.", errors)
    return data, raw


def _defaults(tenant: Tenant, key: str) -> dict[str, Any]:
    t = template(key) if key in TEMPLATES else None
    area = tenant.name
    texts = t.texts(area) if t else {"headline": "", "description": "", "instruction": ""}
    return {
        "template_key": key if t else "",
        "area_desc": area,
        "warnstufe": str(t.default_warnstufe if t else ""),
        "tenant_ids": [str(tenant.id)],
        "extra_ars": "",
        "expires": "",
        "test_mode": False,
        "sender_name": tenant.name,
        **texts,
    }


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
    tokens = db.session.scalars(
        select(ApiToken).where(ApiToken.tenant_id == tenant.id).order_by(ApiToken.id)
    ).all()
    return render_template(
        "admin/alerts/index.html",
        tenant=tenant,
        now=now,
        own=own,
        showing=showing,
        feed_key=key,
        health=health,
        health_text=health.status_text(now, policy.stale_after),
        stale=health.is_stale(now, policy.stale_after),
        tokens=tokens,
        new_token=None,
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


# --- the preview on the real kiosk page (issue 13) ---------------------------------------

DRAFT_SALT = "aushang.alert-preview"
DRAFT_MAX_AGE_S = 4 * 3600
# Pixel sizes the kiosk page is laid out in, per orientation (scaled down by CSS).
FRAME_SIZES = {"landscape": (1920, 1080), "portrait": (1080, 1920)}
ORIENTATION_LABELS = {"landscape": "Querformat", "portrait": "Hochformat"}


def _draft_signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=DRAFT_SALT)


def draft_token(tenant: Tenant, raw: dict[str, Any]) -> str:
    """The form as submitted, signed for this tenant: the kiosk page in the preview's
    iframe fetches its state by it, so nothing of a draft is stored on the server."""
    return _draft_signer().dumps({"t": tenant.id, "f": raw})


def draft_from_token(tenant: Tenant, token: str) -> tuple[svc.ManualAlertInput, dict[str, Any]]:
    """The draft behind :func:`draft_token`, validated again (roles or permissions may
    have changed since). A token of another tenant, forged or too old: 404."""
    try:
        data = _draft_signer().loads(token, max_age=DRAFT_MAX_AGE_S)
    except BadData as exc:
        raise NotFound("Vorschau nicht gefunden.") from exc
    if (
        not isinstance(data, dict)
        or data.get("t") != tenant.id
        or not isinstance(data.get("f"), dict)
    ):
        raise NotFound("Vorschau nicht gefunden.")
    raw = data["f"]
    pairs: list[tuple[str, str]] = [
        (k, str(raw.get(k) or "")) for k in (*FIELDS, "warnstufe", "extra_ars", "expires")
    ]
    pairs += [("tenant_ids", str(i)) for i in raw.get("tenant_ids") or []]
    if raw.get("test_mode"):
        pairs.append(("test_mode", "1"))
    return _form_input(tenant, MultiDict(pairs))


def _preview(
    tenant: Tenant, raw: dict[str, Any], alert: Any, shown: Any, now: datetime
) -> dict[str, Any]:
    """Shown, reach and frames of the preview: the displays it reaches are counted by
    the delivery's own targeting (:func:`alert_delivery.message_displays`)."""
    policy = _policy()
    displays = alert_delivery.message_displays(
        db.session,
        alert=alert,
        source=Source.MANUAL,
        feed_key="",
        tenant_ids=[int(i) for i in raw["tenant_ids"] if str(i).isdigit()],
        by_area=bool(warning_ars_codes(alert)),  # as AlertRecord.target_ars is filled
        policy=policy,
    )
    online = sum(1 for d in displays if is_online(d, now))
    orientations = sorted({d.orientation for d in displays if d.orientation in FRAME_SIZES})
    token = draft_token(tenant, raw)
    frames = [
        {
            "orientation": o,
            "label": ORIENTATION_LABELS[o],
            "width": FRAME_SIZES[o][0],
            "height": FRAME_SIZES[o][1],
            "count": sum(1 for d in displays if d.orientation == o),
        }
        for o in orientations or ["landscape"]
    ]
    return {
        "alert": alert,
        "shown": shown,
        "now": now,
        "reach": {"total": len(displays), "online": online, "offline": len(displays) - online},
        "frames": frames,
        "kiosk_url": url_for(
            "admin.alert_preview_kiosk", tenant=tenant.slug, draft=token, name="index.html"
        ),
    }


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
        health=svc.feed_health(db.session, record.feed_key) if record.feed_key else None,
        now=now,
        EndReason=EndReason,
    )


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


@bp.route("/<tenant>/warnungen/zugang", methods=["POST"])
@tenant_staff_required("admin")
def alerts_token() -> Any:
    tenant = g.tenant
    _token, plain = svc.create_api_token(
        db.session,
        tenant=tenant,
        name=request.form.get("name", ""),
        user=current_user,
        now=request_now(),
    )
    db.session.commit()
    flash(
        f"Neuer Zugangsschlüssel (wird nur jetzt angezeigt): {plain}",
        "success",
    )
    return redirect(url_for("admin.alerts_index", tenant=tenant.slug))


@bp.route("/<tenant>/warnungen/erlauben", methods=["POST"])
@tenant_staff_required("admin")
def alerts_permit() -> Any:
    tenant = g.tenant
    slug = (request.form.get("grantee") or "").strip()
    grantee = db.session.scalar(select(Tenant).where(Tenant.slug == slug, Tenant.active))
    if grantee is None or grantee.id == tenant.id:
        raise ValidationFailed("Unbekannte Kommune.", {"grantee": "Kürzel prüfen."})
    svc.grant_alert_permission(
        db.session, tenant=tenant, grantee=grantee, now=request_now(), actor=current_user
    )
    db.session.commit()
    flash(f"„{grantee.name}“ darf jetzt Warnungen auf Ihren Anzeigen auslösen.", "success")
    return redirect(url_for("admin.alerts_index", tenant=tenant.slug))


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


# --- Warntag report (W15) ----------------------------------------------------------------


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
