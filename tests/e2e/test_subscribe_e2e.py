"""The citizens' subscribe page in a real browser (issue 18): the service worker
registers, the notification permission is granted the way tests grant it (the DevTools
protocol, as the Chromium flag for tests would), the button sends the browser's
subscription to the server, a warning is pushed to it and decrypted; the e-mail form
works; axe-core finds no WCAG 2.1 A/AA violation.

Headless Chromium has no way to reach its vendor's push service here (no internet), so
``PushManager.subscribe`` is answered by a fake of that service on 127.0.0.1 (the
endpoint and keys a browser would get); everything between the page and the server,
and the encryption of the pushed message, is real.
"""

from __future__ import annotations

import json

import pytest
from selenium.webdriver.common.by import By
from sqlalchemy import select

from server.domain.posting import utcnow
from server.extensions import db
from server.models import PushSubscription
from tests.factories import Factory, issue_template_alert
from tests.mail.fakes import PushService

from .checks import assert_no_axe_violations
from .helpers import wait

pytestmark = [pytest.mark.e2e, pytest.mark.isolated]

FAKE_PUSH_MANAGER = """
(() => {
  const sub = %s;
  let current = null;
  PushManager.prototype.subscribe = async function (options) {
    const key = new Uint8Array(options.applicationServerKey);
    window.__pushKey = btoa(String.fromCharCode(...key))
      .replace(/\\+/g, "-").replace(/\\//g, "_").replace(/=+$/, "");
    current = { endpoint: sub.endpoint, toJSON: () => sub,
                unsubscribe: async () => { current = null; return true; } };
    return current;
  };
  PushManager.prototype.getSubscription = async function () { return current; };
})();
"""


@pytest.fixture()
def push_service(live_server):
    service = PushService()
    live_server.app.config["AUSHANG_PUSH_SERVICES"] = ("127.0.0.1",)
    yield service
    live_server.app.config["AUSHANG_PUSH_SERVICES"] = ()
    service.close()


def test_subscribe_page_push_and_mail_in_chromium(browser, live_server, push_service):
    with live_server.session() as session:
        f = Factory(session, utcnow())
        town = f.tenant("pushstadt", ars="150870045099", name="Pushstadt")
        f.category(town, "Satzungen")
        alerter = f.user(town, "alerter", email="warnung@pushstadt.example")
        town_id, alerter_id = town.id, alerter.id
    base = live_server.url
    subscription = push_service.browser("chromium")
    browser.execute_cdp_cmd(
        "Browser.grantPermissions", {"origin": base, "permissions": ["notifications"]}
    )
    script = browser.execute_cdp_cmd(
        "Page.addScriptToEvaluateOnNewDocument",
        {"source": FAKE_PUSH_MANAGER % json.dumps(subscription)},
    )
    try:
        browser.get(base + "/pushstadt/benachrichtigungen")
        assert browser.execute_script("return Notification.permission") == "granted"
        scope = browser.execute_async_script(
            """const done = arguments[arguments.length - 1];
            navigator.serviceWorker.ready.then(r => done(r.scope)).catch(e => done(String(e)));"""
        )
        assert scope == base + "/pushstadt/"
        assert_no_axe_violations(browser)

        browser.find_element(By.ID, "push-on").click()
        wait(browser).until(lambda d: "eingeschaltet" in d.find_element(By.ID, "push-status").text)
        page_key = browser.find_element(By.ID, "push").get_attribute("data-vapid-key")
        assert browser.execute_script("return window.__pushKey") == page_key
        with live_server.session() as session:
            [stored] = session.scalars(select(PushSubscription)).all()
            assert (stored.tenant_id, stored.endpoint) == (town_id, subscription["endpoint"])

        with live_server.app.app_context():
            from server.jobs.messages import queue_citizen_messages, send_outbox
            from server.models import Tenant, User

            now = utcnow()
            issue_template_alert(
                db.session,
                db.session.get(Tenant, town_id),
                db.session.get(User, alerter_id),
                now,
                sender_name="Stadt Pushstadt",
            )
            queue_citizen_messages(db.session, now)
            db.session.commit()
            send_outbox(db.session, now)
            db.session.commit()
            db.session.remove()
        assert push_service.errors == []
        [(_, message, _)] = push_service.delivered
        assert message["title"] == "Warnung – Pushstadt"
        assert push_service.vapid_keys == {page_key}

        browser.find_element(By.ID, "email").send_keys("buerger@pushstadt.example")
        browser.find_element(By.CSS_SELECTOR, "form.stack button[type=submit]").click()
        wait(browser).until(lambda d: "Fast geschafft" in d.page_source)
        assert_no_axe_violations(browser)
    finally:
        browser.execute_cdp_cmd(
            "Page.removeScriptToEvaluateOnNewDocument", {"identifier": script["identifier"]}
        )
        browser.execute_cdp_cmd("Browser.resetPermissions", {})
