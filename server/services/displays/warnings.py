"""The manifest's ``warnings`` slot: active alerts for a display's place, as raw fields.

The priority-channel work renders takeover slides on top of this; the raw fields are
always present so a player can show a warning without any download.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from ...domain.alerts.policy import Behaviour
from ...domain.alerts.relevance import Place
from ...models import Tenant
from ..files import BlobStore
from .slides import blob, qr_svg, strip_bidi_deep

if TYPE_CHECKING:
    from .manifest import Part
    from .snapshot import DisplaySnapshot

_LANG_RE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
SEVERITIES = {"Extreme", "Severe", "Moderate", "Minor", "Unknown"}
STATUSES = {"Actual", "Exercise", "Test"}
MSG_TYPES = {"Alert", "Update", "Cancel"}


def _language(value: str | None) -> str:
    text = (value or "de").strip()
    head, _, rest = text.partition("-")
    text = head.lower() + (f"-{rest}" if rest else "")
    return text if _LANG_RE.match(text) else "de"


def _qr(store: BlobStore, url: str | None) -> dict[str, Any] | None:
    if not url:
        return None
    # A file of its own (shown by <img>), not inline markup: without the SVG namespace a
    # browser renders nothing.
    markup = qr_svg(url)
    if "xmlns=" not in markup.split(">", 1)[0]:
        markup = markup.replace("<svg", '<svg xmlns="http://www.w3.org/2000/svg"', 1)
    svg = ('<?xml version="1.0" encoding="utf-8"?>\n' + markup).encode()
    sha = store.put_bytes(svg)
    return {"url": url, "image": blob(sha, len(svg), "image/svg+xml")}


def _main_info(alert: Any) -> tuple[list[Any], Any]:
    """The info blocks with a headline, and the one to show first (German if any)."""
    infos = [i for i in alert.infos if (i.headline or "").strip()]
    german = next((i for i in infos if (i.language or "").lower().startswith("de")), None)
    return infos, german or (infos[0] if infos else None)


def _language_json(info: Any) -> dict[str, Any]:
    fields = {
        "language": _language(info.language),
        "event": info.event or None,
        "headline": (info.headline or "").strip(),
        "description": info.description,
        "instruction": info.instruction,
        "sender_name": info.sender_name,
        "web": info.web,
    }
    return {k: v for k, v in fields.items() if v is not None}


def _texts_json(record: Any, main: Any) -> dict[str, str]:
    """Headline, area, texts and sender of the first info block, with record fallbacks."""
    if main is None:
        return {
            "headline": record.headline or record.event or "Warnung",
            "area": "",
            "description": "",
            "instruction": "",
            "sender": record.sender_name or record.sender,
        }
    areas = [a.area_desc.strip() for a in main.areas if a.area_desc.strip()]
    return {
        "headline": main.headline or record.headline or record.event or "Warnung",
        "area": ", ".join(dict.fromkeys(areas)),
        "description": main.description or "",
        "instruction": main.instruction or "",
        "sender": main.sender_name or record.sender_name or record.sender,
    }


def _times_json(record: Any, all_clear: bool) -> dict[str, str | None]:
    from .manifest import isoz

    return {
        "sent": isoz(record.sent),
        "expires": isoz(record.expires) if record.expires and not all_clear else None,
        "entwarnung_until": isoz(record.all_clear_until)
        if all_clear and record.all_clear_until
        else None,
    }


def warning_json(item: Any, store: BlobStore, public_url: str | None = None) -> dict[str, Any]:
    """One :class:`~server.services.alerts.DisplayAlert` as the contract's ``warning``.

    The QR code links to the official message (CAP ``web``); a warning without one (a
    manual warning) links to ``public_url``, the tenant's public warning page."""
    record, alert, shown = item.record, item.alert, item.presentation
    infos, main = _main_info(alert)
    all_clear = shown.behaviour is Behaviour.ALL_CLEAR
    msg_type = "Cancel" if all_clear else record.msg_type
    texts = _texts_json(record, main)
    web = next((i.web for i in infos if i.web), None) or public_url
    times = _times_json(record, all_clear)
    return {
        "id": str(record.id),
        "identifier": record.identifier,
        "msg_type": msg_type if msg_type in MSG_TYPES else "Alert",
        "status": alert.status if alert.status in STATUSES else "Test",
        "behaviour": "takeover" if all_clear else shown.behaviour.value,
        "severity": record.severity if record.severity in SEVERITIES else "Unknown",
        "warnstufe": min(4, max(1, int(shown.warnstufe))),
        "headline": texts["headline"],
        "area": texts["area"],
        "description": texts["description"],
        "instruction": texts["instruction"],
        "sender": texts["sender"],
        "source": shown.source_label.removeprefix("Quelle: "),
        "sent": times["sent"],
        "expires": times["expires"],
        "languages": [_language_json(i) for i in infos]
        or [{"language": "de", "headline": texts["headline"]}],
        "qr": _qr(store, web),
        "slide": None,
        "entwarnung_until": times["entwarnung_until"],
    }


def build_warnings(
    session: Session,
    snap: DisplaySnapshot,
    now: datetime,
    store: BlobStore,
    policy: Any,
    base_url: str = "",
) -> Part:
    from ... import notify
    from ...services import alerts as alert_svc
    from .manifest import Part, scope_revisions
    from .sent import Ref

    tenant = session.get(Tenant, snap.tenant_id)
    assert tenant is not None
    active = alert_svc.active_alerts_for_place(
        session,
        tenant=tenant,
        place=Place(snap.place_ars),
        test_display=snap.test_display,
        now=now,
        policy=policy,
    )
    public_url = f"{base_url.rstrip('/')}/{tenant.slug}/warnungen" if base_url else None
    # Alert texts come from outside (NINA, CAP): no bidi control reaches a screen.
    warnings = [strip_bidi_deep(warning_json(a, store, public_url)) for a in active]
    fragment = json.dumps(warnings, ensure_ascii=False, separators=(",", ":"))
    moments = [m for a in active for m in (a.record.expires, a.record.all_clear_until) if m]
    future = [m for m in moments if m > now]
    blobs = {w["qr"]["image"]["sha256"]: "image/svg+xml" for w in warnings if w["qr"]}
    return Part(
        fragment=fragment,
        digest=hashlib.sha256(fragment.encode()).hexdigest(),
        blobs=blobs,
        expires_at=min(future) if future else None,
        revision=scope_revisions(session, (notify.ALERTS,)),
        built_for=now,
        refs=frozenset(Ref("alert", a.record.id) for a in active),
    )
