"""The NINA job against a fake NINA server, with state kept in the database between polls."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from server.jobs.alerts import poll_nina, tick_alerts
from server.models import AlertDocument, AlertFeed, AlertRecord
from server.services import alerts as svc
from server.sources.nina import NinaClient

from .test_alerts_nina import MOW_BW, MOW_NW, _bump

T0 = datetime(2026, 2, 3, 8, 0, tzinfo=UTC)
KEY = "150870000000"


def _serve(fake, dashboard, details):
    fake.set_json(f"/api31/dashboard/{KEY}.json", json.dumps(dashboard).encode())
    for ident, body in details.items():
        fake.set_json(f"/api31/warnings/{ident}.json", json.dumps(body).encode())


def _phases(session):
    rows = session.execute(
        select(AlertRecord.identifier, AlertRecord.phase).where(AlertRecord.feed_key == KEY)
    ).all()
    return dict(rows)


def test_poll_job_persists_lifecycle_between_runs(factory, session, fake_nina, shared_fixtures):
    factory.tenant("sangerhausen", ars="150870045045")
    factory.tenant("helbra", ars="150875063015")  # same Kreis: polled once
    session.commit()
    folder = shared_fixtures / "nina"
    dashboard = json.loads((folder / "ha_sample_warnings_dashboard.json").read_text())
    details = json.loads((folder / "ha_sample_warning_details.json").read_text())
    client = NinaClient(fake_nina.base_url, "Aushang-Test/1.0")
    _serve(fake_nina, dashboard, details)

    assert poll_nina(session, T0, client=client) == 2
    session.commit()
    assert _phases(session) == {MOW_BW: "active", MOW_NW: "active"}
    raw = session.scalar(
        select(AlertDocument.content).join(AlertRecord).where(AlertRecord.identifier == MOW_BW)
    )
    assert json.loads(raw) == details[MOW_BW]
    feed = session.get(AlertFeed, KEY)
    assert feed.last_success_at == T0 and feed.consecutive_failures == 0

    # Same dashboard again: nothing new, no detail requests.
    fake_nina.requests.clear()
    assert poll_nina(session, T0 + timedelta(seconds=30), client=client) == 0
    assert [p for p, _ in fake_nina.requests] == [f"/api31/dashboard/{KEY}.json"]

    # Cancel of BW as a new version under the same id.
    bw_v2 = _bump(dashboard[0], 2, "Cancel", "2026-02-03T09:02:00+01:00")
    bw_details = copy.deepcopy(details[MOW_BW])
    bw_details.update(msgType="Cancel", sent="2026-02-03T09:02:00+01:00")
    _serve(fake_nina, [bw_v2, dashboard[1]], {MOW_BW: bw_details})
    poll_nina(session, T0 + timedelta(minutes=2), client=client)
    session.commit()
    assert _phases(session) == {MOW_BW: "all_clear", MOW_NW: "active"}
    record = session.scalar(select(AlertRecord).where(AlertRecord.identifier == MOW_BW))
    assert record.msg_type == "Cancel" and len(record.documents) == 2

    # NW disappears: ended after three successful polls; a failure in between does not count.
    _serve(fake_nina, [bw_v2], {})
    for i in (1, 2):
        poll_nina(session, T0 + timedelta(minutes=2, seconds=30 * i), client=client)
    del fake_nina.routes[f"/api31/dashboard/{KEY}.json"]  # HTML 404
    poll_nina(session, T0 + timedelta(minutes=3, seconds=30), client=client)
    assert _phases(session)[MOW_NW] == "active"
    assert session.get(AlertFeed, KEY).consecutive_failures == 1
    _serve(fake_nina, [bw_v2], {})
    poll_nina(session, T0 + timedelta(minutes=4), client=client)
    session.commit()
    assert _phases(session) == {MOW_BW: "all_clear", MOW_NW: "ended"}

    # The Entwarnung ends 15 minutes after the Cancel arrived (tick job).
    assert tick_alerts(session, T0 + timedelta(minutes=17)) == 1
    assert _phases(session)[MOW_BW] == "ended"
    health = svc.feed_health(session, KEY)
    assert not health.is_stale(T0 + timedelta(minutes=5))
