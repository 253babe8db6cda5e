"""The preview of a draft warning on the real kiosk page (issue 13).

Nothing of a draft is stored on the server: the form travels signed in the iframe's
URL (:func:`draft_token`) and is validated again when the kiosk page asks for it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import current_app, url_for
from itsdangerous import BadData, URLSafeTimedSerializer
from werkzeug.datastructures import MultiDict

from ...domain.alerts import Source
from ...domain.alerts.relevance import warning_ars_codes
from ...domain.errors import NotFound
from ...extensions import db
from ...models import Tenant
from ...services import alert_delivery
from ...services import alerts as svc
from ...services.displays.reports import is_online
from .alert_forms import FIELDS, _form_input, _policy

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
