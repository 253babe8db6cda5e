"""OParl 1.0/1.1 meetings → draft Sitzungsbekanntmachungen (pure mapping, no I/O).

The source adapter (``server.sources.oparl``) fetches a Meeting and replaces references
(URLs) by the objects they point to; this module turns the resulting JSON into a
:class:`MeetingNoticeDraft` with German text. Only agenda items marked ``public: true``
are kept: a public notice board must not show non-public items (L21).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

_TYPE = re.compile(r"^https?://schema\.oparl\.org/1\.[01]/(?P<name>[A-Za-z]+)$")
_WEEKDAYS = ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag")
# "4. Sitzung des Finanzausschusses", "Ratssitzung", "Sondersitzung des Stadtrats", …
_SESSION_NAME = re.compile(r"^(\d+\.\s*)?\w*sitzung\b", re.IGNORECASE)
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|~])")


class OParlError(Exception):
    """Anything that keeps an OParl import from going ahead; the message is German and
    meant for the person who started the import."""


class OParlDataError(OParlError):
    """The server answered with JSON, but not with the OParl object we need."""


@dataclass(frozen=True)
class AgendaEntry:
    """One public agenda item (Tagesordnungspunkt)."""

    number: str
    name: str


@dataclass(frozen=True)
class OParlFile:
    """An OParl File, e.g. the invitation PDF."""

    url: str
    name: str = ""
    file_name: str = ""
    media_type: str = ""
    size: int | None = None
    sha1: str = ""
    license: str = ""


@dataclass(frozen=True)
class MeetingNoticeDraft:
    """What the import writes into a draft Sitzungsbekanntmachung."""

    source_id: str
    title: str
    summary: str
    body_md: str
    meeting_name: str
    organizations: tuple[str, ...]
    start: datetime | None
    end: datetime | None
    place: str
    agenda: tuple[AgendaEntry, ...]
    invitation: OParlFile | None
    cancelled: bool
    deleted: bool
    modified: datetime | None
    meeting_state: str = ""
    web_url: str = ""
    omitted_items: int = 0
    warnings: tuple[str, ...] = field(default_factory=tuple)


def oparl_type(obj: Mapping[str, Any]) -> str:
    """The short type name of an OParl object (``Meeting``, ``File``, …) or ``""``."""
    match = _TYPE.match(str(obj.get("type", "")))
    return match.group("name") if match else ""


def require_type(obj: object, expected: str, where: str = "") -> Mapping[str, Any]:
    """Return ``obj`` if it is an OParl object of type ``expected``, else raise."""
    place = f" ({where})" if where else ""
    if not isinstance(obj, Mapping):
        raise OParlDataError(
            f"Erwartet wurde ein OParl-Objekt vom Typ {expected}{place}, "
            f"erhalten wurde {_describe(obj)}."
        )
    actual = oparl_type(obj)
    if actual != expected:
        if actual:
            shown = f"ein Objekt vom Typ {actual}"
        elif obj.get("type"):
            shown = f"ein Objekt mit unbekanntem Typ {str(obj.get('type'))[:100]!r}"
        else:
            shown = "ein Objekt ohne Typangabe"
        raise OParlDataError(
            f"Erwartet wurde ein OParl-Objekt vom Typ {expected}{place}, erhalten wurde {shown}."
        )
    if not isinstance(obj.get("id"), str) or not obj["id"]:
        raise OParlDataError(f"Dem OParl-Objekt vom Typ {expected}{place} fehlt die Kennung „id“.")
    return obj


def _describe(value: object) -> str:
    if isinstance(value, str):
        return "ein nicht aufgelöster Verweis" if value.startswith("http") else "ein Text"
    if isinstance(value, list):
        return "eine Liste"
    if value is None:
        return "nichts"
    return f"ein Wert vom Typ {type(value).__name__}"


def parse_datetime(value: object, field_name: str, tz: ZoneInfo) -> datetime | None:
    """Parse an OParl date-time; a value without offset is read in the tenant's zone."""
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise OParlDataError(f"Das Feld „{field_name}“ enthält keine Zeitangabe.")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise OParlDataError(
            f"Das Feld „{field_name}“ enthält keine gültige Zeitangabe: {value!r}."
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    return parsed


def _text(value: object) -> str:
    return " ".join(value.split()) if isinstance(value, str) else ""


def md_escape(text: str) -> str:
    """Escape Markdown syntax so names from the council system stay plain text."""
    return _MD_SPECIAL.sub(r"\\\1", text)


def parse_file(obj: object, where: str) -> OParlFile:
    """Map an OParl File. Accepts ``license`` (seen in OParl's own examples) as well as the
    schema's ``fileLicense``."""
    data = require_type(obj, "File", where)
    url = data.get("accessUrl") or data.get("downloadUrl")
    if not isinstance(url, str) or not url:
        raise OParlDataError(f"Der Datei ({where}) fehlt die Adresse „accessUrl“.")
    size = data.get("size")
    return OParlFile(
        url=url,
        name=_text(data.get("name")),
        file_name=_text(data.get("fileName")),
        media_type=_text(data.get("mimeType")),
        size=size if isinstance(size, int) and size >= 0 else None,
        sha1=_text(data.get("sha1Checksum")),
        license=_text(data.get("fileLicense") or data.get("license")),
    )


def place_text(location: object) -> str:
    """A one-line place from an OParl Location (description, else address parts)."""
    if location is None:
        return ""
    data = require_type(location, "Location", "Sitzungsort")
    description = _text(data.get("description"))
    if description:
        return description
    town = " ".join(p for p in (_text(data.get("postalCode")), _text(data.get("locality"))) if p)
    parts = [_text(data.get("room")), _text(data.get("streetAddress")), town]
    return ", ".join(p for p in parts if p)


def public_agenda(items: object) -> tuple[tuple[AgendaEntry, ...], int]:
    """Public agenda items in order, and how many non-public ones were left out.

    An item without ``public: true`` counts as non-public: when in doubt, keep it off the
    public board.
    """
    if items is None:
        return (), 0
    if not isinstance(items, Sequence) or isinstance(items, str):
        raise OParlDataError("Die Tagesordnung („agendaItem“) ist keine Liste.")
    parsed: list[tuple[int, int, AgendaEntry]] = []
    omitted = 0
    for position, item in enumerate(items):
        data = require_type(item, "AgendaItem", f"Tagesordnungspunkt {position + 1}")
        if data.get("public") is not True:
            omitted += 1
            continue
        order = data.get("order")
        key = order if isinstance(order, int) else position
        entry = AgendaEntry(number=_text(data.get("number")), name=_text(data.get("name")))
        parsed.append((key, position, entry))
    return tuple(entry for _, _, entry in sorted(parsed)), omitted


def _organization_names(value: object) -> tuple[str, ...]:
    if not isinstance(value, Sequence) or isinstance(value, str):
        return ()
    names = []
    for org in value:
        if isinstance(org, Mapping) and oparl_type(org) == "Organization":
            name = _text(org.get("name")) or _text(org.get("shortName"))
            if name:
                names.append(name)
    return tuple(names)


def notice_title(meeting_name: str, organizations: Sequence[str], cancelled: bool) -> str:
    """German title: "Einladung zur 4. Sitzung des Finanzausschusses" or "Absage: …"."""
    if meeting_name:
        subject = meeting_name
    elif organizations:
        subject = f"Sitzung – {organizations[0]}"
    else:
        subject = "Sitzung"
    if cancelled:
        return f"Absage: {subject}"
    if _SESSION_NAME.match(subject):
        return f"Einladung zur {subject}"
    return f"Einladung: {subject}"


def _local(value: datetime, tz: ZoneInfo) -> datetime:
    return value.astimezone(tz)


def when_text(start: datetime | None, end: datetime | None, tz: ZoneInfo) -> str:
    """E.g. "am Freitag, 04.01.2013, von 08:00 bis 12:00 Uhr"."""
    if start is None:
        return ""
    s = _local(start, tz)
    day = f"{_WEEKDAYS[s.weekday()]}, {s:%d.%m.%Y}"
    if end is None:
        return f"am {day}, um {s:%H:%M} Uhr"
    e = _local(end, tz)
    if e.date() == s.date():
        return f"am {day}, von {s:%H:%M} bis {e:%H:%M} Uhr"
    return f"vom {day}, {s:%H:%M} Uhr, bis {_WEEKDAYS[e.weekday()]}, {e:%d.%m.%Y}, {e:%H:%M} Uhr"


def _body(
    *,
    subject: str,
    organizations: Sequence[str],
    when: str,
    place: str,
    agenda: Sequence[AgendaEntry],
    omitted: int,
    invitation: OParlFile | None,
    cancelled: bool,
    web_url: str,
) -> str:
    lines: list[str] = []
    if cancelled:
        lines += ["**Die Sitzung ist abgesagt.**", ""]
    if _SESSION_NAME.match(subject):
        sentence = f"Die {md_escape(subject)}"
    else:
        sentence = f"Die Sitzung „{md_escape(subject)}“"
    if when:
        verb = "war angesetzt" if cancelled else "findet"
        tail = "" if cancelled else " statt"
        lines.append(f"{sentence} {verb} {when}{tail}.")
    else:
        lines.append(f"{sentence}: Der Termin wird gesondert bekanntgegeben.")
    if organizations:
        lines += ["", f"**Gremium:** {md_escape(', '.join(organizations))}"]
    if place:
        lines += ["", f"**Ort:** {md_escape(place)}"]
    if not cancelled:
        lines += ["", "## Öffentliche Tagesordnung", ""]
        if agenda:
            for item in agenda:
                label = f"TOP {md_escape(item.number)}: " if item.number else ""
                lines.append(f"- {label}{md_escape(item.name)}")
        else:
            lines.append("Es sind keine öffentlichen Tagesordnungspunkte angegeben.")
        if omitted:
            lines += ["", "Nichtöffentliche Tagesordnungspunkte werden nicht veröffentlicht."]
    if invitation is not None:
        label = md_escape(invitation.name or invitation.file_name or "Einladung")
        lines += ["", f"Einladung zum Herunterladen: [{label}](<{invitation.url}>)"]
    if web_url:
        lines += ["", f"Weitere Informationen im Ratsinformationssystem: <{web_url}>"]
    return "\n".join(lines) + "\n"


def meeting_to_draft(meeting: object, tz: ZoneInfo | None = None) -> MeetingNoticeDraft:
    """Map a resolved OParl Meeting (agenda items, location, organizations and invitation
    embedded as objects) to a draft. Raises :class:`OParlDataError` on malformed input."""
    zone = tz or ZoneInfo("Europe/Berlin")
    data = require_type(meeting, "Meeting", "Sitzung")
    source_id = str(data["id"])
    deleted = data.get("deleted") is True
    cancelled = data.get("cancelled") is True
    modified = parse_datetime(data.get("modified"), "modified", zone)
    name = _text(data.get("name"))
    if deleted:
        return MeetingNoticeDraft(
            source_id=source_id,
            title=notice_title(name, (), cancelled=True),
            summary="Die Sitzung wurde im Ratsinformationssystem gelöscht.",
            body_md="",
            meeting_name=name,
            organizations=(),
            start=None,
            end=None,
            place="",
            agenda=(),
            invitation=None,
            cancelled=cancelled,
            deleted=True,
            modified=modified,
        )
    start = parse_datetime(data.get("start"), "start", zone)
    end = parse_datetime(data.get("end"), "end", zone)
    if start and end and end < start:
        raise OParlDataError("Die Sitzung endet laut OParl-Daten vor ihrem Beginn.")
    place = place_text(data.get("location"))
    agenda, omitted = public_agenda(data.get("agendaItem"))
    invitation_raw = data.get("invitation")
    invitation = parse_file(invitation_raw, "Einladung") if invitation_raw else None
    organizations = _organization_names(data.get("organization"))
    warnings = []
    if start is None:
        warnings.append("Die Sitzung hat keinen Beginn; bitte Datum und Uhrzeit ergänzen.")
    if not place:
        warnings.append("Die Sitzung hat keinen Ort; bitte den Sitzungsort ergänzen.")
    if data.get("organization") and not organizations:
        warnings.append("Das Gremium konnte nicht ermittelt werden.")
    subject = name or (f"Sitzung des Gremiums {organizations[0]}" if organizations else "Sitzung")
    when = when_text(start, end, zone)
    web_url = _text(data.get("web"))
    summary_parts = [f"Sitzung {when}" if when else "Sitzung"]
    if place:
        summary_parts.append(place)
    summary = ("Abgesagt: " if cancelled else "") + ", ".join(summary_parts)
    return MeetingNoticeDraft(
        source_id=source_id,
        title=notice_title(name, organizations, cancelled),
        summary=summary,
        body_md=_body(
            subject=subject,
            organizations=organizations,
            when=when,
            place=place,
            agenda=agenda,
            omitted=omitted,
            invitation=invitation,
            cancelled=cancelled,
            web_url=web_url,
        ),
        meeting_name=name,
        organizations=organizations,
        start=start,
        end=end,
        place=place,
        agenda=agenda,
        invitation=invitation,
        cancelled=cancelled,
        deleted=False,
        modified=modified,
        meeting_state=_text(data.get("meetingState")),
        web_url=web_url,
        omitted_items=omitted,
        warnings=tuple(warnings),
    )
