"""The kiosk page's ``local/state`` answer, built on the server for staff previews.

The player turns its manifest into the state its kiosk page draws
(``player/view.py``: ``build_view`` and ``_warning_view``). The server never imports
the player, so the same shape is built here from the same manifest data
(:func:`~server.services.displays.warnings.warning_json`); a test keeps the two in
step by feeding both the same manifest warning. Then the staff area can mount the real
kiosk page (HTML, CSS and JS, served as bytes) and what staff see is what a screen
draws.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ...domain.alerts import Alert, Presentation, Source
from ...models import AlertRecord
from ..files import BlobStore
from .slides import strip_bidi_deep
from .warnings import warning_json

STATUS_LABELS = {"Actual": None, "Exercise": "Übung", "Test": "Test"}
DEFAULT_TZ = "Europe/Berlin"
PREVIEW_ID = "vorschau"

# The kiosk page's files (``player/kiosk/``), served as static bytes. Found without
# importing the player package: the two sides never import each other.
KIOSK_FILES = {
    "index.html": "text/html; charset=utf-8",
    "kiosk.css": "text/css; charset=utf-8",
    "kiosk.js": "text/javascript; charset=utf-8",
    "paginate.js": "text/javascript; charset=utf-8",
    "precedence.js": "text/javascript; charset=utf-8",
    "warnings.js": "text/javascript; charset=utf-8",
    "board.js": "text/javascript; charset=utf-8",
}
# The player's own policy for the page (player/localserver.py), so the preview runs
# the page under the same restrictions as a screen does.
KIOSK_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "frame-src 'self'; connect-src 'self'; font-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'self'"
)


def kiosk_dir() -> Path | None:
    """``player/kiosk`` as installed beside the server (same wheel), or None."""
    spec = importlib.util.find_spec("player")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "kiosk"
    return path if path.is_dir() else None


def kiosk_file(name: str) -> bytes | None:
    """One of :data:`KIOSK_FILES`, or None if the player's files are not installed."""
    if name not in KIOSK_FILES:
        return None
    folder = kiosk_dir()
    if folder is None or not (folder / name).is_file():
        return None
    return (folder / name).read_bytes()


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or DEFAULT_TZ)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TZ)


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _local(value: str | None, tz: ZoneInfo) -> str | None:
    if not value:
        return None
    return _parse(value).astimezone(tz).strftime("%d.%m.%Y %H:%M")


def warning_view(
    warning: dict[str, Any], timezone: str | None, asset_url: Callable[[str], str]
) -> dict[str, Any]:
    """A manifest ``warning`` as the kiosk page receives it (``player.view._warning_view``).

    ``asset_url(sha256)``: where the page finds a blob; the player serves ``/assets/…``
    from its cache, a staff preview from its own mount."""
    tz = _zone(timezone)
    qr = warning.get("qr") or {}
    return {
        "id": warning["id"],
        "behaviour": warning["behaviour"],
        "msg_type": warning.get("msg_type", "Alert"),
        "entwarnung": warning.get("msg_type") == "Cancel",
        "status": warning["status"],
        "label": STATUS_LABELS.get(warning["status"]),
        "severity": warning.get("severity", "Unknown"),
        "headline": warning["headline"],
        "description": warning.get("description", ""),
        "instruction": warning.get("instruction", ""),
        "sender": warning.get("sender", ""),
        "source": warning.get("source", ""),
        "sent_local": _local(warning.get("sent"), tz),
        "expires_local": _local(warning.get("expires"), tz),
        "languages": warning.get("languages", []),
        "warnstufe": warning.get("warnstufe"),
        "area": warning.get("area", ""),
        "sent": warning.get("sent"),
        "expires": warning.get("expires"),
        "entwarnung_until": warning.get("entwarnung_until"),
        "qr_url": qr.get("url"),
        "qr_image": asset_url(qr["image"]["sha256"]) if qr.get("image") else None,
        "slide": None,  # rendered warning slides are not in use; raw fields are drawn
    }


def _item_is_valid(item: dict[str, Any], now: datetime) -> bool:
    if _parse(item["valid_from"]) > now:
        return False
    until = item.get("valid_until")
    return until is None or now < _parse(until)


def _warning_is_active(warning: dict[str, Any], now: datetime) -> bool:
    if warning.get("msg_type") == "Cancel":
        until = warning.get("entwarnung_until")
        return until is not None and now < _parse(until)
    expires = warning.get("expires")
    return expires is None or now < _parse(expires)


def manifest_state(
    manifest: dict[str, Any],
    now: datetime,
    *,
    blob_url: Callable[[str], str],
    has_file: Callable[[str], bool] = lambda sha: True,
) -> dict[str, Any]:
    """The whole ``local/state`` answer for an enrolled screen holding ``manifest``
    (``player.view.build_view``, with ``rev``): valid items whose files exist, active
    warnings. ``blob_url(sha256)``: where the page finds a slide or asset (the kiosk
    page compares a slide frame's path with it, so an absolute path)."""
    tz_name = (manifest.get("screen") or {}).get("timezone")
    items = []
    for item in manifest.get("items", []):
        if not _item_is_valid(item, now):
            continue
        blobs = [item["slide"], *item.get("assets", [])]
        if not all(has_file(b["sha256"]) for b in blobs):
            continue
        items.append(
            {
                "id": item["id"],
                "kind": item["kind"],
                "title": item.get("title", ""),
                "url": blob_url(item["slide"]["sha256"]),
                "duration_s": item["duration_s"],
                "max_pages": item.get("max_pages"),
            }
        )
    warnings = [
        warning_view(w, tz_name, blob_url)
        for w in manifest.get("warnings", [])
        if _warning_is_active(w, now)
    ]
    display = manifest.get("display") or {}
    flag = display.get("test_display")
    board = manifest.get("board") or {}
    crest = board.get("crest")
    state = {
        "enrolled": True,
        # The kiosk's precedence rule runs at this time (player.view.build_view).
        "now": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "test_display": flag if isinstance(flag, bool) else None,
        "pairing_code": None,
        "display_name": (manifest.get("display") or {}).get("name"),
        "timezone": tz_name,
        "kommune": board.get("kommune"),
        "crest": blob_url(crest["sha256"]) if crest and has_file(crest["sha256"]) else None,
        "items": items,
        "warnings": warnings,
        "stale": False,
        "stand": None,
    }
    # The revision follows the content: a long-poll sees a change as soon as the
    # manifest or the time changes what the screen shows.
    digest = hashlib.sha256(json.dumps(state, sort_keys=True).encode()).digest()
    return {"rev": int.from_bytes(digest[:6], "big"), **state}


class _Draft:
    """What :func:`warning_json` reads of a stored alert, for a message not stored."""

    def __init__(self, record: AlertRecord, alert: Alert, presentation: Presentation) -> None:
        self.record = record
        self.alert = alert
        self.presentation = presentation


def draft_warning(
    alert: Alert,
    shown: Presentation,
    store: BlobStore,
    policy: Any,
    public_url: str | None = None,
) -> dict[str, Any]:
    """A message that is not issued yet as the manifest's ``warning``: the same code
    builds it as for an issued one (the record is transient, never added to a session)."""
    from ..alerts import _fill_header

    record = AlertRecord()
    _fill_header(record, alert, Source.MANUAL, policy)
    record.all_clear_until = None
    warning = strip_bidi_deep(warning_json(_Draft(record, alert, shown), store, public_url))
    warning["id"] = PREVIEW_ID
    return warning
