"""NINA fixtures through a fake NINA server: poller → relevance → lifecycle (W1–W7)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta

import pytest

from server.domain.alerts import (
    Behaviour,
    ChangeKind,
    EndReason,
    FeedState,
    Phase,
    Place,
    Source,
    present,
    relevance,
)
from server.sources.nina import NinaClient, NinaFeedError, feed_keys, parse_dashboard, poll

KEY = "150870000000"  # Mansfeld-Südharz
SANGERHAUSEN = Place("150870045045", names=("Sangerhausen",))
T0 = datetime(2026, 2, 3, 8, 0, tzinfo=UTC)
MOW_BW = "mow.DE-BW-S-SE018-20211102-18-001"
MOW_NW = "mow.DE-NW-BN-SE030-20201014-30-000"
BIW = "biw.BIWAPP-69634"
UA = "Aushang-Test/1.0 (+https://example.org/aushang; kats@example.org)"


@pytest.fixture
def nina_data(shared_fixtures):
    folder = shared_fixtures / "nina"
    return {
        "dashboard": json.loads((folder / "ha_sample_warnings_dashboard.json").read_text()),
        "details": json.loads((folder / "ha_sample_warning_details.json").read_text()),
        "lhp_cancel": json.loads((folder / "dashboard_lhp_cancel_pixelix.json").read_text()),
        "mowas_cancel": json.loads(
            (folder / "dashboard_mowas_cancel_mmm-nina-pr21.json").read_text()
        ),
    }


def _client(fake, timeout=(2.0, 2.0)):
    return NinaClient(fake.base_url, UA, timeout=timeout)


def _serve(fake, dashboard, details, etag=None):
    fake.set_json(f"/api31/dashboard/{KEY}.json", json.dumps(dashboard).encode(), etag=etag)
    for ident, body in details.items():
        fake.set_json(f"/api31/warnings/{ident}.json", json.dumps(body).encode())


def _showing(state: FeedState) -> dict[str, Phase]:
    return {t.key: t.phase for t in state.lifecycle.showing()}


def _bump(entry, version, msg_type, sent):
    entry = copy.deepcopy(entry)
    entry["payload"]["version"] = version
    entry["payload"]["hash"] = f"hash-{version}-{msg_type}"
    entry["payload"]["data"]["msgType"] = msg_type
    entry["sent"] = sent
    return entry


def test_dashboard_sequence_new_update_cancel_disappearance_expiry(fake_nina, nina_data):
    client = _client(fake_nina)
    dashboard = nina_data["dashboard"]
    details = nina_data["details"]
    bw_entry, nw_entry = dashboard
    _serve(fake_nina, dashboard, details, etag='"v1"')
    state = FeedState(KEY)

    # 1. Two new warnings: both fetched, both active and relevant for Sangerhausen.
    out = poll(client, state, T0)
    state = out.state
    assert _showing(state) == {MOW_BW: Phase.ACTIVE, MOW_NW: Phase.ACTIVE}
    assert {c.kind for c in out.changes} == {ChangeKind.CREATED}
    assert set(out.documents) == {MOW_BW, MOW_NW}
    assert json.loads(out.documents[MOW_BW]) == details[MOW_BW]  # raw bytes kept (W14)
    tracked = state.lifecycle.entries
    bw = relevance(tracked[MOW_BW].alert, SANGERHAUSEN, from_own_dashboard=True)
    assert bw.relevant and bw.method.value == "ars"  # warnVerwaltungsbereiche has 15…
    nw = relevance(tracked[MOW_NW].alert, SANGERHAUSEN, from_own_dashboard=True)
    assert nw.relevant and nw.method.value == "dashboard"
    assert tracked[MOW_NW].source is Source.MOWAS
    assert all(h.get("User-Agent") == UA for _, h in fake_nina.requests)
    assert state.health.last_success_at == T0 and state.etag == '"v1"'

    # 2. Unchanged dashboard: conditional request, 304, no detail requests, no changes.
    fake_nina.requests.clear()
    out = poll(client, state, T0 + timedelta(seconds=30))
    state = out.state
    assert out.changes == ()
    assert [p for p, _ in fake_nina.requests] == [f"/api31/dashboard/{KEY}.json"]
    assert fake_nina.requests[0][1].get("If-None-Match") == '"v1"'
    assert _showing(state) == {MOW_BW: Phase.ACTIVE, MOW_NW: Phase.ACTIVE}

    # 3. Update: a new version of the NW warning with a new headline.
    t3 = T0 + timedelta(minutes=1)
    nw_v2 = _bump(nw_entry, 2, "Update", "2026-02-03T09:01:00+01:00")
    nw_details = copy.deepcopy(details[MOW_NW])
    nw_details.update(msgType="Update", sent="2026-02-03T09:01:00+01:00")
    nw_details["info"][0]["headline"] = "Ausfall Notruf 112 – Update"
    _serve(fake_nina, [bw_entry, nw_v2], {MOW_NW: nw_details}, etag='"v2"')
    fake_nina.requests.clear()
    out = poll(client, state, t3)
    state = out.state
    assert [p for p, _ in fake_nina.requests][1:] == [f"/api31/warnings/{MOW_NW}.json"]
    assert [c.kind for c in out.changes] == [ChangeKind.UPDATED]
    assert state.lifecycle.entries[MOW_NW].alert.headline == "Ausfall Notruf 112 – Update"
    assert _showing(state) == {MOW_BW: Phase.ACTIVE, MOW_NW: Phase.ACTIVE}

    # 4. Cancel of the BW warning (its severity is ignored): Entwarnung for 15 minutes.
    t4 = T0 + timedelta(minutes=2)
    bw_v2 = _bump(bw_entry, 2, "Cancel", "2026-02-03T09:02:00+01:00")
    bw_details = copy.deepcopy(details[MOW_BW])
    bw_details.update(msgType="Cancel", sent="2026-02-03T09:02:00+01:00")
    bw_details["info"][0]["headline"] = "Entwarnung: Corona-Verordnung aufgehoben"
    bw_details["info"][0]["severity"] = "Extreme"
    _serve(fake_nina, [bw_v2, nw_v2], {MOW_BW: bw_details}, etag='"v3"')
    out = poll(client, state, t4)
    state = out.state
    assert _showing(state) == {MOW_BW: Phase.ALL_CLEAR, MOW_NW: Phase.ACTIVE}
    cancel = state.lifecycle.entries[MOW_BW]
    shown = present(cancel.alert, cancel.source, test_display=False)
    assert shown is not None and shown.behaviour is Behaviour.ALL_CLEAR

    # 5. The NW warning disappears: ends after 3 successful polls without it.
    _serve(fake_nina, [bw_v2], {}, etag='"v4"')
    for i in (1, 2):
        state = poll(client, state, t4 + timedelta(seconds=30 * i)).state
        assert MOW_NW in _showing(state), f"ended after {i} polls"
    out = poll(client, state, t4 + timedelta(seconds=90))
    state = out.state
    assert _showing(state) == {MOW_BW: Phase.ALL_CLEAR}
    assert state.lifecycle.entries[MOW_NW].end_reason is EndReason.WITHDRAWN

    # 6. The Entwarnung ends 15 minutes after the Cancel, though the entry stays listed.
    state = poll(client, state, t4 + timedelta(minutes=14)).state
    assert _showing(state) == {MOW_BW: Phase.ALL_CLEAR}
    state = poll(client, state, t4 + timedelta(minutes=15)).state
    assert _showing(state) == {}

    # 7. A warning with an expiry: active until it expires, then ended.
    t7 = t4 + timedelta(minutes=20)
    biw_entry = {
        "id": BIW,
        "payload": {"version": 1, "hash": "b1", "data": {"msgType": "Alert"}},
        "sent": "2026-02-03T09:22:00+01:00",
    }
    biw_details = copy.deepcopy(details[BIW])
    biw_details["sent"] = "2026-02-03T09:22:00+01:00"
    biw_details["info"][0]["expires"] = "2026-02-03T09:30:00+01:00"
    _serve(fake_nina, [bw_v2, biw_entry], {BIW: biw_details}, etag='"v5"')
    state = poll(client, state, t7).state
    assert _showing(state) == {BIW: Phase.ACTIVE}
    assert state.lifecycle.entries[BIW].source is Source.BIWAPP
    out = poll(client, state, T0 + timedelta(minutes=30))  # 09:30 local
    assert _showing(out.state) == {}
    assert out.state.lifecycle.entries[BIW].end_reason is EndReason.EXPIRED


def test_real_cancel_dashboards(fake_nina, nina_data):
    client = _client(fake_nina)
    # MoWaS "Entwarnung" for a warning we never showed: nothing to show.
    entry = nina_data["mowas_cancel"][0]
    details = {
        entry["id"]: {
            "identifier": entry["id"],
            "sender": "DE-NW-DU-SE038",
            "sent": entry["sent"],
            "status": "Actual",
            "msgType": "Cancel",
            "scope": "Public",
            "info": [
                {
                    "language": "DE",
                    "category": ["Safety"],
                    "event": "Kampfmittelfund",
                    "urgency": "Immediate",
                    "severity": "Minor",
                    "certainty": "Observed",
                    "headline": entry["payload"]["data"]["headline"],
                }
            ],
        }
    }
    _serve(fake_nina, nina_data["mowas_cancel"], details)
    out = poll(client, FeedState(KEY), T0)
    assert _showing(out.state) == {}
    assert out.changes[0].reason is EndReason.NOTHING_TO_CANCEL

    # LHP flood warning (version 4), then the real LHP Entwarnung (version 5, same id).
    (lhp_cancel,) = nina_data["lhp_cancel"]
    lhp_id = lhp_cancel["id"]
    earlier = _bump(lhp_cancel, 4, "Alert", "2025-01-28T18:00:00+01:00")
    alert_details = {
        "identifier": lhp_id,
        "sender": "LHP",
        "sent": "2025-01-28T18:00:00+01:00",
        "status": "Actual",
        "msgType": "Alert",
        "scope": "Public",
        "info": [
            {
                "language": "DE",
                "category": ["Env"],
                "event": "Hochwasser",
                "urgency": "Immediate",
                "severity": "Severe",
                "certainty": "Likely",
                "headline": "Hochwasser an der Iller",
                "expires": lhp_cancel["expires"],
            }
        ],
    }
    when = datetime(2025, 1, 29, 7, 0, tzinfo=UTC)
    _serve(fake_nina, [earlier], {lhp_id: alert_details})
    state = poll(client, FeedState(KEY), when).state
    assert _showing(state) == {lhp_id: Phase.ACTIVE}
    assert (
        present(state.lifecycle.entries[lhp_id].alert, Source.LHP, test_display=False).behaviour
        is Behaviour.ALTERNATE
    )
    cancel_details = dict(alert_details, msgType="Cancel", sent=lhp_cancel["sent"])
    cancel_details["info"] = [
        dict(alert_details["info"][0], headline="Entwarnung", severity="Unknown", urgency="Past")
    ]
    _serve(fake_nina, nina_data["lhp_cancel"], {lhp_id: cancel_details})
    state = poll(client, state, when + timedelta(minutes=40)).state
    assert _showing(state) == {lhp_id: Phase.ALL_CLEAR}


def test_html_404_timeout_and_garbage_are_failures_not_empty(fake_nina, nina_data):
    client = _client(fake_nina, timeout=(1.0, 0.5))
    _serve(fake_nina, nina_data["dashboard"], nina_data["details"])
    state = poll(client, FeedState(KEY), T0).state
    assert len(_showing(state)) == 2

    # Unknown key: NINA answers 404 with an HTML page.
    del fake_nina.routes[f"/api31/dashboard/{KEY}.json"]
    with pytest.raises(NinaFeedError, match="HTTP 404"):
        client.dashboard(KEY)
    for i in range(1, 4):
        state = poll(client, state, T0 + timedelta(seconds=30 * i)).state
    assert len(_showing(state)) == 2, "a failed poll must never end warnings"
    assert state.health.consecutive_failures == 3
    assert "HTTP 404" in (state.health.last_error or "")

    # 200 with an HTML body.
    fake_nina.routes[f"/api31/dashboard/{KEY}.json"] = (
        200,
        {"Content-Type": "text/html"},
        b"<!DOCTYPE html><html>Wartung</html>",
    )
    with pytest.raises(NinaFeedError, match="HTML-Seite"):
        client.dashboard(KEY)

    # Timeout.
    fake_nina.hang.add(f"/api31/dashboard/{KEY}.json")
    with pytest.raises(NinaFeedError, match="Zeitüberschreitung"):
        client.dashboard(KEY)
    state = poll(client, state, T0 + timedelta(minutes=3, seconds=1)).state
    assert len(_showing(state)) == 2
    assert state.health.consecutive_failures == 4
    # W3: no good data for more than 3 minutes → stale.
    assert state.health.is_stale(T0 + timedelta(minutes=3, seconds=1))
    assert not state.health.is_stale(T0 + timedelta(minutes=2))
    assert state.health.status_text(T0 + timedelta(minutes=4)).startswith("STÖRUNG")


def test_failed_details_are_fetched_again(fake_nina, nina_data):
    client = _client(fake_nina)
    _serve(fake_nina, nina_data["dashboard"], {MOW_BW: nina_data["details"][MOW_BW]})
    out = poll(client, FeedState(KEY), T0)
    assert _showing(out.state) == {MOW_BW: Phase.ACTIVE}
    assert MOW_NW in out.detail_errors
    _serve(fake_nina, nina_data["dashboard"], nina_data["details"])
    out = poll(client, out.state, T0 + timedelta(seconds=30))
    assert _showing(out.state) == {MOW_BW: Phase.ACTIVE, MOW_NW: Phase.ACTIVE}


def test_exercise_takes_over_no_public_display(fake_nina, nina_data):
    client = _client(fake_nina)
    details = copy.deepcopy(nina_data["details"])
    details[MOW_BW]["status"] = "Exercise"
    details[MOW_BW]["info"][0]["severity"] = "Extreme"
    _serve(fake_nina, nina_data["dashboard"], details)
    state = poll(client, FeedState(KEY), T0).state
    exercise = state.lifecycle.entries[MOW_BW]
    assert present(exercise.alert, exercise.source, test_display=False) is None
    on_test = present(exercise.alert, exercise.source, test_display=True)
    assert on_test is not None and on_test.status_label == "Übung"
    assert on_test.behaviour is Behaviour.TAKEOVER


def test_dashboard_parsing_and_keys(nina_data):
    entries = parse_dashboard(json.dumps(nina_data["lhp_cancel"]).encode())
    assert entries[0].version == 5 and entries[0].msg_type == "Cancel"
    with pytest.raises(NinaFeedError):
        parse_dashboard(b'{"not": "a list"}')
    assert feed_keys(["150870045045", "150875063015", "150030000000"]) == [
        "150030000000",
        "150870000000",
    ]
