"""CAP 1.2 XML out: the documents we generate and the XML form of messages received as JSON.

Element order follows the OASIS schema. Date-times are written as received when they
carry their literal (W11: byte-identical times, so ``references`` keep matching);
otherwise in Europe/Berlin with ``+01:00``/``+02:00``, never ``Z``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from datetime import datetime

from server.domain.alerts.model import Alert, Point, ValuePair, cap_datetime

from .cap_common import CAP_NS, _q


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
