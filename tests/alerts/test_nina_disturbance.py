"""A warning NINA lists but whose details fail is a disturbance (issue 14, W2/W3): named,
retried with backoff, shown to staff; once the details come, the warning is shown. And a
stale version NINA hands out again never re-activates a cancelled warning (W6)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from server.jobs.alerts import poll_nina
from server.models import AlertDocument, AlertFeed, AlertRecord
from server.services import alerts as svc
from server.sources.nina import NinaClient

from ..conftest import login
from .test_alerts_nina import MOW_BW, MOW_NW, _bump

T0 = datetime(2026, 2, 3, 8, 0, tzinfo=UTC)
KEY = "150870000000"
DASHBOARD = f"/api31/dashboard/{KEY}.json"


@pytest.fixture(autouse=True)
def nina_on(app, monkeypatch):
    monkeypatch.setitem(app.config, "AUSHANG_NINA_ENABLED", True)
    # The pages take "now" at the edge: the test's clock, 20 s after the first poll.
    monkeypatch.setitem(app.config, "AUSHANG_CLOCK", lambda: T0 + timedelta(seconds=20))


@pytest.fixture
def nina(shared_fixtures):
    folder = shared_fixtures / "nina"
    return {
        "dashboard": json.loads((folder / "ha_sample_warnings_dashboard.json").read_text()),
        "details": json.loads((folder / "ha_sample_warning_details.json").read_text()),
    }


def _detail_path(ident: str) -> str:
    return f"/api31/warnings/{ident}.json"


def _detail_requests(fake, ident: str) -> int:
    return sum(1 for p, _ in fake.requests if p == _detail_path(ident))


def test_missing_details_disturb_the_feed_until_they_come(
    client, factory, session, fake_nina, nina
):
    town = factory.tenant("sangerhausen", ars="150870045045", name="Sangerhausen")
    alerter = factory.user(town, "alerter")
    session.commit()
    nina_client = NinaClient(fake_nina.base_url, "Aushang-Test/1.0")
    fake_nina.set_json(DASHBOARD, json.dumps(nina["dashboard"]).encode())
    fake_nina.set_json(_detail_path(MOW_BW), json.dumps(nina["details"][MOW_BW]).encode())
    # MOW_NW's details: not served, so the fake answers NINA's HTML 404 page.

    poll_nina(session, T0, client=nina_client)
    session.commit()
    feed = session.get(AlertFeed, KEY)
    health = svc.feed_health(session, KEY)
    assert health.failing == {MOW_NW: "NINA antwortete mit HTTP 404."}
    assert health.is_disturbed(T0) and not health.is_stale(T0)
    assert feed.last_success_at == T0  # the dashboard itself answered
    status = svc.warning_status(session, town, T0, svc.AlertPolicy())
    assert status.stale and MOW_NW in status.health_text and "STÖRUNG" in status.health_text
    shown = {a.record.identifier for a in svc.active_alerts_for_place(session, tenant=town, now=T0)}
    assert shown == {MOW_BW}

    # Staff see it: the dashboard card, the banner on every page, the warning page.
    login(client, alerter.email)
    dashboard = client.get("/admin/sangerhausen/").get_data(as_text=True)
    assert MOW_NW in dashboard and "STÖRUNG" in dashboard
    assert "Störung beim NINA-Abruf" in dashboard  # the banner of every staff page
    index = client.get("/admin/sangerhausen/warnungen/").get_data(as_text=True)
    assert MOW_NW in index and "nicht abrufbar" in index
    # NINA's ARS-coded MoWaS message: the page says which key made it relevant here.
    bw = session.scalar(select(AlertRecord).where(AlertRecord.identifier == MOW_BW))
    show = client.get(f"/admin/sangerhausen/warnungen/{bw.id}").get_data(as_text=True)
    assert "Relevant durch</dt><dd>ARS 150000000000</dd>" in show

    # Backoff: not asked again 10 s later, asked again after 30 s (now a 200 HTML page).
    poll_nina(session, T0 + timedelta(seconds=10), client=nina_client)
    assert _detail_requests(fake_nina, MOW_NW) == 1
    fake_nina.routes[_detail_path(MOW_NW)] = (
        200,
        {"Content-Type": "text/html"},
        b"<html>Wartung</html>",
    )
    poll_nina(session, T0 + timedelta(seconds=31), client=nina_client)
    session.commit()
    assert _detail_requests(fake_nina, MOW_NW) == 2
    state, _feed, _before = svc.load_feed_state(session, KEY)
    failure = state.detail_failures[MOW_NW]
    assert failure.attempts == 2 and failure.next_attempt_at == T0 + timedelta(seconds=91)
    assert failure.first_failed_at == T0
    assert failure.error == "NINA lieferte eine HTML-Seite statt JSON."

    # The details appear: on the next due poll the warning is shown, the disturbance ends.
    fake_nina.set_json(_detail_path(MOW_NW), json.dumps(nina["details"][MOW_NW]).encode())
    poll_nina(session, T0 + timedelta(seconds=60), client=nina_client)  # still backing off
    assert _detail_requests(fake_nina, MOW_NW) == 2
    later = T0 + timedelta(seconds=92)
    poll_nina(session, later, client=nina_client)
    session.commit()
    shown = {
        a.record.identifier for a in svc.active_alerts_for_place(session, tenant=town, now=later)
    }
    assert shown == {MOW_BW, MOW_NW}
    health = svc.feed_health(session, KEY)
    assert health.failing == {} and not health.is_disturbed(later)


def test_stale_version_after_cancel_does_not_reactivate(session, factory, fake_nina, nina):
    factory.tenant("sangerhausen", ars="150870045045", name="Sangerhausen")
    session.commit()
    nina_client = NinaClient(fake_nina.base_url, "Aushang-Test/1.0")
    entry = nina["dashboard"][0]
    detail = nina["details"][MOW_BW]
    fake_nina.set_json(DASHBOARD, json.dumps([entry]).encode())
    fake_nina.set_json(_detail_path(MOW_BW), json.dumps(detail).encode())
    poll_nina(session, T0, client=nina_client)
    session.commit()

    cancel = copy.deepcopy(detail)
    cancel["msgType"] = "Cancel"
    cancel["sent"] = "2021-11-03T09:00:00+01:00"
    fake_nina.set_json(DASHBOARD, json.dumps([_bump(entry, 2, "Cancel", cancel["sent"])]).encode())
    fake_nina.set_json(_detail_path(MOW_BW), json.dumps(cancel).encode())
    poll_nina(session, T0 + timedelta(minutes=1), client=nina_client)
    session.commit()
    record = session.scalar(select(AlertRecord).where(AlertRecord.identifier == MOW_BW))
    assert record.phase == "all_clear" and record.nina_version == 2

    # NINA hands out the old version again (a lagging mirror).
    fake_nina.set_json(DASHBOARD, json.dumps([entry]).encode())
    fake_nina.set_json(_detail_path(MOW_BW), json.dumps(detail).encode())
    poll_nina(session, T0 + timedelta(minutes=2), client=nina_client)
    session.commit()
    session.refresh(record)
    assert record.phase == "all_clear" and record.msg_type == "Cancel"
    directions = session.scalars(
        select(AlertDocument.direction).where(AlertDocument.alert_id == record.id)
    ).all()
    assert sorted(directions) == ["out_of_order", "received", "received"]


def test_nina_switched_off_says_so(client, factory, session, app, monkeypatch):
    monkeypatch.setitem(app.config, "AUSHANG_NINA_ENABLED", False)
    town = factory.tenant("sangerhausen", ars="150870045045", name="Sangerhausen")
    alerter = factory.user(town, "alerter")
    session.commit()
    public = client.get("/sangerhausen/warnungen").get_data(as_text=True)
    assert "von NINA werden hier nicht abgerufen" in public
    assert "noch keine" not in public.lower()
    login(client, alerter.email)
    for page in ("/admin/sangerhausen/", "/admin/sangerhausen/warnungen/"):
        text = client.get(page).get_data(as_text=True)
        assert "Ausgeschaltet: Diese Installation ruft keine Warnungen von NINA ab" in text
        assert "Noch keine erfolgreiche Abfrage" not in text and "STÖRUNG" not in text
