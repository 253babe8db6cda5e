"""CAP as JSON (NINA ``/warnings/{id}.json``, the control-centre API): in and out.

Field names are the CAP element names, repeated elements are lists. Date-times keep the
literal they were received with (:class:`~server.domain.alerts.model.CapDateTime`), so
JSON → XML → JSON changes no ``sent``, and later ``references`` still match (W11).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar

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
    ValuePair,
    cap_datetime,
)

from .cap_common import (
    CapInvalidValue,
    CapMalformed,
    CapMissingField,
    _enum,
    _when,
    parse_circle,
    parse_polygon,
    safe_web,
)

_T = TypeVar("_T")

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


# --- out ------------------------------------------------------------------------------


def _drop_empty(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if v not in (None, (), [], "")}


def _pairs_out(pairs: tuple[ValuePair, ...]) -> list[dict[str, str]]:
    return [{"valueName": p.value_name, "value": p.value} for p in pairs]


def _when_out(value: datetime | None) -> str | None:
    return cap_datetime(value) if value is not None else None


def _area_out(area: Area) -> dict[str, Any]:
    return _drop_empty(
        {
            "areaDesc": area.area_desc,
            "polygon": [" ".join(f"{lat!r},{lon!r}" for lat, lon in p) for p in area.polygons],
            "circle": [f"{c.center[0]!r},{c.center[1]!r} {c.radius_km!r}" for c in area.circles],
            "geocode": _pairs_out(area.geocodes),
            "altitude": area.altitude,
            "ceiling": area.ceiling,
        }
    )


def _info_out(info: Info) -> dict[str, Any]:
    return _drop_empty(
        {
            "language": info.language,
            "category": list(info.categories),
            "event": info.event,
            "responseType": list(info.response_types),
            "urgency": info.urgency,
            "severity": info.severity,
            "certainty": info.certainty,
            "audience": info.audience,
            "eventCode": _pairs_out(info.event_codes),
            "effective": _when_out(info.effective),
            "onset": _when_out(info.onset),
            "expires": _when_out(info.expires),
            "senderName": info.sender_name,
            "headline": info.headline,
            "description": info.description,
            "instruction": info.instruction,
            "web": info.web,
            "contact": info.contact,
            "parameter": _pairs_out(info.parameters),
            "area": [_area_out(a) for a in info.areas],
        }
    )


def alert_to_cap_json(alert: Alert) -> dict[str, Any]:
    """An :class:`Alert` as CAP-as-JSON, the inverse of :func:`alert_from_cap_json`."""
    return _drop_empty(
        {
            "identifier": alert.identifier,
            "sender": alert.sender,
            "sent": cap_datetime(alert.sent),
            "status": alert.status,
            "msgType": alert.msg_type,
            "source": alert.source,
            "scope": alert.scope,
            "restriction": alert.restriction,
            "addresses": alert.addresses,
            "code": list(alert.codes),
            "note": alert.note,
            "references": alert.references,
            "incidents": alert.incidents,
            "info": [_info_out(i) for i in alert.infos],
        }
    )
