"""What the player needs to know about protocol v1 (the JSON Schema in contract/ is the
reference; the player itself has no jsonschema dependency, so it checks what it relies on)."""

from __future__ import annotations

from typing import Any

from player.cache import SHA256_RE
from player.clock import parse_utc

API_PREFIX = "/api/player/v1/"
ITEM_KINDS = {"notice", "image", "page"}
BEHAVIOURS = {"takeover", "alternate", "banner"}
STATUSES = {"Actual", "Exercise", "Test"}


class ProtocolError(ValueError):
    """The server sent something this player cannot use; the last good state stays."""


def _blob(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ProtocolError(f"{where}: kein Objekt")
    sha, size = value.get("sha256"), value.get("size")
    if not isinstance(sha, str) or not SHA256_RE.match(sha):
        raise ProtocolError(f"{where}: ungültiger sha256")
    if not isinstance(size, int) or size < 0:
        raise ProtocolError(f"{where}: ungültige Größe")
    if not isinstance(value.get("media_type"), str):
        raise ProtocolError(f"{where}: media_type fehlt")
    return value


def _time(value: Any, where: str, nullable: bool = False) -> None:
    if value is None and nullable:
        return
    try:
        parse_utc(value)
    except (TypeError, ValueError, AttributeError):
        raise ProtocolError(f"{where}: ungültige Zeitangabe") from None


def check_manifest(data: Any) -> dict[str, Any]:
    """Return ``data`` when it is a usable v1 manifest, else raise ProtocolError."""
    if not isinstance(data, dict) or data.get("protocol") != 1:
        raise ProtocolError("kein Manifest der Protokollversion 1")
    for key in ("server_time", "display", "etag", "items", "warnings", "screen"):
        if key not in data:
            raise ProtocolError(f"Manifest ohne {key}")
    _time(data["server_time"], "server_time")
    if not isinstance(data["items"], list) or not isinstance(data["warnings"], list):
        raise ProtocolError("items/warnings sind keine Listen")
    for n, item in enumerate(data["items"]):
        where = f"items[{n}]"
        if not isinstance(item, dict) or item.get("kind") not in ITEM_KINDS:
            raise ProtocolError(f"{where}: unbekannte Art")
        if not isinstance(item.get("id"), str):
            raise ProtocolError(f"{where}: id fehlt")
        _blob(item.get("slide"), f"{where}.slide")
        for m, blob in enumerate(item.get("assets", [])):
            _blob(blob, f"{where}.assets[{m}]")
        _time(item.get("valid_from"), f"{where}.valid_from")
        _time(item.get("valid_until"), f"{where}.valid_until", nullable=True)
        if not isinstance(item.get("duration_s"), int) or item["duration_s"] < 1:
            raise ProtocolError(f"{where}: duration_s ungültig")
    for n, warning in enumerate(data["warnings"]):
        where = f"warnings[{n}]"
        if not isinstance(warning, dict) or not isinstance(warning.get("id"), str):
            raise ProtocolError(f"{where}: id fehlt")
        if warning.get("behaviour") not in BEHAVIOURS or warning.get("status") not in STATUSES:
            raise ProtocolError(f"{where}: behaviour/status ungültig")
        if not isinstance(warning.get("headline"), str) or not warning.get("languages"):
            raise ProtocolError(f"{where}: headline/languages fehlen")
        _time(warning.get("sent"), f"{where}.sent")
        _time(warning.get("expires"), f"{where}.expires", nullable=True)
        _time(warning.get("entwarnung_until"), f"{where}.entwarnung_until", nullable=True)
        if warning.get("slide") is not None:
            _blob(warning["slide"], f"{where}.slide")
        qr = warning.get("qr")
        if qr is not None and qr.get("image") is not None:
            _blob(qr["image"], f"{where}.qr.image")
    return data


def manifest_blobs(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every file the manifest refers to, by hash."""
    blobs: dict[str, dict[str, Any]] = {}
    for item in manifest.get("items", []):
        blobs[item["slide"]["sha256"]] = item["slide"]
        for blob in item.get("assets", []):
            blobs[blob["sha256"]] = blob
    for warning in manifest.get("warnings", []):
        if warning.get("slide"):
            blobs[warning["slide"]["sha256"]] = warning["slide"]
        qr = warning.get("qr") or {}
        if qr.get("image"):
            blobs[qr["image"]["sha256"]] = qr["image"]
    return blobs
