"""Feeds of active warnings for citizens' apps (W16): a CAP Atom index and JSON.

Pure builders: plain values in, bytes out; no server, Flask or SQLAlchemy imports.
The Atom feed follows the CAP-over-Atom convention: one entry per message, linking
to the full CAP 1.2 document (``type="application/cap+xml"``).
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

ATOM_NS = "http://www.w3.org/2005/Atom"
BERLIN = ZoneInfo("Europe/Berlin")


@dataclass(frozen=True)
class WarningEntry:
    """One warning as the feeds publish it (texts unaltered, W12)."""

    identifier: str
    headline: str
    description: str
    instruction: str
    sender_name: str
    source_label: str
    sent: datetime
    expires: datetime | None
    severity: str
    warnstufe: int
    msg_type: str
    status: str
    area_desc: str
    cap_url: str
    web: str | None = None


@dataclass(frozen=True)
class SourceStatus:
    """How current the data of one upstream source is (W3), said in the feeds so an
    app never mistakes "no warnings" for "no news"."""

    name: str  # e.g. "NINA"
    text: str  # German, for people
    last_success: datetime | None
    age_seconds: int | None
    stale: bool


def _iso(value: datetime) -> str:
    return value.astimezone(BERLIN).replace(microsecond=0).isoformat()


def build_warning_atom(
    *,
    feed_id: str,
    title: str,
    self_url: str,
    updated: datetime,
    entries: Sequence[WarningEntry],
    sources: Sequence[SourceStatus] = (),
) -> bytes:
    """An Atom 1.0 feed with one entry per warning, each linking its CAP document.

    The age of each source's last good data goes into the feed's ``subtitle``.
    """

    def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        el = ET.SubElement(parent, tag, attrs)
        if text is not None:
            el.text = text
        return el

    # Plain tag names with an explicit xmlns: Atom attributes (rel, href) are unqualified.
    root = ET.Element("feed", {"xmlns": ATOM_NS})
    sub(root, "id", feed_id)
    sub(root, "title", title)
    if sources:
        sub(root, "subtitle", " ".join(src.text for src in sources))
    sub(root, "updated", _iso(updated))
    sub(root, "link", rel="self", href=self_url, type="application/atom+xml")
    author = sub(root, "author")
    sub(author, "name", title)
    for e in entries:
        entry = sub(root, "entry")
        sub(entry, "id", e.cap_url)
        sub(entry, "title", e.headline)
        sub(entry, "updated", _iso(e.sent))
        sub(entry, "published", _iso(e.sent))
        a = sub(entry, "author")
        sub(a, "name", e.sender_name or e.source_label)
        sub(entry, "link", rel="alternate", href=e.cap_url, type="application/cap+xml")
        if e.web:
            sub(entry, "link", rel="related", href=e.web, type="text/html")
        summary = "\n\n".join(p for p in (e.description, e.instruction) if p)
        sub(entry, "summary", summary or e.headline)
        sub(entry, "category", term=e.severity, label=f"Warnstufe {e.warnstufe}")
    ET.indent(root, space="  ")
    body = ET.tostring(root, encoding="unicode")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n").encode("utf-8")


def build_warning_json(
    *,
    title: str,
    self_url: str,
    updated: datetime,
    entries: Sequence[WarningEntry],
    sources: Sequence[SourceStatus] = (),
) -> bytes:
    """The same warnings as JSON (UTF-8, stable field names), with the age of each
    source's last good data under ``sources``."""
    doc = {
        "title": title,
        "self": self_url,
        "updated": _iso(updated),
        "sources": [
            {
                "name": src.name,
                "lastSuccess": _iso(src.last_success) if src.last_success else None,
                "ageSeconds": src.age_seconds,
                "stale": src.stale,
                "status": src.text,
            }
            for src in sources
        ],
        "warnings": [
            {
                "identifier": e.identifier,
                "msgType": e.msg_type,
                "status": e.status,
                "headline": e.headline,
                "description": e.description,
                "instruction": e.instruction,
                "senderName": e.sender_name,
                "source": e.source_label,
                "sent": _iso(e.sent),
                "expires": _iso(e.expires) if e.expires else None,
                "severity": e.severity,
                "warnstufe": e.warnstufe,
                "areaDesc": e.area_desc,
                "web": e.web,
                "cap": e.cap_url,
            }
            for e in entries
        ],
    }
    return json.dumps(doc, ensure_ascii=False, indent=2).encode("utf-8")
