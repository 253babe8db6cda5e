"""Plane geometry for warning areas (W4): points, polygons and circles on (lat, lon).

Pure Python, no geo library: the questions are few (is a point inside a polygon, do two
polygons overlap, does a circle touch a polygon) and the areas are the size of a Kreis,
where an equirectangular projection around the area is accurate to well under 1 %. A
library such as shapely would add a compiled dependency for three functions.

Tenant areas come in as GeoJSON (RFC 7946: ``[lon, lat]`` order) and are kept as outer
rings in CAP order ``(lat, lon)``. Holes are ignored on purpose: an enclave inside a
municipality's outline then counts as inside, which errs towards warning too many
people rather than too few.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from typing import Any

from ..errors import ValidationFailed
from .model import Circle, Point

Ring = tuple[Point, ...]
"""A closed polygon ring in (lat, lon); the closing point may or may not be repeated."""

EARTH_RADIUS_KM = 6371.0088
MAX_AREA_POINTS = 200_000
MAX_GEOJSON_BYTES = 5_000_000


def point_in_polygon(point: Point, polygon: Sequence[Point]) -> bool:
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
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(h))


def _edges(ring: Sequence[Point]) -> Iterable[tuple[Point, Point]]:
    n = len(ring)
    for i in range(n):
        a, b = ring[i], ring[(i + 1) % n]
        if a != b:
            yield a, b


def _orientation(p: Point, q: Point, r: Point) -> float:
    return (q[1] - p[1]) * (r[0] - q[0]) - (q[0] - p[0]) * (r[1] - q[1])


def _on_segment(p: Point, q: Point, r: Point) -> bool:
    return min(p[0], r[0]) <= q[0] <= max(p[0], r[0]) and min(p[1], r[1]) <= q[1] <= max(p[1], r[1])


def segments_cross(a: Point, b: Point, c: Point, d: Point) -> bool:
    """True if segment ``ab`` touches or crosses segment ``cd``."""
    o1, o2 = _orientation(a, b, c), _orientation(a, b, d)
    o3, o4 = _orientation(c, d, a), _orientation(c, d, b)
    if (o1 > 0) != (o2 > 0) and (o3 > 0) != (o4 > 0) and o1 and o2 and o3 and o4:
        return True
    return any(
        o == 0 and _on_segment(p, q, r)
        for o, p, q, r in ((o1, a, c, b), (o2, a, d, b), (o3, c, a, d), (o4, c, b, d))
    )


def _bbox(ring: Sequence[Point]) -> tuple[float, float, float, float]:
    lats = [p[0] for p in ring]
    lons = [p[1] for p in ring]
    return min(lats), min(lons), max(lats), max(lons)


def _bboxes_meet(a: Sequence[Point], b: Sequence[Point]) -> bool:
    a0, a1, a2, a3 = _bbox(a)
    b0, b1, b2, b3 = _bbox(b)
    return a0 <= b2 and b0 <= a2 and a1 <= b3 and b1 <= a3


def polygons_overlap(a: Sequence[Point], b: Sequence[Point]) -> bool:
    """True if two simple polygons share any point (overlap, containment or touch)."""
    if len(a) < 3 or len(b) < 3 or not _bboxes_meet(a, b):
        return False
    if point_in_polygon(a[0], b) or point_in_polygon(b[0], a):
        return True
    b_edges = list(_edges(b))
    return any(segments_cross(p, q, r, s) for p, q in _edges(a) for r, s in b_edges)


def _to_plane(point: Point, origin: Point) -> tuple[float, float]:
    """Kilometres east/north of ``origin`` (equirectangular, fine at Kreis scale)."""
    k = math.pi / 180 * EARTH_RADIUS_KM
    return (
        (point[1] - origin[1]) * k * math.cos(math.radians(origin[0])),
        (point[0] - origin[0]) * k,
    )


def _segment_distance_km(center: Point, a: Point, b: Point) -> float:
    ax, ay = _to_plane(a, center)
    bx, by = _to_plane(b, center)
    dx, dy = bx - ax, by - ay
    length2 = dx * dx + dy * dy
    t = 0.0 if length2 == 0 else max(0.0, min(1.0, -(ax * dx + ay * dy) / length2))
    return math.hypot(ax + t * dx, ay + t * dy)


def circle_overlaps_polygon(circle: Circle, polygon: Sequence[Point]) -> bool:
    """True if a CAP circle and a polygon share any point."""
    if len(polygon) < 3:
        return False
    if point_in_polygon(circle.center, polygon):
        return True
    return any(
        _segment_distance_km(circle.center, a, b) <= circle.radius_km for a, b in _edges(polygon)
    )


# --- GeoJSON in ---------------------------------------------------------------------


def _invalid(detail: str) -> ValidationFailed:
    return ValidationFailed("Das Gebiet ist kein gültiges GeoJSON-Polygon.", {"geojson": detail})


def _position(value: Any) -> Point:
    if (
        not isinstance(value, list)
        or len(value) < 2
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value[:2])
    ):
        raise _invalid("Jede Koordinate muss ein Paar [Länge, Breite] aus Zahlen sein.")
    lon, lat = float(value[0]), float(value[1])
    if not (-180 <= lon <= 180 and -90 <= lat <= 90) or math.isnan(lon) or math.isnan(lat):
        raise _invalid(f"Koordinate [{value[0]}, {value[1]}] liegt außerhalb der Erde.")
    return (lat, lon)


def _ring(value: Any) -> Ring:
    if not isinstance(value, list) or len(value) < 4:
        raise _invalid("Ein Polygonring braucht mindestens vier Punkte (der letzte = der erste).")
    points = tuple(_position(p) for p in value)
    if points[0] != points[-1]:
        raise _invalid("Ein Polygonring muss geschlossen sein (letzter Punkt = erster Punkt).")
    return points


def _polygon_rings(coordinates: Any) -> Ring:
    if not isinstance(coordinates, list) or not coordinates:
        raise _invalid("Ein Polygon braucht mindestens einen Ring.")
    return _ring(coordinates[0])  # outer ring; holes are ignored (see module docstring)


def _geometry_rings(geometry: Any) -> list[Ring]:
    if not isinstance(geometry, dict):
        raise _invalid("Erwartet wird ein GeoJSON-Objekt.")
    kind = geometry.get("type")
    if kind == "Polygon":
        return [_polygon_rings(geometry.get("coordinates"))]
    if kind == "MultiPolygon":
        polygons = geometry.get("coordinates")
        if not isinstance(polygons, list) or not polygons:
            raise _invalid("Ein MultiPolygon braucht mindestens ein Polygon.")
        return [_polygon_rings(p) for p in polygons]
    if kind == "Feature":
        return _geometry_rings(geometry.get("geometry"))
    if kind == "FeatureCollection":
        features = geometry.get("features")
        if not isinstance(features, list) or not features:
            raise _invalid("Die FeatureCollection enthält keine Flächen.")
        return [r for f in features for r in _geometry_rings(f)]
    raise _invalid(
        f"Typ „{kind}“ wird nicht unterstützt: erwartet Polygon, MultiPolygon, Feature "
        "oder FeatureCollection mit Flächen."
    )


def parse_geojson_area(text: str) -> tuple[Ring, ...]:
    """Validate GeoJSON text and return the outer rings of its polygons in (lat, lon).

    Raises :class:`ValidationFailed` with a field error on ``geojson`` for anything else:
    broken JSON, points or lines, open rings, coordinates off the globe, huge files.
    """
    if len(text.encode("utf-8")) > MAX_GEOJSON_BYTES:
        raise _invalid(f"Die Datei ist zu groß (höchstens {MAX_GEOJSON_BYTES // 1_000_000} MB).")
    if not text.strip():
        raise _invalid("Bitte eine GeoJSON-Datei wählen oder den Text einfügen.")
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        raise _invalid("Der Text ist kein gültiges JSON.") from None
    rings = _geometry_rings(data)
    if sum(len(r) for r in rings) > MAX_AREA_POINTS:
        raise _invalid(f"Das Gebiet hat mehr als {MAX_AREA_POINTS} Punkte; bitte vereinfachen.")
    return tuple(rings)


def area_to_geojson(rings: Sequence[Ring]) -> str:
    """The normalised form we store: a MultiPolygon of the outer rings, ``[lon, lat]``."""
    return json.dumps(
        {
            "type": "MultiPolygon",
            "coordinates": [[[[lon, lat] for lat, lon in ring]] for ring in rings],
        },
        separators=(",", ":"),
    )
