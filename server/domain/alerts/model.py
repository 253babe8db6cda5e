"""The CAP 1.2 data model: one shape for every warning, whatever its source.

Field names follow the OASIS CAP 1.2 element names in snake_case. Values are kept as
received (no trimming of HTML, no re-wording: W12 asks for unaltered content); only
date-times are parsed into aware ``datetime`` objects.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

BERLIN = ZoneInfo("Europe/Berlin")

STATUSES = ("Actual", "Exercise", "System", "Test", "Draft")
MSG_TYPES = ("Alert", "Update", "Cancel", "Ack", "Error")
SCOPES = ("Public", "Restricted", "Private")
CATEGORIES = (
    "Geo",
    "Met",
    "Safety",
    "Security",
    "Rescue",
    "Fire",
    "Health",
    "Env",
    "Transport",
    "Infra",
    "CBRNE",
    "Other",
)
RESPONSE_TYPES = (
    "Shelter",
    "Evacuate",
    "Prepare",
    "Execute",
    "Avoid",
    "Monitor",
    "Assess",
    "AllClear",
    "None",
)
URGENCIES = ("Immediate", "Expected", "Future", "Past", "Unknown")
SEVERITIES = ("Extreme", "Severe", "Moderate", "Minor", "Unknown")
CERTAINTIES = ("Observed", "Likely", "Possible", "Unlikely", "Unknown")

# CAP 1.2 date-time: explicit offset, never "Z" (XSD pattern on sent/effective/onset/expires).
CAP_DATETIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[-+]\d\d:\d\d$")


# Years a CAP date-time may name. Year 1 or 9999 is well-formed xs:dateTime, but moved
# to UTC or to Berlin time (or given the 15 minutes of an Entwarnung) it leaves the
# range of ``datetime``; no warning is sent or expires that far out. The upper bound
# leaves room for NINA's "expires in 1000 years" messages (3021 in the samples).
CAP_YEARS = range(1900, 9999)


class InvalidCapDateTime(ValueError):
    """A date-time that is not in the CAP 1.2 form ``YYYY-MM-DDThh:mm:ss+hh:mm``."""

    def __init__(self, value: str, reason: str | None = None) -> None:
        super().__init__(
            f"Ungültige Zeitangabe {value!r}: "
            + (
                reason
                or "erwartet wird JJJJ-MM-TTThh:mm:ss+hh:mm (mit Zeitzonen-Versatz, ohne „Z“)."
            )
        )
        self.value = value


class CapDateTime(datetime):
    """A date-time read from a CAP document that remembers how it was written.

    ``05:20:00+01:00`` in June is a valid CAP time; rewriting it as ``06:20:00+02:00``
    names the same instant but breaks every ``references`` triple that quotes it (W11).
    Values derived from it (arithmetic, ``replace``, ``astimezone``) are plain new times
    and lose the literal (the class default ``""``).
    """

    literal: str = ""


def parse_cap_datetime(value: str) -> datetime:
    """Parse a CAP date-time string into an aware datetime that keeps its offset.

    The result is a :class:`CapDateTime` carrying the text as written. Raises
    :class:`InvalidCapDateTime` for anything else, including ``Z`` suffixes, naive
    values and years outside :data:`CAP_YEARS`.
    """
    text = value.strip()
    if not CAP_DATETIME_RE.match(text):
        raise InvalidCapDateTime(value)
    try:
        parsed = CapDateTime.fromisoformat(text)
    except ValueError as exc:
        raise InvalidCapDateTime(value) from exc
    if parsed.year not in CAP_YEARS:
        raise InvalidCapDateTime(
            value, f"das Jahr muss zwischen {CAP_YEARS.start} und {CAP_YEARS.stop - 1} liegen."
        )
    parsed.literal = text
    return parsed


def cap_datetime(value: datetime) -> str:
    """Format an aware datetime for a CAP document.

    A time read from a CAP document is written exactly as it was received (W11).
    Any other time speaks local German time: converted to Europe/Berlin, giving
    ``+01:00`` in winter and ``+02:00`` in summer, never ``Z``.
    """
    literal = getattr(value, "literal", "")
    if literal:
        return str(literal)
    if value.tzinfo is None:
        raise ValueError("naive datetime cannot be written to CAP")
    return value.astimezone(BERLIN).replace(microsecond=0).isoformat(timespec="seconds")


def reference_datetime(value: datetime) -> str:
    """Format ``sent`` for a references triple, keeping the message's own offset.

    A UTC value (as it comes back from the database) is shown in Europe/Berlin so
    that our own messages reference each other with the offsets they were sent with.
    """
    if getattr(value, "literal", ""):
        return cap_datetime(value)
    if value.tzinfo is None:
        raise ValueError("naive datetime cannot be written to CAP")
    if value.utcoffset() == timedelta(0):
        return cap_datetime(value)
    return value.replace(microsecond=0).isoformat(timespec="seconds")


@dataclass(frozen=True)
class ValuePair:
    """A CAP ``valueName``/``value`` pair (eventCode, parameter, geocode)."""

    value_name: str
    value: str


Point = tuple[float, float]
"""(latitude, longitude) in WGS 84 degrees, CAP order."""


@dataclass(frozen=True)
class Circle:
    """A CAP circle: centre point and radius in kilometres."""

    center: Point
    radius_km: float


@dataclass(frozen=True)
class Area:
    """A CAP ``area`` block."""

    area_desc: str
    polygons: tuple[tuple[Point, ...], ...] = ()
    circles: tuple[Circle, ...] = ()
    geocodes: tuple[ValuePair, ...] = ()
    altitude: str | None = None
    ceiling: str | None = None


@dataclass(frozen=True)
class Resource:
    """A CAP ``resource`` block (kept so received documents convert back faithfully)."""

    resource_desc: str
    mime_type: str
    size: int | None = None
    uri: str | None = None
    digest: str | None = None


@dataclass(frozen=True)
class Info:
    """A CAP ``info`` block; several blocks are several languages of one message."""

    categories: tuple[str, ...]
    event: str
    urgency: str
    severity: str
    certainty: str
    language: str = "en-US"
    response_types: tuple[str, ...] = ()
    audience: str | None = None
    event_codes: tuple[ValuePair, ...] = ()
    effective: datetime | None = None
    onset: datetime | None = None
    expires: datetime | None = None
    sender_name: str | None = None
    headline: str | None = None
    description: str | None = None
    instruction: str | None = None
    web: str | None = None
    contact: str | None = None
    parameters: tuple[ValuePair, ...] = ()
    resources: tuple[Resource, ...] = ()
    areas: tuple[Area, ...] = ()

    @property
    def is_german(self) -> bool:
        """True for ``de``, ``DE``, ``de-DE`` and the like."""
        return self.language.lower().split("-")[0] == "de"

    def parameter(self, name: str) -> str | None:
        """The first parameter value with this ``valueName`` (case-insensitive)."""
        wanted = name.lower()
        for pair in self.parameters:
            if pair.value_name.lower() == wanted:
                return pair.value
        return None


@dataclass(frozen=True)
class Reference:
    """One ``sender,identifier,sent`` triple of a CAP ``references`` element."""

    sender: str
    identifier: str
    sent: str

    def __str__(self) -> str:
        return f"{self.sender},{self.identifier},{self.sent}"


@dataclass(frozen=True)
class Alert:
    """A CAP 1.2 ``alert`` message."""

    identifier: str
    sender: str
    sent: datetime
    status: str
    msg_type: str
    scope: str
    source: str | None = None
    restriction: str | None = None
    addresses: str | None = None
    codes: tuple[str, ...] = ()
    note: str | None = None
    references: str | None = None
    incidents: str | None = None
    infos: tuple[Info, ...] = field(default_factory=tuple)

    def primary_info(self) -> Info | None:
        """The German info block if there is one (W13), else the first one."""
        for info in self.infos:
            if info.is_german:
                return info
        return self.infos[0] if self.infos else None

    @property
    def severity(self) -> str:
        info = self.primary_info()
        return info.severity if info else "Unknown"

    @property
    def urgency(self) -> str:
        info = self.primary_info()
        return info.urgency if info else "Unknown"

    @property
    def headline(self) -> str:
        info = self.primary_info()
        return (info.headline or info.event) if info else ""

    @property
    def expires(self) -> datetime | None:
        """When the message stops being in force.

        The latest ``expires`` across the info blocks; ``None`` if any block is
        open-ended (some NINA warnings carry no ``expires`` at all).
        """
        values = [info.expires for info in self.infos]
        if not values or any(v is None for v in values):
            return None
        return max(v for v in values if v is not None)

    def reference(self) -> Reference:
        """The triple another message uses to reference this one."""
        return Reference(self.sender, self.identifier, reference_datetime(self.sent))

    def parsed_references(self) -> tuple[Reference, ...]:
        """The well-formed triples in ``references`` (malformed tokens are skipped)."""
        return parse_references(self.references or "")

    def referenced_identifiers(self) -> frozenset[str]:
        """Every identifier this message references, tolerant of NINA's mixed format."""
        return referenced_identifiers(self.references or "")


def parse_references(text: str) -> tuple[Reference, ...]:
    """Parse space-separated ``sender,identifier,sent`` triples."""
    result = []
    for token in text.split():
        parts = token.split(",")
        if len(parts) == 3 and CAP_DATETIME_RE.match(parts[2]):
            result.append(Reference(parts[0], parts[1], parts[2]))
    return tuple(result)


def referenced_identifiers(text: str) -> frozenset[str]:
    """Identifiers named in a ``references`` value.

    Strict CAP triples give their middle part. NINA also emits lists such as
    ``"A B C,mow.A mow.B,2020-04-03T00:00:00+00:00"`` (identifiers separated by spaces
    and commas, one trailing timestamp); there every part that is not a date-time
    counts, so an Update still finds the messages it replaces.
    """
    found: set[str] = set()
    for token in text.split():
        parts = [p for p in token.split(",") if p]
        if len(parts) == 3 and CAP_DATETIME_RE.match(parts[2]):
            found.add(parts[1])
            continue
        found.update(p for p in parts if not CAP_DATETIME_RE.match(p))
    return frozenset(found)
