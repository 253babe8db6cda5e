"""Feed health alerts people (W3): a banner on every staff page for alerters and admins
when NINA is stale, and the age of the last good data in the public feeds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import feedparser
import pytest
from sqlalchemy import event

from server.extensions import db
from server.models import AlertFeed
from server.services import alerts as svc
from server.services.alert_health import nina_status

from ..conftest import login

TOWN_ARS = "150870045045"
KEY = "150870000000"


@pytest.fixture(autouse=True)
def nina_on(app, monkeypatch):
    """These tests are about a NINA feed the operator switched on."""
    monkeypatch.setitem(app.config, "AUSHANG_NINA_ENABLED", True)


@pytest.fixture
def now():
    return datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def town(factory, session):
    tenant = factory.tenant("sangerhausen", ars=TOWN_ARS, name="Sangerhausen")
    session.commit()
    return tenant


def _feed(session, last_success, error=None, watching_since=None):
    session.add(
        AlertFeed(
            key=KEY,
            entries_json="{}",
            consecutive_failures=4 if error else 0,
            last_success_at=last_success,
            last_attempt_at=last_success,
            watching_since=watching_since or last_success,
            last_error=error,
        )
    )
    session.commit()


PAGES = (
    "/admin/sangerhausen/",
    "/admin/sangerhausen/bekanntmachungen/",
    "/admin/sangerhausen/warnungen/",
)


def test_stale_feed_banner_on_every_staff_page_for_alerters_and_admins(
    client, factory, town, session, now
):
    alerter = factory.user(town, "alerter")
    admin = factory.user(town, "admin")
    editor = factory.user(town, "editor", "approver")
    _feed(session, now - timedelta(minutes=7), error="NINA antwortete mit HTTP 503.")
    for user in (alerter, admin):
        login(client, user.email)
        for path in PAGES:
            r = client.get(path)
            if r.status_code == 403:  # an alerter has no notices pages
                continue
            html = r.get_data(as_text=True)
            assert r.status_code == 200, path
            assert 'class="alarm-banner" role="alert"' in html, path
            assert "Warnmeldungen von NINA seit" in html and "nicht aktualisiert" in html
            assert "(vor 7 min)" in html and "HTTP 503" in html
        client.get("/logout")
    login(client, admin.email)
    assert "alarm-banner" in client.get("/admin/sangerhausen/einstellungen").get_data(as_text=True)
    client.get("/logout")
    login(client, editor.email)
    for path in PAGES[:2]:
        assert "alarm-banner" not in client.get(path).get_data(as_text=True)


def test_no_banner_while_fresh_or_for_another_kreis(client, factory, town, session, now):
    other = factory.tenant("magdeburg", ars="150030000000")
    alerter = factory.user(town, "alerter")
    foreign = factory.user(other, "alerter")
    _feed(session, now - timedelta(seconds=40))
    login(client, alerter.email)
    assert "alarm-banner" not in client.get(PAGES[0]).get_data(as_text=True)
    session.query(AlertFeed).filter_by(key=KEY).update(
        {"last_success_at": now - timedelta(minutes=30)}
    )
    session.commit()
    assert "alarm-banner" in client.get(PAGES[0]).get_data(as_text=True)
    client.get("/logout")
    login(client, foreign.email)  # Magdeburg's Kreis was never polled: nothing to say
    assert "alarm-banner" not in client.get("/admin/magdeburg/").get_data(as_text=True)


def test_threshold_is_configurable(app, client, factory, town, session, now, monkeypatch):
    alerter = factory.user(town, "alerter")
    _feed(session, now - timedelta(minutes=5))
    login(client, alerter.email)
    assert "alarm-banner" in client.get(PAGES[0]).get_data(as_text=True)
    monkeypatch.setitem(app.config, "AUSHANG_NINA_STALE_MINUTES", 10)
    assert "alarm-banner" not in client.get(PAGES[0]).get_data(as_text=True)


def test_status_costs_one_query(town, session, now):
    _feed(session, now - timedelta(minutes=5))
    session.expire_all()
    assert town.ars  # the tenant is loaded by every staff page anyway
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        status = nina_status(session, town, now, svc.AlertPolicy())
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert status.stale and len(statements) == 1


def test_texts_name_the_local_time_of_the_last_good_data(town, session):
    at = datetime(2026, 11, 20, 8, 12, tzinfo=UTC)  # 09:12 in Berlin
    _feed(session, at)
    status = nina_status(session, town, at + timedelta(minutes=4), svc.AlertPolicy())
    assert status.banner_text("Europe/Berlin") == (
        "Warnmeldungen von NINA seit 09:12 Uhr nicht aktualisiert (vor 4 min)."
    )
    later = nina_status(session, town, at + timedelta(days=1), svc.AlertPolicy())
    assert "seit 20.11.2026, 09:12 Uhr" in later.banner_text("Europe/Berlin")
    fresh = nina_status(session, town, at + timedelta(seconds=20), svc.AlertPolicy())
    assert not fresh.stale
    assert fresh.public_text("Europe/Berlin") == (
        "Warnmeldungen von NINA zuletzt abgerufen um 09:12 Uhr."
    )


def test_never_succeeded_is_stale_after_the_threshold(town, session):
    start = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    _feed(session, None, error="Zeitüberschreitung", watching_since=start)
    status = nina_status(session, town, start + timedelta(minutes=4), svc.AlertPolicy())
    assert status.stale
    assert status.banner_text("Europe/Berlin").startswith(
        "Warnmeldungen von NINA konnten noch nie abgerufen werden (Abruf versucht seit 09:00 Uhr)"
    )


def test_public_feeds_say_the_age_of_the_last_good_data(client, town, session, now):
    _feed(session, now - timedelta(minutes=9))
    doc = client.get("/sangerhausen/feeds/warnungen.json").get_json()
    (nina,) = doc["sources"]
    assert nina["name"] == "NINA" and nina["stale"] is True
    assert 540 <= nina["ageSeconds"] < 600
    assert nina["lastSuccess"].endswith(("+01:00", "+02:00"))
    assert "nicht aktualisiert" in nina["status"]
    atom = feedparser.parse(client.get("/sangerhausen/feeds/warnungen.atom").data)
    assert "Warnmeldungen von NINA seit" in atom.feed.subtitle
