"""Pure rules: ARS (W1), relevance (W4), status filter and priority (W7, W8), templates (W10)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from server.domain.alerts import (
    TEMPLATES,
    Alert,
    Area,
    Behaviour,
    Circle,
    Info,
    InvalidArs,
    ManualTexts,
    Method,
    Place,
    PriorityTable,
    Source,
    SourceMode,
    ValuePair,
    ags,
    ars_area,
    ars_covers,
    behaviour_for,
    build_alert,
    make_identifier,
    may_show,
    nina_dashboard_key,
    present,
    relevance,
    severity_for_warnstufe,
    significant_prefix,
    source_from_nina_id,
    template,
    validate_ars,
    warnstufe_for,
)
from server.domain.alerts.manual import UnknownTemplate

SENT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SANGERHAUSEN = "150870045045"
HELBRA = "150875063015"  # a Gemeinde of a Verbandsgemeinde in Mansfeld-Südharz
MAGDEBURG = "150030000000"


def _alert(
    *,
    severity="Severe",
    urgency="Immediate",
    status="Actual",
    scope="Public",
    msg_type="Alert",
    areas=(),
    parameters=(),
) -> Alert:
    info = Info(
        language="de-DE",
        categories=("Safety",),
        event="Test",
        urgency=urgency,
        severity=severity,
        certainty="Observed",
        headline="Überschrift",
        parameters=tuple(parameters),
        areas=tuple(areas),
    )
    return Alert("A-1", "s@example.org", SENT, status, msg_type, scope, infos=(info,))


# --- W1 ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", ["15087004504", "1508700450450", "15087004504a", "1508 7004504", ""]
)
def test_ars_must_have_exactly_twelve_digits(value):
    with pytest.raises(InvalidArs, match="genau 12 Ziffern"):
        validate_ars(value)


def test_ars_helpers():
    assert validate_ars(" 150870045045 ") == "150870045045"
    assert nina_dashboard_key(SANGERHAUSEN) == "150870000000"
    assert nina_dashboard_key(MAGDEBURG) == "150030000000"
    assert ags("120600181181") == "12060181"
    assert significant_prefix("150000000000") == "15"
    assert significant_prefix("150870000000") == "15087"
    assert significant_prefix("150875063000") == "150875063"
    assert significant_prefix(SANGERHAUSEN) == SANGERHAUSEN
    assert significant_prefix("000000000000") == ""
    assert ars_covers("150870000000", HELBRA)
    assert ars_covers("150000000000", HELBRA)
    assert not ars_covers("150880000000", HELBRA)
    assert not ars_covers(HELBRA, "150870000000")  # a Gemeinde does not cover its Kreis


# --- W4 ----------------------------------------------------------------------------


def test_relevance_by_ars_prefix_kreis_wide_covers_all_municipalities():
    kreis_wide = _alert(
        areas=[Area("Landkreis Mansfeld-Südharz", geocodes=(ValuePair("SHN", "150870000000"),))]
    )
    assert relevance(kreis_wide, Place(SANGERHAUSEN)).relevant
    assert relevance(kreis_wide, Place(HELBRA)).method is Method.ARS
    assert not relevance(kreis_wide, Place(MAGDEBURG)).relevant


def test_relevance_by_nina_parameter_warnverwaltungsbereiche():
    land_wide = _alert(
        parameters=[ValuePair("warnVerwaltungsbereiche", "130000000000,150000000000")]
    )
    assert relevance(land_wide, Place(MAGDEBURG)).relevant
    assert not relevance(land_wide, Place("091620000000")).relevant


def test_ars_decides_even_if_the_text_would_match():
    alert = _alert(areas=[Area("Sangerhausen", geocodes=(ValuePair("SHN", MAGDEBURG),))])
    result = relevance(alert, Place(SANGERHAUSEN, names=("Sangerhausen",)))
    assert result == relevance(alert, Place(SANGERHAUSEN)) and not result.relevant


def test_relevance_by_dwd_warncell():
    commune = _alert(
        areas=[Area("Stadt Havelsee", geocodes=(ValuePair("WARNCELLID", "812069270"),))]
    )
    assert relevance(commune, Place("120690270270")).relevant  # AGS 12069270
    assert relevance(commune, Place("120690270270")).method is Method.WARNCELL
    assert not relevance(commune, Place("120690272272")).relevant
    district = _alert(areas=[Area("Kreis", geocodes=(ValuePair("WARNCELLID", "115087000"),))])
    assert relevance(district, Place(HELBRA)).relevant


def test_relevance_by_geometry_then_text_then_dashboard():
    square = ((51.0, 11.0), (51.0, 12.0), (52.0, 12.0), (52.0, 11.0), (51.0, 11.0))
    poly = _alert(areas=[Area("polygonal event area", polygons=(square,))])
    inside = Place(SANGERHAUSEN, point=(51.47, 11.30))
    outside = Place(SANGERHAUSEN, point=(50.5, 11.3))
    assert relevance(poly, inside).relevant and relevance(poly, inside).method is Method.GEOMETRY
    assert not relevance(poly, outside).relevant
    circle = _alert(areas=[Area("Umkreis", circles=(Circle((51.47, 11.30), 2.0),))])
    assert relevance(circle, inside).relevant
    assert not relevance(circle, Place(SANGERHAUSEN, point=(51.60, 11.30))).relevant

    text = _alert(areas=[Area("Gemeinde Helbra, Stadt Hettstedt")])
    assert relevance(text, Place(HELBRA, names=("Helbra",))).method is Method.AREA_TEXT
    assert not relevance(text, Place(HELBRA, names=("Hel",))).relevant
    assert not relevance(text, Place(HELBRA)).relevant
    fallback = relevance(text, Place(SANGERHAUSEN), from_own_dashboard=True)
    assert fallback.relevant and fallback.method is Method.DASHBOARD


# --- W7, W8 ------------------------------------------------------------------------


def test_status_filter():
    actual = _alert()
    exercise = _alert(status="Exercise")
    assert may_show(actual, test_display=False) and may_show(actual, test_display=True)
    assert not may_show(exercise, test_display=False)
    assert may_show(exercise, test_display=True)
    assert not may_show(_alert(status="Draft"), test_display=True)
    assert not may_show(_alert(status="System"), test_display=True)
    assert not may_show(_alert(scope="Restricted"), test_display=False)
    assert present(exercise, Source.MANUAL, test_display=False) is None
    shown = present(_alert(status="Test", severity="Extreme"), Source.MANUAL, test_display=True)
    assert shown is not None and shown.status_label == "Test"
    assert present(exercise, Source.MANUAL, test_display=True).status_label == "Übung"


@pytest.mark.parametrize(
    ("severity", "stufe", "behaviour"),
    [
        ("Extreme", 1, Behaviour.TAKEOVER),
        ("Severe", 2, Behaviour.ALTERNATE),
        ("Moderate", 3, Behaviour.BANNER),
        ("Minor", 3, Behaviour.BANNER),
        ("Unknown", 3, Behaviour.BANNER),
    ],
)
def test_default_priority_table(severity, stufe, behaviour):
    alert = _alert(severity=severity)
    assert warnstufe_for(alert) == stufe
    assert behaviour_for(alert, Source.MOWAS) is behaviour


def test_priority_overrides_and_cancel():
    extreme = _alert(severity="Extreme")
    banner_dwd = PriorityTable(source_modes={Source.DWD: SourceMode.BANNER})
    assert behaviour_for(extreme, Source.DWD, banner_dwd) is Behaviour.BANNER
    assert behaviour_for(extreme, Source.MOWAS, banner_dwd) is Behaviour.TAKEOVER
    strict = PriorityTable(
        warnstufe_behaviour={1: Behaviour.TAKEOVER, 2: Behaviour.TAKEOVER, 3: Behaviour.BANNER}
    )
    assert behaviour_for(_alert(severity="Severe"), Source.LHP, strict) is Behaviour.TAKEOVER
    assert (
        behaviour_for(_alert(severity="Extreme", urgency="Past"), Source.MOWAS) is Behaviour.BANNER
    )
    for severity in ("Extreme", "Minor", "Unknown"):
        cancel = _alert(severity=severity, msg_type="Cancel")
        assert behaviour_for(cancel, Source.MOWAS) is Behaviour.ALL_CLEAR


def test_warnstufe_round_trip():
    for stufe in (1, 2, 3):
        assert warnstufe_for(_alert(severity=severity_for_warnstufe(stufe))) == stufe
    with pytest.raises(ValueError, match="Warnstufe"):
        severity_for_warnstufe(4)


@pytest.mark.parametrize(
    ("identifier", "source"),
    [
        ("mow.DE-NW-DU-SE038-20240528-38-001", Source.MOWAS),
        ("dwd.2.49.0.0.276.0.DWD.PVW.1", Source.DWD),
        ("lhp.LHP.BY.16100_774", Source.LHP),
        ("pol.DE-XY-1", Source.POLICE),
        ("kat.ABC", Source.KATWARN),
        ("bwp.BIWAPP-1", Source.BIWAPP),
        ("biw.BIWAPP-69634", Source.BIWAPP),
        ("DE-15-X", Source.OTHER),
    ],
)
def test_source_from_nina_id(identifier, source):
    assert source_from_nina_id(identifier) is source


# --- W10 ---------------------------------------------------------------------------


def test_templates_cover_the_required_emergencies_in_german():
    assert set(TEMPLATES) == {
        "hochwasser",
        "unwetter",
        "trinkwasser",
        "gefahrstoff",
        "evakuierung",
        "stromausfall",
        "bombenentschaerfung",
    }
    for t in TEMPLATES.values():
        texts = t.texts("Ortsteil Oberröblingen")
        assert "Ortsteil Oberröblingen" in texts["headline"]
        assert all("{" not in v for v in texts.values())
        assert t.default_warnstufe in (1, 2, 3)
        alert = build_alert(
            identifier=make_identifier(SANGERHAUSEN, "u-1"),
            sender="kats@example.org",
            sent=SENT,
            warnstufe=t.default_warnstufe,
            texts=ManualTexts(
                event=t.event,
                category=t.category,
                sender_name="Stadt",
                response_type=t.response_type,
                **texts,
            ),
            areas=[ars_area("Sangerhausen", [SANGERHAUSEN])],
        )
        assert warnstufe_for(alert) == t.default_warnstufe
    assert template("trinkwasser").name == "Trinkwasser"
    with pytest.raises(UnknownTemplate):
        template("meteorit")


def test_manual_alert_is_relevant_where_it_was_issued():
    alert = build_alert(
        identifier=make_identifier(SANGERHAUSEN, "u-2"),
        sender="kats@example.org",
        sent=SENT,
        warnstufe=1,
        texts=ManualTexts(
            event="Evakuierung",
            category="Safety",
            headline="H",
            description="D",
            instruction="I",
            sender_name="Stadt",
        ),
        areas=[ars_area("Landkreis", ["150870000000"])],
    )
    assert relevance(alert, Place(HELBRA)).relevant
    assert not relevance(replace(alert), Place(MAGDEBURG)).relevant
