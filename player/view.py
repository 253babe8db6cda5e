"""What the screen shows, decided from the manifest and the estimated server time.

Pure functions: no I/O, ``now`` is a parameter. The kiosk page receives the result as JSON.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from player.clock import parse_utc

STATUS_LABELS = {"Actual": None, "Exercise": "Übung", "Test": "Test"}
DEFAULT_TZ = "Europe/Berlin"


def item_is_valid(item: dict[str, Any], now: datetime) -> bool:
    """An item is shown from valid_from (inclusive) to valid_until (exclusive)."""
    if parse_utc(item["valid_from"]) > now:
        return False
    until = item.get("valid_until")
    return until is None or now < parse_utc(until)


def warning_is_active(warning: dict[str, Any], now: datetime) -> bool:
    """A Cancel stays (as Entwarnung) until entwarnung_until; others until they expire."""
    if warning.get("msg_type") == "Cancel":
        until = warning.get("entwarnung_until")
        return until is not None and now < parse_utc(until)
    expires = warning.get("expires")
    return expires is None or now < parse_utc(expires)


def next_change(manifest: dict[str, Any] | None, now: datetime) -> datetime | None:
    """The next instant at which the selection changes by time alone."""
    if not manifest:
        return None
    moments = []
    for item in manifest.get("items", []):
        moments += [item.get("valid_from"), item.get("valid_until")]
    for warning in manifest.get("warnings", []):
        moments += [warning.get("expires"), warning.get("entwarnung_until")]
    future = [m for m in (parse_utc(v) for v in moments if v) if m > now]
    return min(future) if future else None


def zone(manifest: dict[str, Any] | None) -> ZoneInfo:
    name = ((manifest or {}).get("screen") or {}).get("timezone") or DEFAULT_TZ
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TZ)


def _local(value: str | None, tz: ZoneInfo) -> str | None:
    if not value:
        return None
    return parse_utc(value).astimezone(tz).strftime("%d.%m.%Y %H:%M")


def _warning_view(warning: dict[str, Any], tz: ZoneInfo) -> dict[str, Any]:
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
        # For the kiosk's precedence rule and its warning page (Warnstufe, area on every page).
        "warnstufe": warning.get("warnstufe"),
        "area": warning.get("area", ""),
        "sent": warning.get("sent"),
        "expires": warning.get("expires"),
        "entwarnung_until": warning.get("entwarnung_until"),
        "qr_url": qr.get("url"),
        "qr_image": f"/assets/{qr['image']['sha256']}" if qr.get("image") else None,
        "slide": f"/slides/{warning['slide']['sha256']}" if warning.get("slide") else None,
    }


def build_view(
    *,
    manifest: dict[str, Any] | None,
    now: datetime,
    has_file: Callable[[str], bool],
    enrolled: bool,
    pairing_code: str | None,
    last_contact: datetime | None,
    stale_after_s: float,
) -> dict[str, Any]:
    """The kiosk page's state. Items whose files are not (yet) verified are left out, so
    the screen never shows a half-downloaded or damaged slide."""
    tz = zone(manifest)
    items: list[dict[str, Any]] = []
    warnings: list[dict[str, Any]] = []
    if manifest and enrolled:
        for item in manifest.get("items", []):
            if not item_is_valid(item, now):
                continue
            blobs = [item["slide"], *item.get("assets", [])]
            if not all(has_file(b["sha256"]) for b in blobs):
                continue
            items.append(
                {
                    "id": item["id"],
                    "kind": item["kind"],
                    "title": item.get("title", ""),
                    "url": ("/assets/" if item["kind"] == "image" else "/slides/")
                    + item["slide"]["sha256"],
                    "duration_s": item["duration_s"],
                }
            )
        for warning in manifest.get("warnings", []):
            if warning_is_active(warning, now):
                # Raw fields are always there, so a warning never waits for a download.
                view = _warning_view(warning, tz)
                if view["slide"] and not has_file(warning["slide"]["sha256"]):
                    view["slide"] = None
                if view["qr_image"] and not has_file(warning["qr"]["image"]["sha256"]):
                    view["qr_image"] = None
                warnings.append(view)
    stale = last_contact is None or now - last_contact > timedelta(seconds=stale_after_s)
    display = (manifest or {}).get("display") or {}
    return {
        "enrolled": enrolled,
        # The kiosk's precedence rule runs at this (server) time; the server filters by
        # display type already, so without the flag the page trusts that filter.
        "now": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "test_display": display.get("test_display"),
        "pairing_code": None if enrolled else pairing_code,
        "display_name": ((manifest or {}).get("display") or {}).get("name") if enrolled else None,
        "items": items,
        "warnings": warnings,
        "stale": bool(enrolled and stale and manifest is not None),
        "stand": last_contact.astimezone(tz).strftime("%d.%m. %H:%M") if last_contact else None,
    }


def takeover_active(view: dict[str, Any]) -> bool:
    return any(w["behaviour"] == "takeover" for w in view.get("warnings", []))
