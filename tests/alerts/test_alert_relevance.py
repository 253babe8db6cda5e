"""Relevance by every key W4 names, in order (issue 14), table-driven over real samples.

Real samples: the DWD CAP messages in shared/fixtures/cap (warn cells in Niedersachsen and
Brandenburg), NINA's MoWaS message coded by ARS (``warnVerwaltungsbereiche``) and NINA's
storm warning that names its area only by text. The fixtures hold no DWD message for
Sachsen-Anhalt; that one is built here in DWD's shape (warn cells, "polygonal event
area"), as are the polygon-only and circle-only messages.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from server.domain.alerts import Alert, Area, Circle, Info, ValuePair
from server.domain.alerts.geometry import (
    area_to_geojson,
    circle_overlaps_polygon,
    parse_geojson_area,
    polygons_overlap,
)
from server.domain.alerts.relevance import Place, match_label, relevance
from server.domain.alerts.warncells import (
    cell_for_gemeinde,
    cell_for_kreis,
    warncell_covers,
    warncell_overlaps,
)
from server.domain.errors import ValidationFailed
from server.sources.cap import alert_from_cap_json, parse_cap
from server.sources.warncells import (
    WarncellTableError,
    cell_name,
    load_table,
    read_warncell_csv,
)


def square(lat: float, lon: float, d: float = 0.05) -> tuple:
    return ((lat - d, lon - d), (lat - d, lon + d), (lat + d, lon + d), (lat + d, lon - d),
            (lat - d, lon - d))  # fmt: skip


PLACES = {
    "bovenden": Place("031590007007", names=("Flecken Bovenden",)),
    "lk_goettingen": Place("031590000000", names=("Landkreis Göttingen",)),
    "havelsee": Place("120690270270", names=("Stadt Havelsee",)),
    "magdeburg": Place("150030000000", names=("Magdeburg",), area=(square(52.13, 11.62),)),
    "sangerhausen": Place("150870045045", names=("Sangerhausen",), area=(square(51.47, 11.30),)),
    "nagold": Place("082350046046", names=("Stadt Nagold",)),
}


def _info(areas, **kw) -> Info:
    return Info(
        categories=("Met",),
        event="STURMBÖEN",
        urgency="Immediate",
        severity="Moderate",
        certainty="Likely",
        language="de-DE",
        headline="Amtliche WARNUNG vor STURMBÖEN",
        areas=tuple(areas),
        **kw,
    )


def _alert(*areas: Area, ident: str = "T") -> Alert:
    sent = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    return Alert(ident, "opendata@dwd.de", sent, "Actual", "Alert", "Public", infos=(_info(areas),))


def _cell_area(desc: str, cell: str) -> Area:
    return Area(desc, geocodes=(ValuePair("WARNCELLID", cell),))


DWD_SACHSEN_ANHALT = _alert(
    Area("polygonal event area", polygons=(square(52.0, 11.5, 0.6),)),
    _cell_area("Stadt Magdeburg", "815003000"),
    _cell_area("Kreis Mansfeld-Südharz", "115087000"),
)
POLYGON_ONLY = _alert(Area("Sperrgebiet", polygons=(square(51.46, 11.31, 0.02),)))
CIRCLE_ONLY = _alert(Area("Umkreis Fundstelle", circles=(Circle((52.14, 11.60), 1.5),)))


@pytest.fixture(scope="module")
def samples(shared_fixtures):
    cap = shared_fixtures / "cap"
    nina = json.loads((shared_fixtures / "nina" / "ha_sample_warning_details.json").read_text())
    return {
        "dwd_niedersachsen": parse_cap((cap / "dwd_alert_windboeen_2023-06-22.xml").read_bytes()),
        "dwd_brandenburg": parse_cap((cap / "dwd_update_starkregen_2023-06-23.xml").read_bytes()),
        "mowas_ars": alert_from_cap_json(nina["mow.DE-BW-S-SE018-20211102-18-001"]),
        "area_text_only": alert_from_cap_json(nina["mow.DE-NW-BN-SE030-20201014-30-000"]),
    }


# sample -> {place: expected key} for the places where it is relevant; relevant nowhere else.
EXPECTED = {
    "dwd_niedersachsen": {"bovenden": "warncell:803159007"},
    "dwd_brandenburg": {"havelsee": "warncell:812069270"},
    "dwd_sachsen_anhalt": {"magdeburg": "warncell:815003000", "sangerhausen": "warncell:115087000"},
    "mowas_ars": {
        "bovenden": "ars:030000000000",
        "lk_goettingen": "ars:030000000000",
        "havelsee": "ars:120000000000",
        "magdeburg": "ars:150000000000",
        "sangerhausen": "ars:150000000000",
        "nagold": "ars:080000000000",
    },
    "polygon_only": {"sangerhausen": "geometry"},
    "circle_only": {"magdeburg": "geometry"},
    "area_text_only": {"nagold": "area_text:Stadt Nagold"},
}


def _sample(samples, name):
    built = {
        "dwd_sachsen_anhalt": DWD_SACHSEN_ANHALT,
        "polygon_only": POLYGON_ONLY,
        "circle_only": CIRCLE_ONLY,
    }
    found = built.get(name) or samples[name]
    return getattr(found, "alert", found)


@pytest.mark.parametrize("sample", sorted(EXPECTED))
@pytest.mark.parametrize("place", sorted(PLACES))
def test_each_sample_is_relevant_exactly_where_it_should_be(samples, sample, place):
    verdict = relevance(_sample(samples, sample), PLACES[place])
    expected = EXPECTED[sample].get(place)
    assert verdict.relevant is (expected is not None), verdict
    if expected:
        assert verdict.key == expected


def test_dwd_warning_is_decided_by_its_cells_not_by_its_polygon(samples):
    """A place whose area lies inside the message's polygon but whose cell the message
    does not name is decided by the cells, which come first in W4."""
    alert = _sample(samples, "dwd_niedersachsen")
    inside_polygon = Place("150030000000", area=(square(51.9, 10.6, 0.01),))
    assert relevance(replace(alert, infos=tuple(
        replace(i, areas=tuple(a for a in i.areas if a.polygons)) for i in alert.infos
    )), inside_polygon).key == "geometry"  # fmt: skip
    verdict = relevance(alert, inside_polygon)
    assert verdict.method.value == "warncell" and not verdict.relevant


def test_own_dashboard_fallback_only_when_nothing_decides(samples):
    no_area = Place("150870045045")
    assert relevance(POLYGON_ONLY, no_area, from_own_dashboard=True).key == "dashboard"
    assert not relevance(POLYGON_ONLY, PLACES["magdeburg"], from_own_dashboard=True).relevant


def test_overlap_widens_to_the_kreis_that_contains_the_town(samples):
    alert = _sample(samples, "dwd_niedersachsen")
    assert not relevance(alert, PLACES["lk_goettingen"]).relevant
    assert (
        relevance(alert, PLACES["lk_goettingen"], overlap=True).key == "warncell:803159007"
    )  # first in the message


@pytest.mark.parametrize(
    ("cell", "ars", "covers", "overlaps"),
    [
        ("803159007", "031590007007", True, True),  # Gemeinde cell = 8 + AGS
        ("815003000", "150030000000", True, True),  # kreisfreie Stadt, Gemeinde cell
        ("115003000", "150030000000", True, True),  # ... and its Kreis cell
        ("115087000", "150870045045", True, True),  # Kreis cell covers its towns
        ("815087045", "150870000000", False, True),  # a town's cell and its Kreis
        ("901054002", "010540000000", True, True),  # part of a Kreis (coast)
        ("803159007", "150030000000", False, False),
        ("701000000", "110000000000", True, True),  # Berlin
        ("501000000", "110000000000", False, False),  # not a municipality cell
        ("80315900", "031590007007", False, False),  # malformed
    ],
)
def test_warncell_rules(cell, ars, covers, overlaps):
    assert warncell_covers(cell, ars) is covers
    assert warncell_overlaps(cell, ars) is overlaps


def test_cell_rule_matches_the_real_dwd_samples():
    table = load_table()
    assert cell_for_gemeinde("031010000000") == "803101000"
    assert table["803101000"].name == "Stadt Braunschweig"
    assert table["812069270"].name == "Stadt Havelsee"
    assert cell_for_kreis("053150000000") == "105315000"
    assert cell_name("803159007") == "Gemeinde Bovenden"
    assert all(c.startswith("8") and c[1:3] in ("03", "12") for c in table)


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"WARNCELLID;NAME\n", "Kopfzeile"),
        (b"WARNCELLID;NAME;KURZNAME;CCC;BL\n12345;X;;;\n", "neunstellige"),
        (b"WARNCELLID;NAME;KURZNAME;CCC;BL\n815003000;;;;ST\n", "Name fehlt"),
        (
            b"WARNCELLID;NAME;KURZNAME;CCC;BL\n815003000;A;;;ST\n815003000;B;;;ST\n",
            "doppelt",
        ),
        (b"WARNCELLID;NAME;KURZNAME;CCC;BL\n", "keine Warnzellen"),
    ],
)
def test_warncell_import_refuses_bad_lists(body, problem):
    with pytest.raises(WarncellTableError, match=problem):
        read_warncell_csv(body)


def test_warncell_import_reads_dwd_format_in_windows_1252():
    body = "WARNCELLID;NAME;KURZNAME;CCC;BL\n815003000;Stadt Magdeburg;Magdeburg;MDX;ST\n"
    (cell,) = read_warncell_csv(body.encode("cp1252"))
    assert (cell.cell, cell.name, cell.land) == ("815003000", "Stadt Magdeburg", "ST")


def test_match_labels_are_german():
    assert match_label("warncell:815003000") == "Warnzelle 815003000"
    assert match_label("ars:150030000000") == "ARS 150030000000"
    assert match_label("geometry") == "Polygon"
    assert match_label("area_text:Harz") == "Gebietsname Harz"


# --- geometry and GeoJSON ------------------------------------------------------------


def test_polygon_and_circle_overlap():
    a = square(51.0, 11.0, 0.1)
    assert polygons_overlap(a, square(51.05, 11.05, 0.1))  # partial overlap
    assert polygons_overlap(a, square(51.0, 11.0, 0.01))  # containment
    assert polygons_overlap(square(51.0, 11.0, 0.01), a)
    assert not polygons_overlap(a, square(52.0, 11.0, 0.1))
    # A cross: no vertex of either inside the other, but edges cross.
    thin = ((50.95, 10.5), (50.95, 11.5), (51.05, 11.5), (51.05, 10.5), (50.95, 10.5))
    tall = ((50.5, 10.95), (50.5, 11.05), (51.5, 11.05), (51.5, 10.95), (50.5, 10.95))
    assert polygons_overlap(thin, tall)
    # 0.1° of latitude is about 11.1 km: a 12 km circle 0.2° north reaches the edge.
    assert circle_overlaps_polygon(Circle((51.2, 11.0), 12.0), a)
    assert not circle_overlaps_polygon(Circle((51.2, 11.0), 10.0), a)


GEOJSON_SQUARE = {
    "type": "Polygon",
    "coordinates": [
        [[11.25, 51.42], [11.35, 51.42], [11.35, 51.52], [11.25, 51.52], [11.25, 51.42]]
    ],
}


@pytest.mark.parametrize(
    "geojson",
    [
        GEOJSON_SQUARE,
        {"type": "MultiPolygon", "coordinates": [GEOJSON_SQUARE["coordinates"]]},
        {"type": "Feature", "properties": {}, "geometry": GEOJSON_SQUARE},
        {
            "type": "FeatureCollection",
            "features": [{"type": "Feature", "geometry": GEOJSON_SQUARE}],
        },
    ],
)
def test_geojson_import_accepts_areas(geojson):
    (ring,) = parse_geojson_area(json.dumps(geojson))
    assert ring[0] == (51.42, 11.25)  # GeoJSON [lon, lat] became CAP (lat, lon)
    assert parse_geojson_area(area_to_geojson([ring])) == (ring,)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "wählen"),
        ("{kein json", "kein gültiges JSON"),
        ('{"type": "Point", "coordinates": [11.3, 51.4]}', "nicht unterstützt"),
        ('{"type": "Polygon", "coordinates": [[[11, 51], [12, 51], [12, 52]]]}', "vier Punkte"),
        ('{"type": "Polygon", "coordinates": [[[11,51],[12,51],[12,52],[11,52]]]}', "geschlossen"),
        ('{"type": "Polygon", "coordinates": [[[191,51],[12,51],[12,52],[191,51]]]}', "außerhalb"),
        ('{"type": "Polygon", "coordinates": [[["a",51],[12,51],[12,52],["a",51]]]}', "Zahlen"),
        ('{"type": "FeatureCollection", "features": []}', "keine Flächen"),
    ],
)
def test_bad_geojson_is_a_field_error(text, problem):
    with pytest.raises(ValidationFailed) as caught:
        parse_geojson_area(text)
    assert problem in caught.value.field_errors["geojson"]
