"""Setting up warnings in the staff area: control-centre tokens, who may warn our
displays, the tenant's area for geometry relevance (W4), and, for the system admin,
the warnings that concern no tenant.

Tokens are listed to civil-protection users and admins, who may both revoke one (a
leaked token must stop working at once, whoever notices); creating a token, allowing
another tenant and importing the area are for admins.
"""

from __future__ import annotations

from typing import Any

from flask import flash, g, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from ...domain.errors import ValidationFailed
from ...extensions import db
from ...models import Tenant
from ...security import system_admin_required, tenant_staff_required
from ...services import alerts as svc
from ...services.alerts import areas, unmatched
from ..clock import request_now
from . import bp

MAX_UPLOAD_BYTES = 5_000_000


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
    flash(f"Neuer Zugangsschlüssel (wird nur jetzt angezeigt): {plain}", "success")
    return redirect(url_for("admin.alerts_index", tenant=tenant.slug) + "#zugang")


@bp.route("/<tenant>/warnungen/zugang/widerrufen", methods=["POST"])
@tenant_staff_required("alerter")
def alerts_token_revoke() -> Any:
    tenant = g.tenant
    raw = (request.form.get("token_id") or "").strip()
    if not raw.isdigit():
        raise ValidationFailed("Welcher Zugang?", {"token_id": "Bitte einen Zugang wählen."})
    token_id = int(raw)
    token = svc.revoke_api_token(
        db.session, tenant=tenant, token_id=token_id, user=current_user, now=request_now()
    )
    db.session.commit()
    flash(f"Der Zugang „{token.name}“ ist widerrufen und gilt ab sofort nicht mehr.", "success")
    return redirect(url_for("admin.alerts_index", tenant=tenant.slug) + "#zugang")


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


def _render_area(tenant: Tenant, errors: dict[str, str], text: str, status: int = 200) -> Any:
    area = areas.tenant_area(db.session, tenant)
    return render_template(
        "admin/alerts/area.html",
        tenant=tenant,
        area=area,
        summary=areas.area_summary(area) if area is not None else None,
        errors=errors,
        text=text,
    ), status


def _uploaded_text() -> tuple[str, str]:
    """The GeoJSON from the file field, else from the text field, and its source name."""
    upload = request.files.get("file")
    if upload is not None and upload.filename:
        data = upload.read(MAX_UPLOAD_BYTES + 1)
        if len(data) > MAX_UPLOAD_BYTES:
            raise ValidationFailed(
                "Die Datei ist zu groß.", {"geojson": "Höchstens 5 MB (bitte vereinfachen)."}
            )
        try:
            return data.decode("utf-8-sig"), upload.filename
        except UnicodeDecodeError:
            raise ValidationFailed(
                "Die Datei ist keine Textdatei.", {"geojson": "GeoJSON muss UTF-8-Text sein."}
            ) from None
    return request.form.get("geojson", ""), "eingefügter Text"


@bp.route("/<tenant>/warnungen/gebiet", methods=["GET", "POST"])
@tenant_staff_required("admin")
def alerts_area() -> Any:
    tenant = g.tenant
    if request.method == "GET":
        return _render_area(tenant, {}, "")
    if request.form.get("action") == "remove":
        areas.remove_tenant_area(db.session, tenant=tenant, user=current_user, now=request_now())
        db.session.commit()
        flash("Das Gebiet wurde entfernt; Polygone entscheiden nicht mehr.", "success")
        return redirect(url_for("admin.alerts_area", tenant=tenant.slug))
    text = ""
    try:
        text, source = _uploaded_text()
        areas.set_tenant_area(
            db.session,
            tenant=tenant,
            text=text,
            source_name=source,
            user=current_user,
            now=request_now(),
        )
    except ValidationFailed as exc:
        db.session.rollback()
        errors = dict(exc.field_errors or {"geojson": exc.message})
        return _render_area(tenant, errors, text[:20000], status=422)
    db.session.commit()
    flash("Das Gebiet wurde übernommen.", "success")
    return redirect(url_for("admin.alerts_area", tenant=tenant.slug))


@bp.route("/system/warnungen-ohne-mandant")
@system_admin_required
def alerts_unmatched() -> Any:
    return render_template(
        "admin/alerts/unmatched.html", items=unmatched.unmatched_alerts(db.session)
    )
