"""A change's deliveries come before bookkeeping: the hub counts the long-polls a change
woke until each has its answer, and heartbeats and acknowledgements wait for that (at
most a bounded time)."""

from __future__ import annotations

import threading

from server.notify import ChangeHub

from .conftest import API
from .test_long_poll import issue_alert


def test_woken_waiters_count_until_their_block_ends():
    hub = ChangeHub()
    assert hub.wait_delivered(0)
    first = hub.subscribe(["tenant:1", "alerts"])
    second = hub.subscribe(["alerts"])
    w1, w2 = first.__enter__(), second.__enter__()
    hub.advance("alerts")
    hub.advance("tenant:1")  # the first waiter again: counted once
    assert hub.delivering() == 2 and not hub.wait_delivered(0)
    first.__exit__(None, None, None)
    assert hub.delivering() == 1 and not hub.wait_delivered(0)
    second.__exit__(None, None, None)
    assert hub.delivering() == 0 and hub.wait_delivered(0)
    assert w1.is_set() and w2.is_set()


def test_a_waiter_that_timed_out_before_the_change_owes_nothing():
    hub = ChangeHub()
    with hub.subscribe(["alerts"]) as waiter:
        assert not waiter.wait(0)
    hub.advance("alerts")
    assert hub.delivering() == 0 and hub.wait_delivered(0)


def test_an_answer_that_leaves_the_block_early_still_settles_its_count():
    hub = ChangeHub()
    try:
        with hub.subscribe(["alerts"]):
            hub.advance("alerts")  # the change lands while the manifest is being read
            raise RuntimeError("the request failed")
    except RuntimeError:
        pass
    assert hub.delivering() == 0


def test_bookkeeping_waits_for_the_woken_long_polls(app, client, dw, session):
    from server import notify

    started = threading.Event()
    answer: dict[str, int] = {}

    def heartbeat():
        started.set()
        with app.app_context():
            r = app.test_client().post(
                API + "heartbeat", json={"player_version": "1.0"}, headers=dw.auth()
            )
            answer["status"] = r.status_code

    with notify.hub.subscribe(["alerts"]) as waiter:
        issue_alert(session, dw)  # wakes this stand-in for a long-poll
        assert waiter.is_set() and notify.hub.delivering() >= 1
        thread = threading.Thread(target=heartbeat)
        thread.start()
        assert started.wait(10)
        thread.join(0.2)
        assert thread.is_alive() and "status" not in answer  # held behind the delivery
    thread.join(10)
    assert answer == {"status": 200}


def test_a_player_without_the_new_manifest_is_not_held(app, client, dw, session, monkeypatch):
    from server import notify
    from server.web import player_api

    monkeypatch.setattr(player_api, "YIELD_S", 30.0)
    stale = client.get(API + "manifest", headers=dw.auth()).headers["ETag"]
    answers: dict[str, int] = {}

    def poll(name, etag):
        with app.app_context():
            headers = {**dw.auth(), "If-None-Match": etag}
            r = app.test_client().get(API + "manifest?wait=0", headers=headers)
            answers[name] = r.status_code

    with notify.hub.subscribe(["alerts"]):
        issue_alert(session, dw)
        fresh = client.get(API + "manifest", headers=dw.auth()).headers["ETag"]
        notify.hub.delivered_etag(fresh.strip('"'))
        behind = threading.Thread(target=poll, args=("behind", stale))
        current = threading.Thread(target=poll, args=("current", fresh))
        behind.start()
        current.start()
        behind.join(10)
        assert answers.get("behind") == 200  # the warning, at once
        current.join(0.2)
        assert "current" not in answers  # already has it: waits behind the deliveries
    current.join(10)
    assert answers["current"] == 304


def test_alert_facts_are_loaded_once_per_alert_change(dw, session, monkeypatch):
    from server import notify
    from server.services.displays import acks

    record = issue_alert(session, dw)
    loads = []
    real = acks.alert_meta
    monkeypatch.setattr(acks, "alert_meta", lambda s, i: loads.append(i) or real(s, i))
    cache = acks.AlertMetaCache()
    first = cache.get(session, record.id)
    assert cache.get(session, record.id) is first and loads == [record.id]
    assert first.target_tenants == {dw.tenant.id}
    notify.hub.advance(notify.ALERTS)  # any alert changed: read again
    cache.get(session, record.id)
    assert loads == [record.id, record.id]
