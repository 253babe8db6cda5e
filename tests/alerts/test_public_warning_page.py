"""The citizens' warning page ``/<tenant>/warnungen``: active warnings in every language,
the CAP link, Entwarnungen of the last hours, the age of the NINA data, and links to it
from every public page (footer, feed autodiscovery)."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from server.domain.alerts import ManualTexts, ars_area, build_alert, build_cancel
from server.services import alerts as svc
from server.sources.cap import build_cap_xml

KREIS_ARS = "150870000000"
TOWN_ARS = "150870045045"


@pytest.fixture(autouse=True)
def nina_on(app, monkeypatch):
    """These tests are about a NINA feed the operator switched on."""
    monkeypatch.setitem(app.config, "AUSHANG_NINA_ENABLED", True)


@pytest.fixture
def now():
    return datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def world(factory, session, now):
    kreis = factory.tenant("kreis-msh", ars=KREIS_ARS, name="Landkreis Mansfeld-Südharz")
    town = factory.tenant("sangerhausen", ars=TOWN_ARS, name="Sangerhausen")
    factory.tenant("magdeburg", ars="150030000000", name="Magdeburg")
    _, plain = svc.create_api_token(session, tenant=kreis, name="Leitstelle", user=None, now=now)
    svc.grant_alert_permission(session, tenant=town, grantee=kreis, now=now, actor="test")
    session.commit()
    return {"Authorization": f"Bearer {plain}"}


def _message(ident, sent, **kw):
    alert = build_alert(
        identifier=ident,
        sender="leitstelle@kreis-msh.example",
        sent=sent,
        warnstufe=1,
        texts=ManualTexts(
            event="Großbrand",
            category="Fire",
            headline="Großbrand in Sangerhausen",
            description="Starke Rauchentwicklung im Gewerbegebiet.",
            instruction="Fenster und Türen schließen.",
            sender_name="Leitstelle Mansfeld-Südharz",
        ),
        areas=[ars_area("Sangerhausen", [TOWN_ARS])],
        expires=sent + timedelta(hours=6),
        **kw,
    )
    german = alert.infos[0]
    english = replace(
        german,
        language="en-US",
        headline="Major fire in Sangerhausen",
        description="Heavy smoke in the industrial area.",
        instruction="Close windows and doors.",
        web="https://warnung.example/lage",
    )
    return replace(alert, infos=(german, english))


def _post(client, auth, alert):
    answer = client.post(
        "/api/v1/alerts",
        data=build_cap_xml(alert),
        headers=auth,
        content_type="application/cap+xml",
    )
    assert answer.status_code == 201, answer.get_json()


def test_active_warning_in_every_language_with_cap_link(client, world, now):
    _post(client, world, _message("LS-P1", now))
    page = client.get("/sangerhausen/warnungen")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Gültige Warnungen (1)" in html
    assert "Großbrand in Sangerhausen" in html and "Fenster und Türen schließen." in html
    assert "Leitstelle Mansfeld-Südharz" in html and "Warnstufe 1" in html
    assert 'href="/warnungen/cap/LS-P1.xml"' in html
    # The English version, marked up in its language.
    assert re.search(r'<div lang="en">\s*<h4>Major fire in Sangerhausen</h4>', html)
    assert "Englisch / en-US" in html
    # No third-party hosts are loaded: no scripts, styles or images from elsewhere.
    assert not re.search(r'<(script|img|link)[^>]+(src|href)="https?://(?!localhost)', html)
    assert "Warnmeldungen von NINA: noch keine Daten abgerufen." in html
    # Another place is not concerned.
    other = client.get("/magdeburg/warnungen").get_data(as_text=True)
    assert "Derzeit liegt für Magdeburg keine Warnung vor." in other


def test_entwarnung_of_the_last_hours(client, world, now):
    first = _message("LS-P2", now - timedelta(hours=1))
    _post(client, world, first)
    _post(client, world, build_cancel(first, identifier="LS-P3", sent=now))
    html = client.get("/sangerhausen/warnungen").get_data(as_text=True)
    assert "Gültige Warnungen (0)" in html
    assert "Entwarnungen der letzten 6 Stunden" in html
    assert "Aufgehoben: Großbrand in Sangerhausen" in html
    assert 'href="/warnungen/cap/LS-P3.xml"' in html


def test_exercises_are_not_on_the_public_page(client, world, now):
    _post(client, world, _message("LS-P4", now, status="Exercise"))
    html = client.get("/sangerhausen/warnungen").get_data(as_text=True)
    assert "Gültige Warnungen (0)" in html and "LS-P4" not in html


def test_linked_from_every_public_page_with_feed_autodiscovery(client, world):
    html = client.get("/sangerhausen/").get_data(as_text=True)
    assert 'href="/sangerhausen/warnungen"' in html
    assert (
        '<link rel="alternate" type="application/atom+xml" '
        'title="Warnungen – Sangerhausen (Atom, CAP)" href="/sangerhausen/feeds/warnungen.atom">'
    ) in html
    assert 'type="application/feed+json"' in html and "/sangerhausen/feeds/warnungen.json" in html
    assert client.get("/unbekannt/warnungen").status_code == 404


def test_age_of_the_last_good_nina_data(client, world, session, now):
    from server.domain.alerts import nina_dashboard_key
    from server.models import AlertFeed

    session.add(
        AlertFeed(
            key=nina_dashboard_key(TOWN_ARS),
            entries_json="{}",
            watching_since=now - timedelta(hours=1),
            last_attempt_at=now,
            last_success_at=now - timedelta(minutes=10),
            consecutive_failures=20,
        )
    )
    session.commit()
    html = client.get("/sangerhausen/warnungen").get_data(as_text=True)
    assert "<strong>Achtung: Warnmeldungen von NINA seit" in html


def test_no_doubled_prefixes(client, world, now):
    """Issue 14: the page printed „Quelle: Quelle: …“ and „Entwarnung: Entwarnung: …“."""
    first = _message("LS-Q1", now)
    _post(client, world, first)
    page = client.get("/sangerhausen/warnungen").get_data(as_text=True)
    assert "<dt>Quelle</dt><dd>Leitstelle</dd>" in page and "Quelle: Quelle" not in page
    _post(client, world, build_cancel(first, identifier="LS-Q2", sent=now + timedelta(seconds=1)))
    page = client.get("/sangerhausen/warnungen").get_data(as_text=True)
    assert "Entwarnung: Großbrand in Sangerhausen</h3>" in page
    assert "Entwarnung: Entwarnung" not in page
