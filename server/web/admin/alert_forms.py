"""The Schadenslage form of the staff area (W10): reading and prefilling its fields.

Shared by the alert pages (:mod:`.alerts`) and the kiosk preview of a draft
(:mod:`.alert_drafts`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app, request

from ...domain.alerts import TEMPLATES, template
from ...domain.errors import ValidationFailed
from ...models import Tenant
from ...services import alerts as svc

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
