"""What a warning does on a screen: source, audience filter and priority (W7, W8).

The priority table is data so that an installation can change it: severity maps to a
Warnstufe, the Warnstufe maps to a behaviour, and a source can be limited to a banner
(e.g. "DWD never takes over here").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

from .model import Alert


class Source(StrEnum):
    """Where a warning comes from; NINA ids carry the provider as prefix."""

    MOWAS = "mowas"
    DWD = "dwd"
    LHP = "lhp"
    POLICE = "police"
    KATWARN = "katwarn"
    BIWAPP = "biwapp"
    MANUAL = "manual"  # a Schadenslage issued in Aushang (W10)
    API = "api"  # CAP posted by a control centre
    OTHER = "other"


SOURCE_LABELS: Mapping[Source, str] = MappingProxyType(
    {
        Source.MOWAS: "Quelle: BBK/MoWaS",
        Source.DWD: "Quelle: Deutscher Wetterdienst",
        Source.LHP: "Quelle: Länderübergreifendes Hochwasserportal",
        Source.POLICE: "Quelle: Polizei",
        Source.KATWARN: "Quelle: KATWARN",
        Source.BIWAPP: "Quelle: BIWAPP",
        Source.MANUAL: "Quelle: Gefahrenabwehrbehörde vor Ort",
        Source.API: "Quelle: Leitstelle",
        Source.OTHER: "Quelle: unbekannt",
    }
)

SOURCE_PREFIX = "Quelle: "


def source_name(source: Source) -> str:
    """The source without the „Quelle: “ prefix, for places that label it themselves."""
    return SOURCE_LABELS[source].removeprefix(SOURCE_PREFIX)


def without_all_clear_prefix(headline: str) -> str:
    """A Cancel's headline without a leading „Entwarnung:“ (for a page that adds it)."""
    text = headline.strip()
    head = text[: len("Entwarnung")]
    if head.lower() != "entwarnung":
        return text
    return text[len(head) :].lstrip(" :–-").strip()


_NINA_PREFIXES: Mapping[str, Source] = MappingProxyType(
    {
        "mow": Source.MOWAS,
        "dwd": Source.DWD,
        "lhp": Source.LHP,
        "pol": Source.POLICE,
        "kat": Source.KATWARN,
        "bwp": Source.BIWAPP,
        "biw": Source.BIWAPP,  # seen in NINA detail ids ("biw.BIWAPP-69634")
    }
)


def source_from_nina_id(identifier: str) -> Source:
    """The provider of a NINA warning from its id prefix (``mow.``, ``dwd.``, …)."""
    prefix, dot, _ = identifier.partition(".")
    if not dot:
        return Source.OTHER
    return _NINA_PREFIXES.get(prefix.lower(), Source.OTHER)


def strip_nina_prefix(identifier: str) -> str:
    """``mow.DE-NW-…`` → ``DE-NW-…``; ids without a known prefix stay as they are."""
    prefix, dot, rest = identifier.partition(".")
    if dot and prefix.lower() in _NINA_PREFIXES:
        return rest
    return identifier


class Behaviour(StrEnum):
    """How a warning appears on a display."""

    TAKEOVER = "takeover"  # immediate full-screen takeover
    ALTERNATE = "alternate"  # takeover alternating with a reduced notice view
    BANNER = "banner"  # banner over the normal rotation
    ALL_CLEAR = "all_clear"  # the Entwarnung screen after a Cancel

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Behaviour.BANNER: 1, Behaviour.ALTERNATE: 2, Behaviour.TAKEOVER: 3, Behaviour.ALL_CLEAR: 0}


class SourceMode(StrEnum):
    """Per-source setting: may warnings of this source take over, or only show a banner."""

    TAKEOVER = "takeover"  # follow the priority table
    BANNER = "banner"  # never more than a banner


WARNSTUFEN = (1, 2, 3)
WARNSTUFE_LABELS: Mapping[int, str] = MappingProxyType(
    {
        1: "Warnstufe 1 – extreme Gefahr",
        2: "Warnstufe 2 – Gefahr",
        3: "Warnstufe 3 – Gefahreninformation",
    }
)
# Manual alerts are written to CAP with this severity, so a round trip keeps the Warnstufe.
WARNSTUFE_SEVERITY: Mapping[int, str] = MappingProxyType({1: "Extreme", 2: "Severe", 3: "Moderate"})


def _default_severity_warnstufe() -> Mapping[str, int]:
    return MappingProxyType({"Extreme": 1, "Severe": 2, "Moderate": 3, "Minor": 3, "Unknown": 3})


def _default_warnstufe_behaviour() -> Mapping[int, Behaviour]:
    return MappingProxyType({1: Behaviour.TAKEOVER, 2: Behaviour.ALTERNATE, 3: Behaviour.BANNER})


def _default_source_modes() -> Mapping[Source, SourceMode]:
    return MappingProxyType({s: SourceMode.TAKEOVER for s in Source})


class InvalidPriorityTable(ValueError):
    """A priority table that leaves a severity or Warnstufe without a rule."""


@dataclass(frozen=True)
class PriorityTable:
    """The configurable mapping from a warning to its behaviour (W8).

    Defaults: Extreme → Warnstufe 1 → takeover; Severe → 2 → alternating takeover;
    Moderate, Minor, Unknown → 3 → banner. A warning with urgency ``Past`` is at most
    a banner: it is no longer a call to act.
    """

    severity_warnstufe: Mapping[str, int] = field(default_factory=_default_severity_warnstufe)
    warnstufe_behaviour: Mapping[int, Behaviour] = field(
        default_factory=_default_warnstufe_behaviour
    )
    source_modes: Mapping[Source, SourceMode] = field(default_factory=_default_source_modes)
    past_is_banner: bool = True

    def __post_init__(self) -> None:
        missing = [s for s in ("Extreme", "Severe", "Moderate", "Minor", "Unknown")]
        missing = [s for s in missing if s not in self.severity_warnstufe]
        if missing:
            raise InvalidPriorityTable(f"Keine Warnstufe für Schweregrad: {', '.join(missing)}")
        for stufe in set(self.severity_warnstufe.values()) | set(WARNSTUFEN):
            if stufe not in self.warnstufe_behaviour:
                raise InvalidPriorityTable(f"Kein Verhalten für Warnstufe {stufe}")

    def warnstufe_for(self, severity: str) -> int:
        """The Warnstufe a CAP severity stands for."""
        return self.severity_warnstufe.get(severity, self.severity_warnstufe["Unknown"])

    def mode_for(self, source: Source) -> SourceMode:
        return self.source_modes.get(source, SourceMode.TAKEOVER)


def severity_for_warnstufe(warnstufe: int) -> str:
    """The CAP severity written for a manual alert of this Warnstufe."""
    if warnstufe not in WARNSTUFE_SEVERITY:
        raise ValueError(f"Unbekannte Warnstufe {warnstufe}: erlaubt sind 1, 2 und 3.")
    return WARNSTUFE_SEVERITY[warnstufe]


def warnstufe_for(alert: Alert, table: PriorityTable | None = None) -> int:
    """The Warnstufe of a message, derived from the severity of its primary info."""
    return (table or PriorityTable()).warnstufe_for(alert.severity)


def behaviour_for(alert: Alert, source: Source, table: PriorityTable | None = None) -> Behaviour:
    """The display behaviour of a message.

    A Cancel always yields the Entwarnung screen: its severity is ignored (NINA has
    sent "Cancel", "Minor" and "Unknown" there).
    """
    table = table or PriorityTable()
    if alert.msg_type == "Cancel":
        return Behaviour.ALL_CLEAR
    behaviour = table.warnstufe_behaviour[table.warnstufe_for(alert.severity)]
    if table.past_is_banner and alert.urgency == "Past":
        behaviour = Behaviour.BANNER
    if table.mode_for(source) is SourceMode.BANNER:
        behaviour = Behaviour.BANNER
    return behaviour


STATUS_LABELS: Mapping[str, str] = MappingProxyType({"Exercise": "Übung", "Test": "Test"})


def status_label(alert: Alert) -> str | None:
    """The label a non-real message carries on screen: "Übung" or "Test" (W7)."""
    return STATUS_LABELS.get(alert.status)


def may_show(alert: Alert, *, test_display: bool) -> bool:
    """The status filter (W7).

    Public displays get only ``Actual`` + ``Public``. Test displays get those too (a
    real warning reaches every screen) and additionally ``Exercise`` and ``Test``.
    ``System`` and ``Draft`` messages and ``Restricted``/``Private`` scopes never show.
    """
    if alert.scope != "Public":
        return False
    if alert.status == "Actual":
        return True
    return test_display and alert.status in STATUS_LABELS


@dataclass(frozen=True)
class Presentation:
    """What a display does with one message."""

    behaviour: Behaviour
    warnstufe: int
    source: Source
    source_label: str
    status_label: str | None


def present(
    alert: Alert, source: Source, *, test_display: bool, table: PriorityTable | None = None
) -> Presentation | None:
    """Status filter plus priority table in one step; ``None`` means "not on this display"."""
    if not may_show(alert, test_display=test_display):
        return None
    table = table or PriorityTable()
    return Presentation(
        behaviour=behaviour_for(alert, source, table),
        warnstufe=table.warnstufe_for(alert.severity),
        source=source,
        source_label=SOURCE_LABELS[source],
        status_label=status_label(alert),
    )
