"""The warning banner on every public page of a Kommune (issue 13, build 4): shown while
a warning is in force, as Entwarnung for ``AUSHANG_ALERT_ALL_CLEAR_MINUTES`` after the
all-clear, then gone; server-rendered, a region with a heading (no ``role=alert``),
linking to the Kommune's warnings page. The clock is injected (``AUSHANG_CLOCK``).
The axe-core check of the pages with the banner is in
``tests/e2e/test_public_warning_banner_a11y.py``."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from server.services import alerts as svc

from ..factories import issue_template_alert

TOWN_ARS = "150870045045"
ISSUED = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
CANCELLED = ISSUED + timedelta(hours=1)
HEADLINE = "Hochwasser: Deich an der Helme gefährdet"


@pytest.fixture
def clock(app, monkeypatch):
    moment = {"now": ISSUED}
    monkeypatch.setitem(app.config, "AUSHANG_CLOCK", lambda: moment["now"])
    monkeypatch.setitem(app.config, "AUSHANG_ALERT_ALL_CLEAR_MINUTES", 15)

    def at(value: datetime) -> None:
        moment["now"] = value

    return at


@pytest.fixture
def world(factory, session):
    town = factory.tenant("sangerhausen", ars=TOWN_ARS, name="Sangerhausen")
    other = factory.tenant("magdeburg", ars="150030000000", name="Magdeburg")
    editor = factory.user(town, "editor")
    approver = factory.user(town, "approver", email="freigabe@sangerhausen.example")
    alerter = factory.user(town, "alerter", email="warnung@sangerhausen.example")
    cat = factory.category(town)
    notice = factory.released_notice(town, cat, editor, approver, at=ISSUED - timedelta(days=1))
    session.commit()
    return {"town": town, "other": other, "alerter": alerter, "notice": notice}


def _issue(session, world, app) -> int:
    town = world["town"]
    record = issue_template_alert(
        session,
        town,
        world["alerter"],
        ISSUED,
        sender_name="Stadt Sangerhausen",
        policy=svc.policy_from_config(app.config),
        headline=HEADLINE,
    )
    session.commit()
    return record.id


def _banner(client, path: str) -> str | None:
    r = client.get(path)
    assert r.status_code == 200, (path, r.status_code)
    found = re.search(r'<section class="warning-banner[^"]*".*?</section>', r.text, re.S)
    return found.group(0) if found else None


def _pages(world) -> list[str]:
    return ["/sangerhausen/", f"/sangerhausen/bekanntmachungen/{world['notice'].number}"]


def test_banner_before_during_and_after_the_entwarnung(app, client, session, world, clock):
    clock(ISSUED - timedelta(minutes=1))
    for path in _pages(world):
        assert _banner(client, path) is None, path

    record_id = _issue(session, world, app)
    clock(ISSUED + timedelta(minutes=5))
    for path in [*_pages(world), "/sangerhausen/archiv", "/sangerhausen/warnungen"]:
        banner = _banner(client, path)
        assert banner is not None, path
        assert HEADLINE in banner and "Amtliche Warnung für Sangerhausen" in banner
        assert 'href="/sangerhausen/warnungen"' in banner
        assert 'aria-labelledby="warnbanner-titel"' in banner and "role=" not in banner
        assert "is-entwarnung" not in banner
    assert _banner(client, "/magdeburg/") is None  # not this Kommune's warning

    svc.cancel_manual(
        session,
        tenant=world["town"],
        user=world["alerter"],
        record_id=record_id,
        now=CANCELLED,
        policy=svc.policy_from_config(app.config),
    )
    session.commit()
    # Before the Entwarnung's time is up (15 minutes): the Entwarnung shows.
    for minutes in (0, 14):
        clock(CANCELLED + timedelta(minutes=minutes, seconds=30))
        for path in _pages(world):
            banner = _banner(client, path)
            assert banner is not None, (path, minutes)
            assert "is-entwarnung" in banner and ">Entwarnung</h2>" in banner
    # After it: no banner (and no job needs to have run).
    clock(CANCELLED + timedelta(minutes=15, seconds=1))
    for path in _pages(world):
        assert _banner(client, path) is None, path


def test_exercise_warnings_do_not_reach_the_public_site(app, client, session, world, clock):
    town = world["town"]
    issue_template_alert(
        session,
        town,
        world["alerter"],
        ISSUED,
        sender_name="Stadt Sangerhausen",
        headline=HEADLINE,
        test_mode=True,
    )
    session.commit()
    clock(ISSUED + timedelta(minutes=5))
    assert _banner(client, "/sangerhausen/") is None
