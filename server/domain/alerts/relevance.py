"""Is a warning relevant for a place? (W4, B5)

Methods in order of reliability; the first method for which both the warning and the
place carry data decides, so a vague method never overrules a precise one:

1. ARS codes in the warning (geocodes ``SHN``/``ARS``/``RS`` and the NINA parameter
   ``warnVerwaltungsbereiche``), with prefix semantics: a Land- or Kreis-wide code
   covers every Gemeinde in it.
2. DWD ``WARNCELLID`` geocodes: ``8`` + AGS for communes, ``1`` + Kreis key + ``000``
   for districts, ``7…`` for the districts of Berlin.
3. Geometry: the place's point inside a polygon or circle of the warning.
4. Area text: a name of the place appears as a whole word in an ``areaDesc``.

If nothing decides, a warning taken from the place's own NINA Kreis dashboard is
relevant (``from_own_dashboard``): it is better to warn a neighbouring village too
than to keep a warning from the people it is meant for.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from enum import StrEnum

from ..ars import ags, ars_covers, is_area_code, kreis_key, validate_ars
from .model import Alert, Point

ARS_GEOCODE_NAMES = frozenset({"shn", "ars", "rs", "warnverwaltungsbereiche"})
WARNCELL_GEOCODE_NAMES = frozenset({"warncellid"})


class Method(StrEnum):
    ARS = "ars"
    WARNCELL = "warncell"
    GEOMETRY = "geometry"
    AREA_TEXT = "area_text"
    DASHBOARD = "dashboard"


@dataclass(frozen=True)
class Place:
    """Where a tenant or display is: its ARS, optionally a point and names."""

    ars: str
    point: Point | None = None
    names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        validate_ars(self.ars)


@dataclass(frozen=True)
class Relevance:
    """The verdict and the method that decided it (shown on the alert page)."""

    relevant: bool
    method: Method | None


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


def warncell_covers(cell: str, ars: str) -> bool:
    """True if a DWD WARNCELLID covers the place with this ARS."""
    if not cell.isdigit() or len(cell) != 9:
        return False
    if cell[0] == "8":
        return cell[1:] == ags(ars)
    if cell[0] == "1":
        return cell[1:6] == kreis_key(ars)
    if cell[0] == "7":  # Berlin's districts; Berlin is ARS 11…
        return ars.startswith("11")
    return False


def point_in_polygon(point: Point, polygon: tuple[Point, ...]) -> bool:
    """Ray casting on (lat, lon); exact enough for areas the size of a Kreis."""
    lat, lon = point
    inside = False
    n = len(polygon)
    for i in range(n):
        lat1, lon1 = polygon[i]
        lat2, lon2 = polygon[(i + 1) % n]
        if (lon1 > lon) != (lon2 > lon):
            cross = lat1 + (lon - lon1) * (lat2 - lat1) / (lon2 - lon1)
            if lat < cross:
                inside = not inside
    return inside


def distance_km(a: Point, b: Point) -> float:
    """Great-circle distance (haversine) in kilometres."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0088 * math.asin(math.sqrt(h))


def _has_geometry(alert: Alert) -> bool:
    return any(area.polygons or area.circles for info in alert.infos for area in info.areas)


def _geometry_contains(alert: Alert, point: Point) -> bool:
    for info in alert.infos:
        for area in info.areas:
            if any(point_in_polygon(point, poly) for poly in area.polygons if len(poly) >= 3):
                return True
            if any(distance_km(point, c.center) <= c.radius_km for c in area.circles):
                return True
    return False


def _text_mentions(alert: Alert, names: tuple[str, ...]) -> bool:
    descs = [area.area_desc for info in alert.infos for area in info.areas]
    for name in names:
        if not name.strip():
            continue
        pattern = re.compile(r"(?<!\w)" + re.escape(name.strip()) + r"(?!\w)", re.IGNORECASE)
        if any(pattern.search(d) for d in descs):
            return True
    return False


def relevance(alert: Alert, place: Place, *, from_own_dashboard: bool = False) -> Relevance:
    """Decide whether ``alert`` concerns ``place`` and say by which method."""
    codes = warning_ars_codes(alert)
    if codes:
        return Relevance(any(ars_covers(c, place.ars) for c in codes), Method.ARS)
    cells = warning_cells(alert)
    if cells:
        return Relevance(any(warncell_covers(c, place.ars) for c in cells), Method.WARNCELL)
    if place.point is not None and _has_geometry(alert):
        return Relevance(_geometry_contains(alert, place.point), Method.GEOMETRY)
    if place.names and any(area.area_desc for info in alert.infos for area in info.areas):
        if _text_mentions(alert, place.names):
            return Relevance(True, Method.AREA_TEXT)
    if from_own_dashboard:
        return Relevance(True, Method.DASHBOARD)
    return Relevance(False, None)


def is_relevant(alert: Alert, place: Place, *, from_own_dashboard: bool = False) -> bool:
    """Shorthand for ``relevance(...).relevant``."""
    return relevance(alert, place, from_own_dashboard=from_own_dashboard).relevant
