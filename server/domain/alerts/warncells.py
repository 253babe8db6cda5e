"""DWD warn cells (``WARNCELLID``) and the places they cover (W4).

DWD addresses its CAP warnings to warn cells of nine digits; the first digit is the
kind of cell (DWD's list ``cap_warncellids_csv.csv``, see
``server/sources/data/warncells/README.md``):

* ``8`` + 8-digit AGS: a Gemeinde (e.g. ``803159007`` Gemeinde Bovenden, AGS 03159007;
  ``812069270`` Stadt Havelsee, AGS 12069270 — both from real DWD messages).
* ``1`` + 5-digit Kreis key + ``000``: a Landkreis or kreisfreie Stadt
  (``105315000`` Köln).
* ``9`` + 5-digit Kreis key + 3 digits: part of a Kreis (coast, heights), counted as
  the whole Kreis.
* ``7…``: the districts of Berlin (Land 11).

Other kinds (lakes, coastal waters, ``2``/``4``/``5``) name no municipality and match
no place. Everything here is computed from the digits; the shipped table only adds
names.
"""

from __future__ import annotations

from enum import StrEnum

from ..ars import ags, significant_prefix, validate_ars

BERLIN_LAND = "11"


class CellKind(StrEnum):
    GEMEINDE = "gemeinde"
    KREIS = "kreis"
    KREIS_PART = "kreis_part"
    BERLIN = "berlin"
    OTHER = "other"


def cell_kind(cell: str) -> CellKind:
    """The kind of a warn cell by its first digit; ``OTHER`` for anything malformed."""
    if not cell.isdigit() or len(cell) != 9:
        return CellKind.OTHER
    return {
        "8": CellKind.GEMEINDE,
        "1": CellKind.KREIS,
        "9": CellKind.KREIS_PART,
        "7": CellKind.BERLIN,
    }.get(cell[0], CellKind.OTHER)


def cell_for_gemeinde(ars: str) -> str:
    """The Gemeinde cell of a place: ``8`` + its AGS."""
    return "8" + ags(ars)


def cell_for_kreis(ars: str) -> str:
    """The Kreis cell of a place: ``1`` + its Kreis key + ``000``."""
    return "1" + validate_ars(ars)[:5] + "000"


def _cell_area(cell: str) -> tuple[CellKind, str]:
    """The kind and the AGS prefix a cell names (8 digits for a Gemeinde, 5 for a Kreis)."""
    kind = cell_kind(cell)
    if kind is CellKind.GEMEINDE:
        return kind, cell[1:]
    if kind in (CellKind.KREIS, CellKind.KREIS_PART):
        return kind, cell[1:6]
    if kind is CellKind.BERLIN:
        return kind, BERLIN_LAND
    return kind, ""


def _place_prefix(ars: str) -> str:
    """The AGS prefix of a place: 8 digits for a Gemeinde, fewer for a Kreis or Land."""
    prefix = significant_prefix(ars)
    return ags(ars) if len(prefix) > 5 else prefix


def warncell_covers(cell: str, ars: str) -> bool:
    """True if the warn cell contains the place with this ARS (the display question)."""
    kind, cell_prefix = _cell_area(cell)
    if not cell_prefix:
        return False
    if kind is CellKind.GEMEINDE:
        # Exact: also right for a kreisfreie Stadt, whose ARS reads like a Kreis's.
        return ags(ars) == cell_prefix
    return _place_prefix(ars).startswith(cell_prefix)


def warncell_overlaps(cell: str, ars: str) -> bool:
    """True if the warn cell and the place share ground (a Kreis and one of its towns)."""
    _kind, cell_prefix = _cell_area(cell)
    if not cell_prefix:
        return False
    if warncell_covers(cell, ars):
        return True
    place = _place_prefix(ars)
    return place.startswith(cell_prefix) or cell_prefix.startswith(place)
