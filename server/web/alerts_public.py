"""Public warning endpoints: the control-centre API and the citizens' feeds (W16).

* ``POST /api/v1/alerts`` — CAP 1.2 XML (``application/cap+xml``, ``application/xml``,
  ``text/xml``) or its JSON equivalent (``application/json``), bearer token with the
  ``alerts`` scope. Errors answer ``application/problem+json``.
* ``GET /<tenant>/feeds/warnungen.atom`` and ``/<tenant>/feeds/warnungen.json`` — active
  warnings for a tenant.
* ``GET /warnungen/cap/<identifier>.xml`` — each message's CAP document, stable URL.
* ``GET /<tenant>/warnungen`` — the citizens' page: active warnings in every language,
  Entwarnungen of the last hours and the age of the NINA data.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, current_app, g, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from feeds.warnings import SourceStatus, WarningEntry, build_warning_atom, build_warning_json

from ..domain.alerts import SOURCE_LABELS, Source
from ..domain.alerts.policy import WARNSTUFE_LABELS
from ..domain.errors import PermissionDenied
from ..extensions import csrf, db
from ..models import Tenant
from ..security import load_tenant
from ..services import alerts as svc
from ..services import public_warnings
from ..services.alert_health import nina_status
from ..sources.cap import (
    MAX_CAP_BYTES,
    CapError,
    CapMalformed,
    CapTooLarge,
    alert_from_cap_json,
    build_cap_xml,
    check_json_depth,
    parse_cap,
    read_limited,
)
from .clock import request_now
from .jsonbody import storable
from .setup import ERROR_TEXTS, error_page, problem, wants_json

log = logging.getLogger("aushang.alerts")

bp = Blueprint("alerts_public", __name__)
csrf.exempt(bp)

XML_TYPES = {"application/cap+xml", "application/xml", "text/xml"}


# A database that does not answer is an outage, not a bad request: 503, and the control
# centre's system (or the feed reader) tries again.
RETRY_AFTER_SECONDS = 30
DATABASE_DOWN = (OperationalError, InterfaceError, PoolTimeout)


@bp.errorhandler(OperationalError)
@bp.errorhandler(InterfaceError)
@bp.errorhandler(PoolTimeout)
def database_unavailable(exc: Exception) -> Any:
    log.error("event=database_unavailable path=%s error=%s", request.path, type(exc).__name__)
    try:
        db.session.rollback()
    except DATABASE_DOWN:
        pass
    detail = "Die Datenbank ist gerade nicht erreichbar. Bitte in Kürze erneut senden."
    if wants_json():
        response, status = problem(503, "Vorübergehend nicht verfügbar", detail)
    else:
        response, status = error_page(503, detail)
        response = current_app.make_response((response, status))
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response.headers["Cache-Control"] = "no-store"
    return response, status


def _external(endpoint: str, **values: Any) -> str:
    """An absolute URL on the configured ``AUSHANG_BASE_URL``, never the request's Host.

    The Host header is the client's to choose; a feed or a ``Location`` built from it
    sends readers (and cached copies) wherever the sender of a forged header wants.
    """
    base = str(current_app.config["AUSHANG_BASE_URL"]).rstrip("/")
    path = url_for(endpoint, **values)
    root = request.script_root
    if root and path.startswith(root + "/"):
        path = path[len(root) :]  # the base URL already names the mount point
    return base + path


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def _cap_problem(exc: CapError) -> Any:
    return problem(exc.status_code, "CAP-Meldung abgelehnt", exc.message)


@bp.post("/api/v1/alerts")
def post_alert() -> Any:
    now = request_now()
    plain = _bearer()
    if plain is None:
        response, status = problem(
            401,
            "Anmeldung erforderlich",
            "Bitte einen Zugangsschlüssel als „Authorization: Bearer …“ senden.",
        )
        response.headers["WWW-Authenticate"] = 'Bearer realm="aushang-alerts"'
        return response, status
    try:
        token = svc.authenticate_token(db.session, plain, "alerts", now)
    except PermissionDenied as exc:
        db.session.commit()
        return problem(403, "Keine Berechtigung", exc.message)
    mimetype = request.mimetype
    try:
        if request.content_length is not None and request.content_length > MAX_CAP_BYTES:
            raise CapTooLarge(MAX_CAP_BYTES)
        raw = read_limited(request.stream, MAX_CAP_BYTES)
        if mimetype in XML_TYPES:
            alert = parse_cap(raw).alert
            media_type = svc.CAP_MEDIA_TYPE
        elif mimetype == "application/json":
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise CapMalformed("Kein gültiges JSON (kein UTF-8).") from None
            check_json_depth(text)
            try:
                obj = json.loads(text)
            except (json.JSONDecodeError, RecursionError):
                raise CapMalformed("Kein gültiges JSON.") from None
            if not storable(obj):
                raise CapMalformed("Der Text enthält unzulässige Zeichen (NUL oder Surrogate).")
            alert = alert_from_cap_json(obj)
            media_type = svc.JSON_MEDIA_TYPE
        else:
            return problem(
                415,
                "Nicht unterstütztes Format",
                "Erwartet wird application/cap+xml (CAP 1.2) oder application/json.",
            )
    except CapError as exc:
        db.session.rollback()
        return _cap_problem(exc)
    policy = svc.policy_from_config(current_app.config)
    try:
        outcome = svc.receive_from_api(
            db.session,
            token=token,
            alert=alert,
            raw=raw,
            media_type=media_type,
            now=now,
            policy=policy,
        )
    except svc.AlertRefused as exc:
        db.session.commit()  # nothing but the refusal's audit row was written
        return problem(exc.status, ERROR_TEXTS[exc.status][0], exc.message, reason=exc.reason)
    db.session.commit()
    if outcome.refused:
        # Kept in the archive (W14), but it never took effect: tell the sender why.
        return problem(
            422,
            "Meldung nicht angewendet",
            outcome.refused,
            reason="predates_reference",
        )
    record = outcome.record
    cap_url = _external("alerts_public.cap_document", identifier=record.identifier)
    body = {
        "id": record.id,
        "identifier": record.identifier,
        "msgType": record.msg_type,
        "status": record.status,
        "phase": record.phase,
        "warnstufe": record.warnstufe,
        "behaviour": record.behaviour,
        "duplicate": outcome.duplicate,
        # An older message than the stored one is archived but not applied (W6).
        "applied": not (outcome.duplicate or outcome.out_of_order),
        "outOfOrder": outcome.out_of_order,
        "changes": [{"kind": c.kind.value, "key": c.key} for c in outcome.changes],
        "targets": sorted(t.tenant.slug for t in record.targets),
        "cap": cap_url,
    }
    response = current_app.response_class(
        json.dumps(body, ensure_ascii=False), mimetype="application/json"
    )
    response.status_code = 200 if outcome.duplicate or outcome.out_of_order else 201
    response.headers["Location"] = cap_url
    return response


def _staff_may_see(record: Any) -> bool:
    """A signed-in user with a role in a tenant the (exercise or test) message concerns."""
    user = current_user
    if not user.is_authenticated:
        return False
    if user.is_system_admin:
        return True
    tenant_ids = {t.tenant_id for t in record.targets}
    if record.issuer_tenant_id is not None:
        tenant_ids.add(record.issuer_tenant_id)
    if record.feed_key:
        tenant_ids |= set(
            db.session.scalars(select(Tenant.id).where(Tenant.ars.startswith(record.feed_key[:5])))
        )
    return any(user.roles_in(tid) for tid in tenant_ids)


@bp.get("/warnungen/cap/<path:identifier>.xml")
def cap_document(identifier: str) -> Response:
    record = svc.find_document(db.session, identifier, may_see=_staff_may_see)
    doc = record.document
    assert doc is not None
    if doc.media_type == svc.CAP_MEDIA_TYPE:
        content = doc.content
    else:  # NINA sends CAP as JSON; we offer the same message as CAP XML
        content = build_cap_xml(svc.load_message(record))
    response = Response(content, mimetype="application/cap+xml")
    # Exercise and test documents are for staff only: no shared cache may keep them.
    public = record.status == "Actual"
    response.headers["Cache-Control"] = "public, max-age=60" if public else "private, no-store"
    return response


def _sources(tenant: Any, now: datetime) -> list[SourceStatus]:
    status = nina_status(db.session, tenant, now, svc.policy_from_config(current_app.config))
    age = status.age
    return [
        SourceStatus(
            name="NINA",
            text=status.public_text(tenant.timezone),
            last_success=status.last_success_at,
            age_seconds=int(age.total_seconds()) if age is not None else None,
            stale=status.stale,
        )
    ]


def _entries(tenant: Any, now: datetime) -> list[WarningEntry]:
    entries = []
    for item in svc.public_alerts(db.session, tenant, now):
        info = item.alert.primary_info()
        entries.append(
            WarningEntry(
                identifier=item.record.identifier,
                headline=item.alert.headline,
                description=(info.description or "") if info else "",
                instruction=(info.instruction or "") if info else "",
                sender_name=item.record.sender_name,
                source_label=SOURCE_LABELS[Source(item.record.source)],
                sent=item.record.sent,
                expires=item.record.expires,
                severity=item.record.severity,
                warnstufe=item.presentation.warnstufe,
                msg_type=item.record.msg_type,
                status=item.record.status,
                area_desc=", ".join(a.area_desc for a in info.areas) if info else "",
                cap_url=_external("alerts_public.cap_document", identifier=item.record.identifier),
                web=info.web if info else None,
            )
        )
    return entries


@bp.get("/<tenant>/feeds/warnungen.atom")
def tenant_atom(tenant: str) -> Response:
    t = load_tenant(tenant)
    now = request_now()
    body = build_warning_atom(
        feed_id=_external("alerts_public.tenant_atom", tenant=t.slug),
        title=f"Warnungen – {t.name}",
        self_url=_external("alerts_public.tenant_atom", tenant=t.slug),
        updated=now,
        entries=_entries(t, now),
        sources=_sources(t, now),
    )
    response = Response(body, mimetype="application/atom+xml")
    response.headers["Cache-Control"] = "public, max-age=30"
    return response


@bp.get("/<tenant>/feeds/warnungen.json")
def tenant_json(tenant: str) -> Response:
    t = load_tenant(tenant)
    now = request_now()
    body = build_warning_json(
        title=f"Warnungen – {t.name}",
        self_url=_external("alerts_public.tenant_json", tenant=t.slug),
        updated=now,
        entries=_entries(t, now),
        sources=_sources(t, now),
    )
    response = Response(body, mimetype="application/json")
    response.headers["Cache-Control"] = "public, max-age=30"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get("/<tenant>/warnungen")
def tenant_warnings(tenant: str) -> Response:
    t = load_tenant(tenant)
    g.tenant = t
    now = request_now()
    status = nina_status(db.session, t, now, svc.policy_from_config(current_app.config))
    response = current_app.make_response(
        render_template(
            "public/warnings.html",
            tenant=t,
            now=now,
            warnings=public_warnings.active_warnings(db.session, t, now),
            all_clears=public_warnings.recent_all_clears(db.session, t, now),
            all_clear_hours=int(public_warnings.ALL_CLEARS_WITHIN.total_seconds() // 3600),
            nina_text=status.public_text(t.timezone),
            nina_stale=status.stale,
            warnstufen=WARNSTUFE_LABELS,
            language_name=public_warnings.language_name,
            html_lang=public_warnings.html_lang,
        )
    )
    response.headers["Cache-Control"] = "public, max-age=30"
    return response
