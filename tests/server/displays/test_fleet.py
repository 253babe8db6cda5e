"""The staff dashboard lists the displays that need someone (issue 16): offline or never
seen, or a screen that is not as its schedule asks; all states in German."""

from __future__ import annotations

import json
from datetime import timedelta

from server.services.displays import enrolment
from server.services.displays.reports import record_heartbeat
from tests.conftest import login

from .conftest import enrolled_display


def _beat(session, display, at, screen=None):
    body = {"player_version": "1.0"}
    if screen is not None:
        body["screen"] = screen
    record_heartbeat(session, display.id, body, at)


def test_dashboard_lists_offline_and_mismatching_displays_in_german(client, dw, session, now):
    online, _ = enrolled_display(session, dw.tenant, "Bürgerbüro", now)
    dark, _ = enrolled_display(session, dw.tenant, "Schaukasten Markt", now)
    retired, _ = enrolled_display(session, dw.tenant, "Alte Tafel", now)
    never, _ = enrolled_display(session, dw.tenant, "Neue Tafel Bahnhof", now)
    session.flush()
    _beat(session, dw.display, now - timedelta(hours=3))  # Rathaus Foyer: offline
    _beat(
        session,
        online,
        now - timedelta(seconds=20),
        {"desired": "on", "actual": "on", "method": "cec", "mismatch": False},
    )
    _beat(
        session,
        dark,
        now - timedelta(seconds=20),
        {"desired": "on", "actual": "off", "method": "cec", "mismatch": True},
    )
    _beat(session, retired, now - timedelta(days=3))
    enrolment.retire_display(session, retired, dw.admin, now)
    session.commit()
    login(client, dw.editor.email)
    page = client.get(f"/admin/{dw.tenant.slug}/").get_data(as_text=True)
    card = page[page.index("Anzeigen mit Handlungsbedarf") :]
    card = card[: card.index("</section>")]
    assert "(3 von 4)" in card
    assert "Rathaus Foyer" in card and "Offline" in card and "zuletzt gesehen" in card
    assert "Neue Tafel Bahnhof" in card and "Noch kein Lebenszeichen" in card
    assert "Schaukasten Markt" in card and "Bildschirm ist aus, soll laut Zeitplan an sein" in card
    assert "Bürgerbüro" not in card and "Alte Tafel" not in card
    assert card.index("Rathaus Foyer") < card.index("Schaukasten Markt")  # offline first
    for english in ("unknown", "none", " on ", " off ", "mismatch"):
        assert english not in card


def test_display_list_and_detail_speak_german(client, dw, session, now):
    _beat(
        session,
        dw.display,
        now - timedelta(seconds=5),
        {"desired": "off", "actual": "on", "method": "wlr", "mismatch": True},
    )
    session.commit()
    login(client, dw.admin.email)
    listing = client.get(f"/admin/{dw.tenant.slug}/anzeigen/").get_data(as_text=True)
    assert "an (soll: aus), wlr-randr" in listing
    detail = client.get(f"/admin/{dw.tenant.slug}/anzeigen/{dw.display.id}").get_data(as_text=True)
    assert "an (soll: aus), wlr-randr" in detail
    assert "soll on" not in detail and "ist unknown" not in detail and "(none)" not in detail
    assert json.loads(session.get(type(dw.display), dw.display.id).screen_state)["actual"] == "on"
