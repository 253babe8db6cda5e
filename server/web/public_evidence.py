"""The Aushangvermerk (L16) on the web: for staff in full (JSON and PDF), and where the
Internet publication is binding, as public proof of the Bereitstellung without the
staff's contact details (issue 17, build 1)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from flask import Response, abort, current_app, g

from ..models import Notice
from ..security import tenant_staff_required
from ..services import evidence, printing
from ..services import notices as svc
from .clock import request_now
from .public_common import _load_notice, _tenant, bp, public_url


def _vermerk(number: str) -> dict[str, Any]:
    t = g.tenant
    now = request_now()
    n = _load_notice(t, number)
    if n.current_version is None:
        abort(404, "Für nie freigegebene Bekanntmachungen gibt es keinen Aushangvermerk.")
    return evidence.build_aushangvermerk(
        n,
        now,
        public_url=public_url(t, n.number),
        extra_channels=current_app.extensions.get("aushang_evidence_channels", ()),
    )


@bp.route("/<tenant>/bekanntmachungen/<number>/aushangvermerk.json")
@tenant_staff_required()
def aushangvermerk_json(number: str):
    record = _vermerk(number)
    body = json.dumps(record, ensure_ascii=False, indent=2, sort_keys=True)
    response = Response(body, mimetype="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="aushangvermerk-{number}.json"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/<tenant>/bekanntmachungen/<number>/aushangvermerk.pdf")
@tenant_staff_required()
def aushangvermerk_pdf(number: str):
    record = _vermerk(number)
    response = Response(printing.aushangvermerk_pdf(record), mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="aushangvermerk-{number}.pdf"'
    response.headers["Cache-Control"] = "no-store"
    return response


# --- public proof ------------------------------------------------------------------------


def proof_available(notice: Notice, now: datetime) -> bool:
    """Whether the public page offers the Aushangvermerk: where the Internet publication
    is a binding form (the Bereitstellung is what makes the notice effective, so anyone
    may see when and how it was provided) and the notice is publicly visible."""
    if notice.current_version is None or not svc.is_public(notice, now):
        return False
    return "internet" in evidence.binding_kinds(notice)


def _without_contacts(value: Any) -> Any:
    """The record without staff e-mail addresses: names stay (they sign officially)."""
    if isinstance(value, dict):
        return {k: _without_contacts(v) for k, v in value.items() if k != "email"}
    if isinstance(value, list):
        return [_without_contacts(v) for v in value]
    return value


def _public_vermerk(tenant: str, number: str) -> dict[str, Any]:
    t = _tenant(tenant)
    now = request_now()
    n = _load_notice(t, number)
    if not proof_available(n, now):
        abort(404, "Für diese Bekanntmachung gibt es keinen öffentlichen Aushangvermerk.")
    record = evidence.build_aushangvermerk(
        n,
        now,
        public_url=public_url(t, n.number),
        extra_channels=current_app.extensions.get("aushang_evidence_channels", ()),
    )
    record = _without_contacts(record)
    record["public"] = True
    return record


@bp.route("/<tenant>/bekanntmachungen/<number>/nachweis.json")
def public_proof_json(tenant: str, number: str):
    record = _public_vermerk(tenant, number)
    body = json.dumps(record, ensure_ascii=False, indent=2, sort_keys=True)
    response = Response(body, mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/<tenant>/bekanntmachungen/<number>/nachweis.pdf")
def public_proof_pdf(tenant: str, number: str):
    record = _public_vermerk(tenant, number)
    response = Response(printing.aushangvermerk_pdf(record), mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="aushangvermerk-{number}.pdf"'
    response.headers["Cache-Control"] = "no-store"
    return response
