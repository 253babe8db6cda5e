"""Web Push to citizens (issue 18, Build 4): subscriptions checked, messages encrypted
for the browser (RFC 8291) and signed with the installation's VAPID key (RFC 8292),
as a fake push service on 127.0.0.1 verifies; a 410 removes the subscription."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import delete, select

from server.extensions import db
from server.jobs.messages import queue_citizen_messages
from server.models import InstallationKey, OutboxMessage, PushSubscription
from server.services.notice_phases import record_phase_changes

from ..factories import issue_template_alert

NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
URL = "/musterstadt/push/abonnement"


@pytest.fixture()
def town(app_ctx, factory):
    app_ctx.config["AUSHANG_CLOCK"] = lambda: NOW
    tenant = factory.tenant("musterstadt", name="Musterstadt")
    cat = factory.category(tenant, "Satzungen")
    editor = factory.user(tenant, "editor", "alerter", email="editor@m.example")
    approver = factory.user(tenant, "approver", email="approver@m.example")
    db.session.commit()
    return tenant, cat, editor, approver


def test_a_warning_reaches_subscribed_browsers_encrypted_and_signed(
    town, app_ctx, push_service, send
):
    tenant, _, editor, _ = town
    client = app_ctx.test_client()
    page = client.get("/musterstadt/benachrichtigungen").get_data(as_text=True)
    [page_key] = re.findall(r'data-vapid-key="([^"]+)"', page)
    assert (
        "subscribe.js" in page and "https://" not in page.split("<main", 1)[1].split("</main>")[0]
    )
    for name in ("handy", "laptop"):
        r = client.post(URL, json={"subscription": push_service.browser(name)})
        assert r.status_code == 201
    issue_template_alert(db.session, tenant, editor, NOW, sender_name="Stadt Musterstadt")
    db.session.commit()
    queue_citizen_messages(db.session, NOW)
    db.session.commit()
    send(NOW)
    assert push_service.errors == []
    assert sorted(name for name, _, _ in push_service.delivered) == ["handy", "laptop"]
    _, message, headers = push_service.delivered[0]
    assert message["title"] == "Warnung – Musterstadt" and message["urgent"] is True
    assert message["url"].endswith("/musterstadt/warnungen") and message["body"]
    assert headers["urgency"] == "high"
    assert push_service.vapid_keys == {page_key}  # the key the browser subscribed with
    assert db.session.scalar(select(InstallationKey.name)) == "vapid_private_pem"


def test_a_410_removes_the_subscription(town, app_ctx, push_service, send):
    tenant, _, editor, _ = town
    client = app_ctx.test_client()
    client.post(URL, json={"subscription": push_service.browser("alt")})
    client.post(URL, json={"subscription": push_service.browser("neu")})
    push_service.answers["alt"] = 410
    issue_template_alert(db.session, tenant, editor, NOW, sender_name="Stadt Musterstadt")
    db.session.commit()
    queue_citizen_messages(db.session, NOW)
    db.session.commit()
    send(NOW)
    endpoints = list(db.session.scalars(select(PushSubscription.endpoint)))
    assert endpoints == [f"{push_service.origin}/push/neu"]
    row = db.session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.channel == "push", OutboxMessage.status == "skipped"
        )
    ).one()
    assert "410" in row.last_error


def test_a_push_service_that_is_down_is_tried_again(town, app_ctx, push_service, send):
    tenant, _, editor, _ = town
    app_ctx.test_client().post(URL, json={"subscription": push_service.browser("handy")})
    push_service.answers["handy"] = 503
    issue_template_alert(db.session, tenant, editor, NOW, sender_name="Stadt Musterstadt")
    db.session.commit()
    queue_citizen_messages(db.session, NOW)
    db.session.commit()
    send(NOW)
    row = db.session.scalars(select(OutboxMessage).where(OutboxMessage.channel == "push")).one()
    assert (row.status, row.attempts) == ("pending", 1)
    del push_service.answers["handy"]
    from datetime import timedelta

    send(NOW + timedelta(minutes=1))
    assert [n for n, _, _ in push_service.delivered] == ["handy"]


def test_new_notices_only_for_browsers_that_asked(town, app_ctx, factory, push_service, send):
    tenant, cat, editor, approver = town
    client = app_ctx.test_client()
    client.post(URL, json={"subscription": push_service.browser("alles"), "notices": True})
    client.post(URL, json={"subscription": push_service.browser("warnungen")})
    factory.released_notice(tenant, cat, editor, approver, title="Hundesteuersatzung")
    db.session.execute(delete(OutboxMessage))
    record_phase_changes(db.session, NOW)
    db.session.commit()
    send(NOW)
    assert push_service.errors == []
    [(name, message, _)] = push_service.delivered
    assert name == "alles" and message["body"] == "Satzungen: Hundesteuersatzung"


def test_bad_subscriptions_are_refused_and_unsubscribe_works(town, app_ctx, push_service):
    client = app_ctx.test_client()
    good = push_service.browser("handy")
    assert client.post(URL, data="kein json").status_code == 400
    wrong_keys = {"endpoint": good["endpoint"], "keys": {"p256dh": "abc", "auth": "x"}}
    r = client.post(URL, json={"subscription": wrong_keys})
    assert r.status_code == 422 and "keys" in r.get_json()["errors"]
    elsewhere = dict(good, endpoint="https://evil.example/push/1")
    r = client.post(URL, json={"subscription": elsewhere})
    assert r.status_code == 422 and "endpoint" in r.get_json()["errors"]
    assert client.post(URL, json={"subscription": good}).status_code == 201
    assert client.post(URL, json={"subscription": good}).status_code == 201  # refreshed
    assert len(db.session.scalars(select(PushSubscription)).all()) == 1
    r = client.post("/musterstadt/push/abmelden", json={"endpoint": good["endpoint"]})
    assert r.status_code == 200
    assert db.session.scalars(select(PushSubscription)).all() == []
    worker = client.get("/service-worker.js")
    assert worker.status_code == 200 and worker.headers["Service-Worker-Allowed"] == "/"
    assert b"showNotification" in worker.data
