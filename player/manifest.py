"""The manifest of protocol v1, checked into frozen dataclasses.

The JSON Schema in ``contract/`` is the reference; the player has no jsonschema dependency,
so ``parse_manifest`` checks what the player relies on and raises :class:`ProtocolError`
otherwise. The document as the server sent it stays beside the parsed values (``raw``): it
is what the player writes to disk, unchanged, so a cache written by one version is read by
the next.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from player.cache import SHA256_RE
from player.clock import parse_utc
from player.protocol import ProtocolError

ITEM_KINDS = {"notice", "image", "page"}
BEHAVIOURS = {"takeover", "alternate", "banner"}
STATUSES = {"Actual", "Exercise", "Test"}
INFO_FIELDS = ("language", "event", "headline", "description", "instruction", "sender_name", "web")

Json = Mapping[str, Any]


@dataclass(frozen=True)
class Blob:
    """A content-addressed file: ``GET assets/<sha256>``."""

    sha256: str
    size: int
    media_type: str


@dataclass(frozen=True)
class Item:
    """One entry of the rotation, shown from valid_from (inclusive) to valid_until (exclusive)."""

    id: str
    kind: str
    title: str
    notice_id: str | None
    version_hash: str | None
    slide: Blob
    assets: tuple[Blob, ...]
    valid_from: datetime
    valid_until: datetime | None
    duration_s: int
    max_pages: int | None = None  # pages per cycle (issue 16); None: all

    def blobs(self) -> tuple[Blob, ...]:
        return (self.slide, *self.assets)

    def valid_at(self, now: datetime) -> bool:
        return self.valid_from <= now and (self.valid_until is None or now < self.valid_until)


@dataclass(frozen=True)
class InfoBlock:
    """One language of a warning; only the fields the server sent."""

    fields: tuple[tuple[str, str], ...]

    def to_json(self) -> dict[str, str]:
        return dict(self.fields)


@dataclass(frozen=True)
class Qr:
    url: str | None
    image: Blob | None


@dataclass(frozen=True)
class Alert:
    """A warning (``warnings[]`` in the protocol; ``Warning`` is a Python builtin)."""

    id: str
    behaviour: str
    msg_type: str
    status: str
    severity: str
    headline: str
    description: str
    instruction: str
    sender: str
    source: str
    sent: datetime
    expires: datetime | None
    entwarnung_until: datetime | None
    languages: tuple[InfoBlock, ...]
    qr: Qr | None
    slide: Blob | None
    raw: Json = field(compare=False, repr=False)

    @property
    def entwarnung(self) -> bool:
        return self.msg_type == "Cancel"

    def active_at(self, now: datetime) -> bool:
        """A Cancel stays (as Entwarnung) until entwarnung_until; others until they expire."""
        if self.entwarnung:
            return self.entwarnung_until is not None and now < self.entwarnung_until
        return self.expires is None or now < self.expires

    def blobs(self) -> tuple[Blob, ...]:
        qr_image = self.qr.image if self.qr else None
        return tuple(b for b in (self.slide, qr_image) if b is not None)


@dataclass(frozen=True)
class Screen:
    """Screen hours. The entries stay as sent: ``player.screen`` validates them itself, and
    a schedule it cannot read must not cost the content (it only switches the screen on)."""

    timezone: str | None
    schedule: tuple[Any, ...]


@dataclass(frozen=True)
class Manifest:
    etag: str
    revision: int | None
    server_time: datetime
    display_id: str | None
    display_name: str | None
    items: tuple[Item, ...]
    warnings: tuple[Alert, ...]
    screen: Screen
    raw: Json = field(compare=False, repr=False)

    def item(self, item_id: str) -> Item | None:
        return next((i for i in self.items if i.id == item_id), None)


# -- checking -------------------------------------------------------------------------------


def _object(value: Any, where: str) -> Json:
    if not isinstance(value, dict):
        raise ProtocolError(f"{where}: kein Objekt")
    return value


def _blob(value: Any, where: str) -> Blob:
    value = _object(value, where)
    sha, size, media_type = value.get("sha256"), value.get("size"), value.get("media_type")
    if not isinstance(sha, str) or not SHA256_RE.match(sha):
        raise ProtocolError(f"{where}: ungültiger sha256")
    if not isinstance(size, int) or size < 0:
        raise ProtocolError(f"{where}: ungültige Größe")
    if not isinstance(media_type, str):
        raise ProtocolError(f"{where}: media_type fehlt")
    return Blob(sha, size, media_type)


def _time(value: Any, where: str) -> datetime:
    try:
        return parse_utc(value)
    except (TypeError, ValueError, AttributeError):
        raise ProtocolError(f"{where}: ungültige Zeitangabe") from None


def _optional_time(value: Any, where: str) -> datetime | None:
    return None if value is None else _time(value, where)


def _text(value: Any, default: str = "") -> str:
    return value if isinstance(value, str) else default


def _optional_text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise ProtocolError(f"{where}: keine Liste")
    return value


def parse_item(data: Any, where: str) -> Item:
    if not isinstance(data, dict) or data.get("kind") not in ITEM_KINDS:
        raise ProtocolError(f"{where}: unbekannte Art")
    if not isinstance(data.get("id"), str):
        raise ProtocolError(f"{where}: id fehlt")
    slide = _blob(data.get("slide"), f"{where}.slide")
    assets = tuple(
        _blob(b, f"{where}.assets[{m}]")
        for m, b in enumerate(_list(data.get("assets", []), f"{where}.assets"))
    )
    valid_from = _time(data.get("valid_from"), f"{where}.valid_from")
    valid_until = _optional_time(data.get("valid_until"), f"{where}.valid_until")
    duration = data.get("duration_s")
    if not isinstance(duration, int) or duration < 1:
        raise ProtocolError(f"{where}: duration_s ungültig")
    return Item(
        id=data["id"],
        kind=data["kind"],
        title=_text(data.get("title")),
        notice_id=_optional_text(data.get("notice_id")),
        version_hash=_optional_text(data.get("version_hash")),
        slide=slide,
        assets=assets,
        valid_from=valid_from,
        valid_until=valid_until,
        duration_s=duration,
        max_pages=cap if isinstance(cap := data.get("max_pages"), int) and cap >= 1 else None,
    )


def _info_block(value: Any, where: str) -> InfoBlock:
    value = _object(value, where)
    return InfoBlock(tuple((k, value[k]) for k in INFO_FIELDS if isinstance(value.get(k), str)))


def _qr(value: Any, where: str) -> Qr | None:
    if value is None:
        return None
    value = _object(value, where)
    image = value.get("image")
    return Qr(
        url=_optional_text(value.get("url")),
        image=None if image is None else _blob(image, f"{where}.image"),
    )


def parse_alert(data: Any, where: str = "warning") -> Alert:
    if not isinstance(data, dict) or not isinstance(data.get("id"), str):
        raise ProtocolError(f"{where}: id fehlt")
    if data.get("behaviour") not in BEHAVIOURS or data.get("status") not in STATUSES:
        raise ProtocolError(f"{where}: behaviour/status ungültig")
    languages = data.get("languages")
    if not isinstance(data.get("headline"), str) or not languages:
        raise ProtocolError(f"{where}: headline/languages fehlen")
    slide = data.get("slide")
    return Alert(
        id=data["id"],
        behaviour=data["behaviour"],
        msg_type=_text(data.get("msg_type"), "Alert"),
        status=data["status"],
        severity=_text(data.get("severity"), "Unknown"),
        headline=data["headline"],
        description=_text(data.get("description")),
        instruction=_text(data.get("instruction")),
        sender=_text(data.get("sender")),
        source=_text(data.get("source")),
        sent=_time(data.get("sent"), f"{where}.sent"),
        expires=_optional_time(data.get("expires"), f"{where}.expires"),
        entwarnung_until=_optional_time(data.get("entwarnung_until"), f"{where}.entwarnung_until"),
        languages=tuple(
            _info_block(b, f"{where}.languages[{n}]")
            for n, b in enumerate(_list(languages, f"{where}.languages"))
        ),
        qr=_qr(data.get("qr"), f"{where}.qr"),
        slide=None if slide is None else _blob(slide, f"{where}.slide"),
        raw=data,
    )


def parse_alerts(data: Any) -> tuple[Alert, ...]:
    return tuple(parse_alert(w, f"warnings[{n}]") for n, w in enumerate(_list(data, "warnings")))


def _screen(value: Any) -> Screen:
    screen = value if isinstance(value, dict) else {}
    schedule = screen.get("schedule") or []
    return Screen(
        timezone=_optional_text(screen.get("timezone")) or None,
        schedule=tuple(schedule) if isinstance(schedule, list) else (),
    )


def parse_manifest(data: Any) -> Manifest:
    """The manifest in ``data`` when it is a usable v1 manifest, else raise ProtocolError."""
    if not isinstance(data, dict) or data.get("protocol") != 1:
        raise ProtocolError("kein Manifest der Protokollversion 1")
    for key in ("server_time", "display", "etag", "items", "warnings", "screen"):
        if key not in data:
            raise ProtocolError(f"Manifest ohne {key}")
    server_time = _time(data["server_time"], "server_time")
    if not isinstance(data["items"], list) or not isinstance(data["warnings"], list):
        raise ProtocolError("items/warnings sind keine Listen")
    items = tuple(parse_item(item, f"items[{n}]") for n, item in enumerate(data["items"]))
    display = data["display"] if isinstance(data["display"], dict) else {}
    revision = data.get("revision")
    return Manifest(
        etag=str(data["etag"]),
        revision=revision if isinstance(revision, int) else None,
        server_time=server_time,
        display_id=None if display.get("id") is None else str(display["id"]),
        display_name=_optional_text(display.get("name")),
        items=items,
        warnings=parse_alerts(data["warnings"]),
        screen=_screen(data["screen"]),
        raw=data,
    )


def crest_of(manifest: Manifest | None) -> Blob | None:
    """The Kommune's crest of the manifest's optional ``board``; None when there is none or
    it is unusable (a head line without a crest, never a lost manifest)."""
    board = manifest.raw.get("board") if manifest else None
    crest = board.get("crest") if isinstance(board, dict) else None
    if crest is None:
        return None
    try:
        return _blob(crest, "board.crest")
    except ProtocolError:
        return None


def kommune_of(manifest: Manifest | None) -> str | None:
    board = manifest.raw.get("board") if manifest else None
    name = board.get("kommune") if isinstance(board, dict) else None
    return name if isinstance(name, str) and name.strip() else None


def blobs_of(items: Iterable[Item], alerts: Iterable[Alert]) -> dict[str, Blob]:
    """Every file the items and warnings refer to, by hash."""
    found: dict[str, Blob] = {}
    for item in items:
        found.update((b.sha256, b) for b in item.blobs())
    for alert in alerts:
        found.update((b.sha256, b) for b in alert.blobs())
    return found
