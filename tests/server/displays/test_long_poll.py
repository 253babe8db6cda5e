"""The long-poll: answers at once on change (release, withdrawal, config, alerts), at
a window boundary, and with 304 after the wait."""

from __future__ import annotations

import threading
from datetime import timedelta

from server.services import alerts as alert_svc
from server.services import notices as notice_svc

from .conftest import API, release, validate


def issue_alert(session, dw, **kw):
    from flask import current_app

    alert = alert_svc.issue_manual(
        session,
        tenant=dw.tenant,
        user=dw.factory.user(dw.tenant, "alerter"),
        data=alert_svc.ManualAlertInput(
            template_key="hochwasser",
            area_desc="Stadt Musterstadt",
            tenant_ids=[dw.tenant.id],
            warnstufe=2,
            headline="Hochwasser an der Bode",
            description="Der Pegel steigt.",
            instruction="Meiden Sie das Ufer.",
            sender_name="Stadt Musterstadt",
            **kw,
        ),
        now=dw.factory.now,
        policy=alert_svc.policy_from_config(current_app.config),
    )
    session.commit()
    return alert


class Poll(threading.Thread):
    """A player's long-poll in a thread of its own (own app context, own session)."""

    def __init__(self, app, headers, wait=30):
        super().__init__(daemon=True)
        self.app, self.headers, self.wait = app, headers, wait
        self.response = None
        self.done = threading.Event()

    def run(self):
        with self.app.app_context():
            try:
                client = self.app.test_client()
                self.response = client.get(f"{API}manifest?wait={self.wait}", headers=self.headers)
            finally:
                from server.extensions import db

                db.session.remove()
                self.done.set()


def _waiting(count=1, timeout=10.0):
    from server import notify

    deadline = threading.Event()
    timer = threading.Timer(timeout, deadline.set)
    timer.start()
    try:
        while notify.hub.waiting() < count:
            if deadline.wait(0.005):
                raise AssertionError("long-poll did not start waiting")
    finally:
        timer.cancel()


def _start(app, client, dw, token=None, wait=30):
    etag = client.get(API + "manifest", headers=dw.auth(token)).headers["ETag"]
    poll = Poll(app, {**dw.auth(token), "If-None-Match": etag}, wait=wait)
    poll.start()
    _waiting()
    return poll, etag


def test_release_wakes_a_waiting_long_poll_at_once(app, client, dw, session, now):
    poll, etag = _start(app, client, dw)
    notice = release(dw, session, now, title="Neue Satzung über Hunde")
    assert poll.done.wait(5), "the long-poll was not woken by the release"
    assert poll.response.status_code == 200
    body = poll.response.get_json()
    validate("manifest", body)
    assert f'"{body["etag"]}"' != etag
    assert str(notice.id) in {i.get("notice_id") for i in body["items"]}


def test_withdrawal_wakes_and_drops_the_notice(app, client, dw, session, now):
    poll, _ = _start(app, client, dw)
    notice_svc.withdraw(session, dw.notice, dw.approver, "withdrawn", "Fehler im Text", now)
    session.commit()
    assert poll.done.wait(5)
    assert str(dw.notice.id) not in {i.get("notice_id") for i in poll.response.get_json()["items"]}


def test_alert_wakes_and_fills_the_warning_slot(app, client, dw, session):
    poll, _ = _start(app, client, dw)
    alert = issue_alert(session, dw)
    assert poll.done.wait(5)
    body = poll.response.get_json()
    validate("manifest", body)
    assert [w["id"] for w in body["warnings"]] == [str(alert.id)]
    assert body["warnings"][0]["headline"] == "Hochwasser an der Bode"


def test_other_tenants_change_does_not_wake(app, client, dw, session, now):
    poll, _ = _start(app, client, dw, token=dw.other_token, wait=1)
    release(dw, session, now, title="Nur für Musterstadt")
    # Woken or not, the other tenant's manifest did not change: 304 after its wait.
    assert poll.done.wait(5) and poll.response.status_code == 304


def test_304_after_wait_and_window_boundary(client, dw, session, now, clock):
    # A notice whose window opens in two days is not in the manifest yet.
    later = release(dw, session, now, start=(now + timedelta(days=2)).date())
    first = client.get(API + "manifest", headers=dw.auth())
    ids = {i.get("notice_id") for i in first.get_json()["items"]}
    assert str(later.id) not in ids
    r = client.get(
        API + "manifest?wait=1", headers={**dw.auth(), "If-None-Match": first.headers["ETag"]}
    )
    assert r.status_code == 304
    # Time passes to within the horizon: the same request now gets the new manifest.
    clock.set(later.starts_at - timedelta(hours=1))
    r = client.get(
        API + "manifest?wait=1", headers={**dw.auth(), "If-None-Match": first.headers["ETag"]}
    )
    assert r.status_code == 200
    item = next(i for i in r.get_json()["items"] if i.get("notice_id") == str(later.id))
    assert item["valid_from"].startswith(later.starts_at.strftime("%Y-%m-%dT%H:%M"))
