"""CAP 1.2 in and out: safe parsing of XML and CAP-as-JSON, and generation of XML.

Incoming XML is parsed with defusedxml only, with DTDs forbidden outright: a CAP
message has no business declaring entities, so both external entities (XXE) and
entity expansion ("billion laughs") are refused before anything is expanded. Bodies
above the size limit (default 1 MB) are refused before parsing. Every refusal is a
specific :class:`CapError` with a German message; nothing is returned.

The raw bytes of a received document are kept unchanged (W14) next to the parsed
:class:`~server.domain.alerts.Alert`; the parsed message drops a ``web`` value that is
not an http(s) URL (:func:`safe_web`), so that it never becomes a link or a QR code. Generated documents follow the element order of
the OASIS schema and write times with ``+01:00``/``+02:00`` offsets (W11).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET  # generation only; parsing goes through defusedxml
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any, TypeVar
from urllib.parse import urlsplit

import defusedxml
import defusedxml.ElementTree as SafeET

from server.domain.alerts.model import (
    CATEGORIES,
    CERTAINTIES,
    MSG_TYPES,
    RESPONSE_TYPES,
    SCOPES,
    SEVERITIES,
    STATUSES,
    URGENCIES,
    Alert,
    Area,
    Circle,
    Info,
    InvalidCapDateTime,
    Point,
    Resource,
    ValuePair,
    cap_datetime,
    parse_cap_datetime,
)

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
MAX_CAP_BYTES = 1_000_000
_T = TypeVar("_T")


class CapError(ValueError):
    """A CAP document we refuse; ``message`` is German and safe to show."""

    status_code = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class CapTooLarge(CapError):
    status_code = 413

    def __init__(self, limit: int) -> None:
        super().__init__(f"Das CAP-Dokument ist zu groß (höchstens {limit // 1000} kB erlaubt).")
        self.limit = limit


class CapForbiddenConstruct(CapError):
    """DTDs, entity declarations or external references."""


class CapMalformed(CapError):
    """Not well-formed XML, or not a CAP alert at all."""


class CapWrongNamespace(CapError):
    def __init__(self, found: str) -> None:
        super().__init__(
            f"Falscher XML-Namensraum „{found or '(keiner)'}“: erwartet wird CAP 1.2 ({CAP_NS})."
        )
        self.found = found


class CapMissingField(CapError):
    def __init__(self, field: str, where: str = "alert") -> None:
        super().__init__(f"Pflichtfeld „{field}“ fehlt in <{where}>.")
        self.field = field
        self.where = where


class CapInvalidValue(CapError):
    def __init__(
        self,
        field: str,
        value: str,
        allowed: Iterable[str] | None = None,
        *,
        hint: str | None = None,
    ) -> None:
        hint = f" {hint}" if hint else ""
        if allowed is not None:
            hint = f" Erlaubt: {', '.join(allowed)}."
        shown = value if len(value) <= 80 else value[:77] + "…"
        super().__init__(f"Ungültiger Wert „{shown}“ für „{field}“.{hint}")
        self.field = field
        self.value = value


@dataclass(frozen=True)
class ParsedCap:
    """A received CAP document: the parsed message and the bytes exactly as received."""

    alert: Alert
    raw: bytes


def read_limited(stream: IO[bytes], max_bytes: int = MAX_CAP_BYTES) -> bytes:
    """Read at most ``max_bytes`` from a stream; raise :class:`CapTooLarge` beyond.

    Reads in chunks so that a 50 MB body is refused after ``max_bytes + 1`` bytes
    instead of being held in memory whole.
    """
    chunks: list[bytes] = []
    total = 0
    while True:
        chunk = stream.read(min(65536, max_bytes + 1 - total))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        total += len(chunk)
        if total > max_bytes:
            raise CapTooLarge(max_bytes)


# --- XML in -------------------------------------------------------------------------


def _q(tag: str) -> str:
    return f"{{{CAP_NS}}}{tag}"


def _text(parent: Any, tag: str, *, strip: bool = True) -> str | None:
    el = parent.find(_q(tag))
    if el is None:
        return None
    text = el.text or ""
    return text.strip() if strip else text


def _texts(parent: Any, tag: str) -> list[str]:
    return [(el.text or "").strip() for el in parent.findall(_q(tag))]


def _required(parent: Any, tag: str, where: str) -> str:
    value = _text(parent, tag)
    if not value:
        raise CapMissingField(tag, where)
    return value


def _enum(value: str, field: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise CapInvalidValue(field, value, allowed)
    return value


def _when(value: str | None, field: str) -> datetime | None:
    if value is None or value == "":
        return None
    try:
        return parse_cap_datetime(value)
    except InvalidCapDateTime as exc:
        reason = str(exc).split(": ", 1)[-1]
        raise CapInvalidValue(field, value, hint=reason[:1].upper() + reason[1:]) from None


def safe_web(value: str | None) -> str | None:
    """A CAP ``web`` value if it is an absolute http(s) URL, else ``None``.

    ``web`` becomes a link on the public page and in the feeds and a QR code on every
    display; a ``javascript:``, ``data:`` or ``file:`` value (or a bare ``//host``)
    must never become either. The raw document keeps the value as received (W14).
    """
    if not value:
        return None
    text = value.strip()
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in text):
        return None
    try:
        parts = urlsplit(text)
        host = parts.hostname
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not host:
        return None
    return text


def _pairs(parent: Any, tag: str) -> tuple[ValuePair, ...]:
    result = []
    for el in parent.findall(_q(tag)):
        name = _text(el, "valueName")
        value = _text(el, "value", strip=False)
        if name is None or value is None:
            raise CapMissingField("valueName/value", tag)
        result.append(ValuePair(name, value))
    return tuple(result)


def parse_polygon(text: str) -> tuple[Point, ...]:
    """``"lat,lon lat,lon …"`` → points; raises :class:`CapInvalidValue`."""
    points = []
    try:
        for pair in text.split():
            lat, lon = pair.split(",")
            points.append((float(lat), float(lon)))
    except ValueError:
        raise CapInvalidValue("polygon", text) from None
    if len(points) < 4:
        raise CapInvalidValue("polygon", text)
    return tuple(points)


def parse_circle(text: str) -> Circle:
    """``"lat,lon radius_km"`` → :class:`Circle`; raises :class:`CapInvalidValue`."""
    try:
        center, radius = text.split()
        lat, lon = center.split(",")
        return Circle((float(lat), float(lon)), float(radius))
    except ValueError:
        raise CapInvalidValue("circle", text) from None


def _area(el: Any) -> Area:
    return Area(
        area_desc=_required(el, "areaDesc", "area"),
        polygons=tuple(parse_polygon(t) for t in _texts(el, "polygon")),
        circles=tuple(parse_circle(t) for t in _texts(el, "circle")),
        geocodes=_pairs(el, "geocode"),
        altitude=_text(el, "altitude"),
        ceiling=_text(el, "ceiling"),
    )


def _resource(el: Any) -> Resource:
    size = _text(el, "size")
    try:
        size_value = int(size) if size else None
    except ValueError:
        raise CapInvalidValue("size", size or "") from None
    return Resource(
        resource_desc=_required(el, "resourceDesc", "resource"),
        mime_type=_required(el, "mimeType", "resource"),
        size=size_value,
        uri=_text(el, "uri"),
        digest=_text(el, "digest"),
    )


def _info(el: Any) -> Info:
    categories = tuple(_enum(c, "category", CATEGORIES) for c in _texts(el, "category"))
    if not categories:
        raise CapMissingField("category", "info")
    return Info(
        language=_text(el, "language") or "en-US",
        categories=categories,
        event=_required(el, "event", "info"),
        response_types=tuple(
            _enum(r, "responseType", RESPONSE_TYPES) for r in _texts(el, "responseType")
        ),
        urgency=_enum(_required(el, "urgency", "info"), "urgency", URGENCIES),
        severity=_enum(_required(el, "severity", "info"), "severity", SEVERITIES),
        certainty=_enum(_required(el, "certainty", "info"), "certainty", CERTAINTIES),
        audience=_text(el, "audience"),
        event_codes=_pairs(el, "eventCode"),
        effective=_when(_text(el, "effective"), "effective"),
        onset=_when(_text(el, "onset"), "onset"),
        expires=_when(_text(el, "expires"), "expires"),
        sender_name=_text(el, "senderName"),
        headline=_text(el, "headline", strip=False),
        description=_text(el, "description", strip=False),
        instruction=_text(el, "instruction", strip=False),
        web=safe_web(_text(el, "web")),
        contact=_text(el, "contact", strip=False),
        parameters=_pairs(el, "parameter"),
        resources=tuple(_resource(r) for r in el.findall(_q("resource"))),
        areas=tuple(_area(a) for a in el.findall(_q("area"))),
    )


def _alert(root: Any) -> Alert:
    sent_text = _required(root, "sent", "alert")
    sent = _when(sent_text, "sent")
    assert sent is not None
    return Alert(
        identifier=_required(root, "identifier", "alert"),
        sender=_required(root, "sender", "alert"),
        sent=sent,
        status=_enum(_required(root, "status", "alert"), "status", STATUSES),
        msg_type=_enum(_required(root, "msgType", "alert"), "msgType", MSG_TYPES),
        scope=_enum(_required(root, "scope", "alert"), "scope", SCOPES),
        source=_text(root, "source"),
        restriction=_text(root, "restriction"),
        addresses=_text(root, "addresses"),
        codes=tuple(_texts(root, "code")),
        note=_text(root, "note", strip=False),
        references=_text(root, "references"),
        incidents=_text(root, "incidents"),
        infos=tuple(_info(i) for i in root.findall(_q("info"))),
    )


def parse_cap(data: bytes, *, max_bytes: int = MAX_CAP_BYTES) -> ParsedCap:
    """Parse a CAP 1.2 XML document safely; raise a :class:`CapError` subclass if refused."""
    if len(data) > max_bytes:
        raise CapTooLarge(max_bytes)
    if not data.strip():
        raise CapMalformed("Leeres Dokument: erwartet wird eine CAP-1.2-Meldung (XML).")
    try:
        root = SafeET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except defusedxml.DTDForbidden:
        raise CapForbiddenConstruct(
            "Das Dokument enthält eine DTD (<!DOCTYPE …>). Aus Sicherheitsgründen werden "
            "DTDs, Entitäten und externe Verweise nicht verarbeitet."
        ) from None
    except defusedxml.EntitiesForbidden:
        raise CapForbiddenConstruct(
            "Das Dokument deklariert Entitäten. Aus Sicherheitsgründen werden Entitäten "
            "nicht aufgelöst."
        ) from None
    except defusedxml.DefusedXmlException:
        raise CapForbiddenConstruct(
            "Das Dokument enthält externe Verweise, die aus Sicherheitsgründen nicht "
            "verarbeitet werden."
        ) from None
    except ET.ParseError as exc:
        raise CapMalformed(f"Kein wohlgeformtes XML ({exc}).") from None
    tag = root.tag if isinstance(root.tag, str) else ""
    namespace, _, local = tag[1:].rpartition("}") if tag.startswith("{") else ("", "", tag)
    if namespace != CAP_NS:
        raise CapWrongNamespace(namespace)
    if local != "alert":
        raise CapMalformed(f"Wurzelelement <{local}> statt <alert>: keine CAP-Meldung.")
    return ParsedCap(alert=_alert(root), raw=data)


# --- CAP as JSON in (NINA and the control-centre API) --------------------------------

# A CAP message nests about seven levels deep (alert, info, area, geocode); anything
# far deeper is no CAP message, and 50,000 levels would exhaust the JSON decoder's stack.
MAX_JSON_DEPTH = 32
_JSON_STRUCTURE = re.compile(r'[\[\]{}"\\]')


def check_json_depth(text: str, limit: int = MAX_JSON_DEPTH) -> None:
    """Raise :class:`CapMalformed` if arrays/objects in ``text`` nest deeper than ``limit``.

    Runs before ``json.loads`` and in one pass: brackets inside strings do not count.
    """
    if text.count("[") + text.count("{") <= limit:
        return
    depth = 0
    in_string = False
    escaped_at = -1
    for match in _JSON_STRUCTURE.finditer(text):
        ch, at = match.group(), match.start()
        if in_string:
            if at == escaped_at:
                continue
            if ch == "\\":
                escaped_at = at + 1
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > limit:
                raise CapMalformed(
                    f"Das JSON ist zu tief verschachtelt (höchstens {limit} Ebenen): "
                    "so sieht keine CAP-Meldung aus."
                )
        elif ch in "]}":
            depth -= 1


def _j_str(obj: Mapping[str, Any], key: str, where: str, *, required: bool = False) -> str | None:
    value = obj.get(key)
    if value is None or value == "":
        if required:
            raise CapMissingField(key, where)
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise CapInvalidValue(key, repr(value))
    return value


def _j_list(obj: Mapping[str, Any], key: str, item: Callable[[Any], _T]) -> tuple[_T, ...]:
    value = obj.get(key)
    if value is None:
        return ()
    if not isinstance(value, list):
        value = [value]  # CAP-JSON converters emit a bare value for a single element
    return tuple(item(v) for v in value)


def _j_pair(where: str) -> Callable[[Any], ValuePair]:
    def convert(v: Any) -> ValuePair:
        if not isinstance(v, Mapping):
            raise CapInvalidValue(where, repr(v))
        name = _j_str(v, "valueName", where, required=True)
        value = v.get("value")
        assert name is not None
        return ValuePair(name, "" if value is None else str(value))

    return convert


def _j_enum(obj: Mapping[str, Any], key: str, where: str, allowed: tuple[str, ...]) -> str:
    value = _j_str(obj, key, where, required=True)
    assert value is not None
    return _enum(value, key, allowed)


def _j_str_item(field: str) -> Callable[[Any], str]:
    def convert(v: Any) -> str:
        if not isinstance(v, str):
            raise CapInvalidValue(field, repr(v))
        return v

    return convert


def _j_area(v: Any) -> Area:
    if not isinstance(v, Mapping):
        raise CapInvalidValue("area", repr(v))
    desc = _j_str(v, "areaDesc", "area", required=True)
    assert desc is not None
    return Area(
        area_desc=desc,
        polygons=_j_list(v, "polygon", lambda p: parse_polygon(str(p))),
        circles=_j_list(v, "circle", lambda c: parse_circle(str(c))),
        geocodes=_j_list(v, "geocode", _j_pair("geocode")),
        altitude=_j_str(v, "altitude", "area"),
        ceiling=_j_str(v, "ceiling", "area"),
    )


def _j_info(v: Any) -> Info:
    if not isinstance(v, Mapping):
        raise CapInvalidValue("info", repr(v))
    categories = _j_list(v, "category", _j_str_item("category"))
    if not categories:
        raise CapMissingField("category", "info")
    event = _j_str(v, "event", "info", required=True)
    assert event is not None
    return Info(
        language=_j_str(v, "language", "info") or "en-US",
        categories=tuple(_enum(c, "category", CATEGORIES) for c in categories),
        event=event,
        response_types=tuple(
            _enum(r, "responseType", RESPONSE_TYPES)
            for r in _j_list(v, "responseType", _j_str_item("responseType"))
        ),
        urgency=_j_enum(v, "urgency", "info", URGENCIES),
        severity=_j_enum(v, "severity", "info", SEVERITIES),
        certainty=_j_enum(v, "certainty", "info", CERTAINTIES),
        audience=_j_str(v, "audience", "info"),
        event_codes=_j_list(v, "eventCode", _j_pair("eventCode")),
        effective=_when(_j_str(v, "effective", "info"), "effective"),
        onset=_when(_j_str(v, "onset", "info"), "onset"),
        expires=_when(_j_str(v, "expires", "info"), "expires"),
        sender_name=_j_str(v, "senderName", "info"),
        headline=_j_str(v, "headline", "info"),
        description=_j_str(v, "description", "info"),
        instruction=_j_str(v, "instruction", "info"),
        web=safe_web(_j_str(v, "web", "info")),
        contact=_j_str(v, "contact", "info"),
        parameters=_j_list(v, "parameter", _j_pair("parameter")),
        areas=_j_list(v, "area", _j_area),
    )


def alert_from_cap_json(obj: Any) -> Alert:
    """Convert CAP-as-JSON (NINA ``/warnings/{id}.json``, our API) into an :class:`Alert`.

    Field names are the CAP element names; repeated elements are lists. Raises the
    same :class:`CapError` subclasses as :func:`parse_cap`.
    """
    if not isinstance(obj, Mapping):
        raise CapMalformed("Erwartet wird ein JSON-Objekt mit den Feldern einer CAP-Meldung.")
    sent = _when(_j_str(obj, "sent", "alert", required=True), "sent")
    assert sent is not None
    identifier = _j_str(obj, "identifier", "alert", required=True)
    sender = _j_str(obj, "sender", "alert", required=True)
    assert identifier is not None and sender is not None
    references = obj.get("references")
    if isinstance(references, list):  # some converters split the triples into a list
        references = " ".join(str(r) for r in references)
    return Alert(
        identifier=identifier,
        sender=sender,
        sent=sent,
        status=_j_enum(obj, "status", "alert", STATUSES),
        msg_type=_j_enum(obj, "msgType", "alert", MSG_TYPES),
        scope=_j_enum(obj, "scope", "alert", SCOPES),
        source=_j_str(obj, "source", "alert"),
        restriction=_j_str(obj, "restriction", "alert"),
        addresses=_j_str(obj, "addresses", "alert"),
        codes=_j_list(obj, "code", _j_str_item("code")),
        note=_j_str(obj, "note", "alert"),
        references=references if isinstance(references, str) and references else None,
        incidents=_j_str(obj, "incidents", "alert"),
        infos=_j_list(obj, "info", _j_info),
    )


# --- XML out ------------------------------------------------------------------------


def _sub(parent: ET.Element, tag: str, text: str | None) -> None:
    if text is not None:
        ET.SubElement(parent, _q(tag)).text = text


def _sub_pairs(parent: ET.Element, tag: str, pairs: Iterable[ValuePair]) -> None:
    for pair in pairs:
        el = ET.SubElement(parent, _q(tag))
        _sub(el, "valueName", pair.value_name)
        _sub(el, "value", pair.value)


def _fmt_point(point: Point) -> str:
    return f"{point[0]!r},{point[1]!r}"


def _when_out(value: datetime | None) -> str | None:
    return cap_datetime(value) if value is not None else None


def build_cap_xml(alert: Alert) -> bytes:
    """Serialise an :class:`Alert` as a CAP 1.2 document (UTF-8, XML declaration).

    Times are written in Europe/Berlin with an explicit offset; element order follows
    the schema, so the result validates against the OASIS XSD.
    """
    root = ET.Element(_q("alert"))
    _sub(root, "identifier", alert.identifier)
    _sub(root, "sender", alert.sender)
    _sub(root, "sent", cap_datetime(alert.sent))
    _sub(root, "status", alert.status)
    _sub(root, "msgType", alert.msg_type)
    _sub(root, "source", alert.source)
    _sub(root, "scope", alert.scope)
    _sub(root, "restriction", alert.restriction)
    _sub(root, "addresses", alert.addresses)
    for code in alert.codes:
        _sub(root, "code", code)
    _sub(root, "note", alert.note)
    _sub(root, "references", alert.references)
    _sub(root, "incidents", alert.incidents)
    for info in alert.infos:
        el = ET.SubElement(root, _q("info"))
        _sub(el, "language", info.language)
        for category in info.categories:
            _sub(el, "category", category)
        _sub(el, "event", info.event)
        for response in info.response_types:
            _sub(el, "responseType", response)
        _sub(el, "urgency", info.urgency)
        _sub(el, "severity", info.severity)
        _sub(el, "certainty", info.certainty)
        _sub(el, "audience", info.audience)
        _sub_pairs(el, "eventCode", info.event_codes)
        _sub(el, "effective", _when_out(info.effective))
        _sub(el, "onset", _when_out(info.onset))
        _sub(el, "expires", _when_out(info.expires))
        _sub(el, "senderName", info.sender_name)
        _sub(el, "headline", info.headline)
        _sub(el, "description", info.description)
        _sub(el, "instruction", info.instruction)
        _sub(el, "web", info.web)
        _sub(el, "contact", info.contact)
        _sub_pairs(el, "parameter", info.parameters)
        for resource in info.resources:
            res = ET.SubElement(el, _q("resource"))
            _sub(res, "resourceDesc", resource.resource_desc)
            _sub(res, "mimeType", resource.mime_type)
            _sub(res, "size", str(resource.size) if resource.size is not None else None)
            _sub(res, "uri", resource.uri)
            _sub(res, "digest", resource.digest)
        for area in info.areas:
            a = ET.SubElement(el, _q("area"))
            _sub(a, "areaDesc", area.area_desc)
            for polygon in area.polygons:
                _sub(a, "polygon", " ".join(_fmt_point(p) for p in polygon))
            for circle in area.circles:
                _sub(a, "circle", f"{_fmt_point(circle.center)} {circle.radius_km!r}")
            _sub_pairs(a, "geocode", area.geocodes)
            _sub(a, "altitude", area.altitude)
            _sub(a, "ceiling", area.ceiling)
    ET.indent(root, space="  ")
    body = ET.tostring(root, encoding="unicode", default_namespace=CAP_NS)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n").encode("utf-8")
