"""What the screen shows, decided from the manifest and the estimated server time.

Pure functions: no I/O, ``now`` is a parameter. The kiosk page receives the result as JSON
(the local state API: its keys are what ``player/kiosk/`` reads).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from player.manifest import Alert, Blob, Item, Manifest, crest_of, kommune_of

STATUS_LABELS = {"Actual": None, "Exercise": "Übung", "Test": "Test"}
DEFAULT_TZ = "Europe/Berlin"


@dataclass(frozen=True)
class Content:
    """What the player holds: the applied manifest's items and the current warnings.

    ``present`` is False before any manifest or warning ever arrived (nothing to call
    stale yet)."""

    items: tuple[Item, ...]
    warnings: tuple[Alert, ...]
    timezone: str | None
    display_name: str | None
    present: bool
    # Whether the server calls this a test display (W7); None where the manifest says nothing.
    test_display: bool | None = None
    # The head line (issue 16): the Kommune's name and crest, None where the manifest has none.
    kommune: str | None = None
    crest: Blob | None = None

    @classmethod
    def of(cls, manifest: Manifest | None, warnings: tuple[Alert, ...] | None = None) -> Content:
        """What the player holds with this manifest applied (its own warnings by default)."""
        alerts = manifest.warnings if manifest and warnings is None else (warnings or ())
        display = (manifest.raw.get("display") if manifest else None) or {}
        flag = display.get("test_display") if isinstance(display, dict) else None
        return cls(
            items=manifest.items if manifest else (),
            warnings=alerts,
            timezone=manifest.screen.timezone if manifest else None,
            display_name=manifest.display_name if manifest else None,
            present=manifest is not None or bool(alerts),
            test_display=flag if isinstance(flag, bool) else None,
            kommune=kommune_of(manifest),
            crest=crest_of(manifest),
        )


def next_change(items: Iterable[Item], warnings: Iterable[Alert], now: datetime) -> datetime | None:
    """The next instant at which the selection changes by time alone."""
    moments: list[datetime | None] = []
    for item in items:
        moments += [item.valid_from, item.valid_until]
    for warning in warnings:
        moments += [warning.expires, warning.entwarnung_until]
    future = [m for m in moments if m is not None and m > now]
    return min(future) if future else None


def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or DEFAULT_TZ)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TZ)


def _local(value: datetime | None, tz: ZoneInfo) -> str | None:
    return value.astimezone(tz).strftime("%d.%m.%Y %H:%M") if value else None


def _item_view(item: Item) -> dict[str, Any]:
    return {
        "id": item.id,
        "kind": item.kind,
        "title": item.title,
        "url": ("/assets/" if item.kind == "image" else "/slides/") + item.slide.sha256,
        "duration_s": item.duration_s,
        "max_pages": item.max_pages,
    }


def _file_url(prefix: str, blob: Blob | None, has_file: Callable[[str], bool]) -> str | None:
    return prefix + blob.sha256 if blob is not None and has_file(blob.sha256) else None


def _warning_view(warning: Alert, tz: ZoneInfo, has_file: Callable[[str], bool]) -> dict[str, Any]:
    # Raw fields are always there, so a warning never waits for a download.
    return {
        "id": warning.id,
        "behaviour": warning.behaviour,
        "msg_type": warning.msg_type,
        "entwarnung": warning.entwarnung,
        "status": warning.status,
        "label": STATUS_LABELS.get(warning.status),
        "severity": warning.severity,
        "headline": warning.headline,
        "description": warning.description,
        "instruction": warning.instruction,
        "sender": warning.sender,
        "source": warning.source,
        "sent_local": _local(warning.sent, tz),
        "expires_local": _local(warning.expires, tz),
        "languages": [block.to_json() for block in warning.languages],
        # For the kiosk's precedence rule and its warning page (Warnstufe, area on every page).
        "warnstufe": warning.raw.get("warnstufe"),
        "area": warning.raw.get("area", ""),
        "sent": warning.raw.get("sent"),
        "expires": warning.raw.get("expires"),
        "entwarnung_until": warning.raw.get("entwarnung_until"),
        "qr_url": warning.qr.url if warning.qr else None,
        "qr_image": _file_url("/assets/", warning.qr.image if warning.qr else None, has_file),
        "slide": _file_url("/slides/", warning.slide, has_file),
    }


def build_view(
    *,
    content: Content,
    now: datetime,
    has_file: Callable[[str], bool],
    enrolled: bool,
    pairing_code: str | None,
    last_contact: datetime | None,
    stale_after_s: float,
) -> dict[str, Any]:
    """The kiosk page's state. Items whose files are not (yet) verified are left out, so
    the screen never shows a half-downloaded or damaged slide."""
    tz = zone(content.timezone)
    shown = enrolled and content.present
    items = [
        _item_view(item)
        for item in (content.items if shown else ())
        if item.valid_at(now) and all(has_file(b.sha256) for b in item.blobs())
    ]
    warnings = [
        _warning_view(warning, tz, has_file)
        for warning in (content.warnings if shown else ())
        if warning.active_at(now)
    ]
    stale = last_contact is None or now - last_contact > timedelta(seconds=stale_after_s)
    return {
        "enrolled": enrolled,
        # The kiosk's precedence rule runs at this (server) time; the server filters by
        # display type already, so without the flag the page trusts that filter.
        "now": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "test_display": content.test_display,
        "pairing_code": None if enrolled else pairing_code,
        "display_name": content.display_name if enrolled else None,
        "timezone": content.timezone,
        "kommune": content.kommune if enrolled else None,
        "crest": _file_url("/assets/", content.crest, has_file) if enrolled else None,
        "items": items,
        "warnings": warnings,
        "stale": bool(enrolled and stale and content.present),
        "stand": last_contact.astimezone(tz).strftime("%d.%m. %H:%M") if last_contact else None,
    }


def takeover_active(view: dict[str, Any]) -> bool:
    return any(w["behaviour"] == "takeover" for w in view.get("warnings", []))


def current_alert(warnings: Sequence[Alert], now: datetime) -> str | None:
    """The first warning active at ``now`` (reported in the heartbeat)."""
    return next((w.id for w in warnings if w.active_at(now)), None)
