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

import xml.etree.ElementTree as ET  # only for ParseError; parsing goes through defusedxml
from typing import Any

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
    Info,
    Resource,
    ValuePair,
    cap_datetime,
)

from .cap_common import (
    CAP_NS,
    MAX_CAP_BYTES,
    CapError,
    CapForbiddenConstruct,
    CapInvalidValue,
    CapMalformed,
    CapMissingField,
    CapTooLarge,
    CapWrongNamespace,
    ParsedCap,
    _enum,
    _q,
    _when,
    parse_circle,
    parse_polygon,
    read_limited,
    safe_web,
)
from .cap_json import MAX_JSON_DEPTH, alert_from_cap_json, alert_to_cap_json, check_json_depth
from .cap_xml import build_cap_xml

__all__ = [
    "CAP_NS",
    "MAX_CAP_BYTES",
    "MAX_JSON_DEPTH",
    "CapError",
    "CapForbiddenConstruct",
    "CapInvalidValue",
    "CapMalformed",
    "CapMissingField",
    "CapTooLarge",
    "CapWrongNamespace",
    "ParsedCap",
    "alert_from_cap_json",
    "alert_to_cap_json",
    "build_cap_xml",
    "cap_datetime",
    "check_json_depth",
    "parse_cap",
    "parse_circle",
    "parse_polygon",
    "read_limited",
    "safe_web",
]

# --- XML in -------------------------------------------------------------------------


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


def _pairs(parent: Any, tag: str) -> tuple[ValuePair, ...]:
    result = []
    for el in parent.findall(_q(tag)):
        name = _text(el, "valueName")
        value = _text(el, "value", strip=False)
        if name is None or value is None:
            raise CapMissingField("valueName/value", tag)
        result.append(ValuePair(name, value))
    return tuple(result)


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
