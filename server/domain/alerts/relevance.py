"""Is a warning relevant for a place? (W4, B5)

Methods in order of reliability; the first method for which the warning carries data
decides, so a vague method never overrules a precise one:

1. ARS codes in the warning (geocodes ``SHN``/``ARS``/``RS`` and the NINA parameter
   ``warnVerwaltungsbereiche``), with prefix semantics: a Land- or Kreis-wide code
   covers every Gemeinde in it.
2. DWD ``WARNCELLID`` geocodes (:mod:`.warncells`): ``8`` + AGS for communes, ``1`` +
   Kreis key + ``000`` and ``9`` + Kreis key + part for districts, ``7…`` for Berlin.
3. Geometry: the place's area (or point) against the polygons and circles of the
   warning (:mod:`.geometry`). Only when the place has an area or a point.
4. Area text: a name of the place appears as a whole word in an ``areaDesc``.

If nothing decides, a warning taken from the place's own NINA Kreis dashboard is
relevant (``from_own_dashboard``): it is better to warn a neighbouring village too
than to keep a warning from the people it is meant for.

Each verdict names the key that decided (``ars:150030000000``, ``warncell:815003000``,
``geometry``, ``area_text:Harz``), for the alert page ("relevant durch …").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from ..ars import ars_covers, is_area_code, validate_ars
from .geometry import (
    Ring,
    circle_overlaps_polygon,
    distance_km,
    point_in_polygon,
    polygons_overlap,
)
from .model import Alert, Point
from .warncells import warncell_covers, warncell_overlaps

__all__ = [
    "Method",
    "Place",
    "Relevance",
    "distance_km",
    "is_relevant",
    "match_label",
    "point_in_polygon",
    "relevance",
    "warncell_covers",
    "warning_ars_codes",
    "warning_cells",
]

ARS_GEOCODE_NAMES = frozenset({"shn", "ars", "rs", "warnverwaltungsbereiche"})
WARNCELL_GEOCODE_NAMES = frozenset({"warncellid"})
# Name parts that are no part of the place's own name ("Stadt Magdeburg" = "Magdeburg").
NAME_PREFIXES = (
    "Landeshauptstadt ",
    "Lutherstadt ",
    "Hansestadt ",
    "Landkreis ",
    "Gemeinde ",
    "Stadt ",
    "Kreis ",
    "Markt ",
)


class Method(StrEnum):
    ARS = "ars"
    WARNCELL = "warncell"
    GEOMETRY = "geometry"
    AREA_TEXT = "area_text"
    DASHBOARD = "dashboard"
    TOKEN = "token"  # a control centre's message without any area: its own tenant


METHOD_LABELS = {
    Method.ARS: "ARS",
    Method.WARNCELL: "Warnzelle",
    Method.GEOMETRY: "Polygon",
    Method.AREA_TEXT: "Gebietsname",
    Method.DASHBOARD: "NINA-Kreisübersicht",
    Method.TOKEN: "Zugang der Leitstelle (Meldung ohne Gebiet)",
}


@dataclass(frozen=True)
class Place:
    """Where a tenant or display is: its ARS, optionally a point, an area and names."""

    ars: str
    point: Point | None = None
    names: tuple[str, ...] = ()
    area: tuple[Ring, ...] = ()

    def __post_init__(self) -> None:
        validate_ars(self.ars)


@dataclass(frozen=True)
class Relevance:
    """The verdict, the method that decided it and the key that matched."""

    relevant: bool
    method: Method | None
    matched: str = ""  # the code, cell or name that matched

    @property
    def key(self) -> str:
        """Stored form, e.g. ``warncell:815003000`` or ``geometry``."""
        if self.method is None:
            return ""
        return f"{self.method.value}:{self.matched}" if self.matched else self.method.value


def match_label(key: str) -> str:
    """German label of a stored key: ``warncell:815003000`` → ``Warnzelle 815003000``."""
    method, _, matched = key.partition(":")
    try:
        label = METHOD_LABELS[Method(method)]
    except ValueError:
        return key
    return f"{label} {matched}" if matched else label


def warning_ars_codes(alert: Alert) -> tuple[str, ...]:
    """All 12-digit ARS values a warning names, in document order."""
    codes: list[str] = []
    for info in alert.infos:
        for pair in info.parameters:
            if pair.value_name.lower() == "warnverwaltungsbereiche":
                codes.extend(v.strip() for v in pair.value.split(",") if is_area_code(v))
        for area in info.areas:
            for pair in area.geocodes:
                if pair.value_name.lower() in ARS_GEOCODE_NAMES and is_area_code(pair.value):
                    codes.append(pair.value.strip())
    return tuple(dict.fromkeys(codes))


def warning_cells(alert: Alert) -> tuple[str, ...]:
    """All DWD WARNCELLIDs of a warning."""
    cells: list[str] = []
    for info in alert.infos:
        for area in info.areas:
            for pair in area.geocodes:
                if pair.value_name.lower() in WARNCELL_GEOCODE_NAMES:
                    cells.append(pair.value.strip())
    return tuple(dict.fromkeys(cells))


def has_geometry(alert: Alert) -> bool:
    """True if any area of the warning has a polygon or a circle."""
    return any(area.polygons or area.circles for info in alert.infos for area in info.areas)


def has_area(alert: Alert) -> bool:
    """True if the warning says anything about where it applies."""
    return any(info.areas for info in alert.infos) or bool(warning_ars_codes(alert))


def _geometry_meets(alert: Alert, place: Place) -> bool:
    for info in alert.infos:
        for area in info.areas:
            polygons = [p for p in area.polygons if len(p) >= 3]
            if place.area:
                if any(polygons_overlap(p, ring) for p in polygons for ring in place.area):
                    return True
                if any(circle_overlaps_polygon(c, r) for c in area.circles for r in place.area):
                    return True
            elif place.point is not None:
                if any(point_in_polygon(place.point, p) for p in polygons):
                    return True
                if any(distance_km(place.point, c.center) <= c.radius_km for c in area.circles):
                    return True
    return False


def place_names(names: tuple[str, ...]) -> tuple[str, ...]:
    """The names to look for: each name, and each without a prefix such as „Stadt “."""
    found: list[str] = []
    for name in names:
        name = name.strip()
        if not name:
            continue
        found.append(name)
        for prefix in NAME_PREFIXES:
            if name.startswith(prefix) and len(name) > len(prefix) + 2:
                found.append(name[len(prefix) :].strip())
    return tuple(dict.fromkeys(found))


def _text_mention(alert: Alert, names: tuple[str, ...]) -> str:
    descs = [area.area_desc for info in alert.infos for area in info.areas]
    for name in place_names(names):
        pattern = re.compile(r"(?<!\w)" + re.escape(name) + r"(?!\w)", re.IGNORECASE)
        if any(pattern.search(d) for d in descs):
            return name
    return ""


def relevance(
    alert: Alert, place: Place, *, from_own_dashboard: bool = False, overlap: bool = False
) -> Relevance:
    """Decide whether ``alert`` concerns ``place`` and say by which method and key.

    ``overlap`` widens the area-code methods from "the warning's area contains the
    place" to "the two areas share ground": a Landkreis as addressee of a message for
    one of its towns (the control-centre API's targets).
    """
    codes = warning_ars_codes(alert)
    if codes:
        for code in codes:
            if ars_covers(code, place.ars) or (overlap and ars_covers(place.ars, code)):
                return Relevance(True, Method.ARS, code)
        return Relevance(False, Method.ARS)
    cells = warning_cells(alert)
    if cells:
        covers = warncell_overlaps if overlap else warncell_covers
        for cell in cells:
            if covers(cell, place.ars):
                return Relevance(True, Method.WARNCELL, cell)
        return Relevance(False, Method.WARNCELL)
    if (place.area or place.point is not None) and has_geometry(alert):
        return Relevance(_geometry_meets(alert, place), Method.GEOMETRY)
    if place.names and any(area.area_desc for info in alert.infos for area in info.areas):
        name = _text_mention(alert, place.names)
        if name:
            return Relevance(True, Method.AREA_TEXT, name)
    if from_own_dashboard:
        return Relevance(True, Method.DASHBOARD)
    return Relevance(False, None)


def is_relevant(alert: Alert, place: Place, *, from_own_dashboard: bool = False) -> bool:
    """Shorthand for ``relevance(...).relevant``."""
    return relevance(alert, place, from_own_dashboard=from_own_dashboard).relevant
