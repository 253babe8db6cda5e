"""The priority channel end to end on 127.0.0.1 (issue 6 acceptance).

The real server (threaded werkzeug, its own SQLite file, migrated by Alembic, demo
data), real player processes (``python -m player``) enrolled with a provisioning
token, and each player's kiosk page in headless Chromium (one browser, one window per
player: windows, unlike background tabs, keep painting, so the after-paint
acknowledgement runs in all of them).

A manual warning takes over every kiosk page mid-slide; each acknowledgement is stored
with its latency; a restart of the server (a fresh app on the same port and database)
during the warning changes nothing on the screens; the Entwarnung shows and the pages
return to the rotation after the configured time (``AUSHANG_ALERT_ALL_CLEAR_MINUTES``,
a few seconds here).

Every wait is on a condition with a deadline.
"""

from __future__ import annotations

import os
import shutil
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from server import create_app
from server.config import load_settings
from server.domain.posting import utcnow
from server.extensions import db
from server.models import AlertDelivery, AlertRecord, Display, Tenant, User
from server.services import alerts as svc
from server.services.displays import enrolment

from .conftest import CHROMEDRIVER, CHROMIUM, missing_tool

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "player"))
from player_process import PlayerProcess, wait_for  # noqa: E402

pytestmark = [pytest.mark.e2e, pytest.mark.isolated]

ALL_CLEAR_SECONDS = 6
SLIDE_SECONDS = 60  # long slides: a takeover within seconds is mid-slide by construction
HEADLINE = "Hochwasser: Deich an der Lahn gefährdet"


class Server:
    """The app in a thread; ``restart()`` builds a fresh app on the same port and data."""

    def __init__(self, instance: Path) -> None:
        self.instance = instance
        self.port = 0
        self.app: Any = None
        self._httpd: Any = None
        self._thread: threading.Thread | None = None

    def _settings(self) -> Any:
        return load_settings(
            {
                "AUSHANG_INSTANCE_PATH": str(self.instance),
                "DATABASE_URL": f"sqlite:///{self.instance / 'takeover.db'}",
                "SECRET_KEY": "e2e-takeover",
                "AUSHANG_DATA_DIR": str(self.instance / "files"),
                "AUSHANG_ALERT_ALL_CLEAR_MINUTES": str(ALL_CLEAR_SECONDS / 60),
                "AUSHANG_NOTIFY_POLL_SECONDS": "0.2",
            }
        )

    def start(self) -> Server:
        self.app = create_app(settings=self._settings())
        self._httpd = make_server("127.0.0.1", self.port, self.app, threaded=True)
        self.port = self._httpd.server_port
        self.app.config["AUSHANG_BASE_URL"] = self.url
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=10)

    def restart(self) -> None:
        self.stop()
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def run(self, fn: Any) -> Any:
        """``fn(session)`` in an app context, committed (the entry point's commit)."""
        with self.app.app_context():
            try:
                result = fn(db.session)
                db.session.commit()
                return result
            finally:
                db.session.remove()


@pytest.fixture()
def server(tmp_path: Path) -> Iterator[Server]:
    srv = Server(tmp_path / "instance")
    srv.instance.mkdir()
    app = create_app(settings=srv._settings())
    with app.app_context():
        from flask_migrate import upgrade

        from server.demo import load_demo

        upgrade()
        load_demo(db.session, utcnow())
        db.session.commit()
        db.session.remove()
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture()
def browser(tmp_path: Path) -> Iterator[Any]:
    if not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)):
        missing_tool(f"Chromium/chromedriver missing ({CHROMIUM}, {CHROMEDRIVER})")
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    profile = tmp_path / "chromium-profile"
    options = Options()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-background-timer-throttling",
        "--disable-backgrounding-occluded-windows",
        "--disable-renderer-backgrounding",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--window-size=960,540",
        "--lang=de-DE",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


# --- what a kiosk page shows (read from its DOM) ------------------------------------------

SCREEN_JS = """
var $ = function (id) { return document.getElementById(id); };
var k = window.aushangKiosk;
return {
  warning: !$('warning').hidden,
  rotation: !$('rotation').hidden,
  kind: $('w-kind').textContent,
  headline: $('w-headline').textContent,
  entwarnung: $('warning').classList.contains('entwarnung'),
  showing: k ? k.current().showing : null,
  key: k ? k.current().key : null,
  toggles: window.__warningToggles === undefined ? null : window.__warningToggles
};
"""

# Counts every show/hide of the warning layer from now on: a screen that "keeps the
# takeover" across a server restart must not flicker, not even once.
WATCH_JS = """
window.__warningToggles = 0;
new MutationObserver(function () { window.__warningToggles++; })
  .observe(document.getElementById('warning'), { attributes: true, attributeFilter: ['hidden'] });
"""


class Kiosks:
    """One browser window per player's kiosk page."""

    def __init__(self, driver: Any, players: list[PlayerProcess]) -> None:
        self.driver = driver
        self.handles: list[str] = []
        for n, player in enumerate(players):
            if n:
                driver.switch_to.new_window("window")
            driver.get(player.kiosk_url)
            self.handles.append(driver.current_window_handle)

    def screens(self) -> list[dict[str, Any]]:
        out = []
        for handle in self.handles:
            self.driver.switch_to.window(handle)
            out.append(self.driver.execute_script(SCREEN_JS))
        return out

    def run(self, script: str) -> None:
        for handle in self.handles:
            self.driver.switch_to.window(handle)
            self.driver.execute_script(script)

    def wait_all(self, test: Any, what: str, timeout: float = 30) -> list[dict[str, Any]]:
        def ok() -> list[dict[str, Any]] | None:
            screens = self.screens()
            return screens if all(test(s) for s in screens) else None

        return wait_for(ok, timeout=timeout, interval=0.05, what=what)


def in_rotation(s: dict[str, Any]) -> bool:
    return s["rotation"] and not s["warning"] and s["showing"] is not None


def taken_over(s: dict[str, Any]) -> bool:
    return s["warning"] and not s["entwarnung"] and s["headline"] == HEADLINE


def entwarnung(s: dict[str, Any]) -> bool:
    return s["warning"] and s["entwarnung"] and s["kind"] == "Entwarnung"


# --- the journey -----------------------------------------------------------------------------


def _prepare(server: Server) -> str:
    def create(session):
        tenant = session.scalar(select(Tenant).where(Tenant.slug == "musterstadt"))
        admin = session.scalar(select(User).where(User.email == "admin@musterstadt.example"))
        _, plain = enrolment.create_provisioning_token(session, tenant, admin, "E2E", utcnow())
        return plain

    return server.run(create)


def _displays(server: Server) -> list[int]:
    def ids(session):
        rows = session.scalars(select(Display).where(Display.enrolled_at.is_not(None))).all()
        for display in rows:
            display.notice_duration_s = SLIDE_SECONDS
        return [d.id for d in rows]

    return server.run(ids)


def _issue(server: Server) -> int:
    def issue(session):
        tenant = session.scalar(select(Tenant).where(Tenant.slug == "musterstadt"))
        user = session.scalar(select(User).where(User.email == "warnung@musterstadt.example"))
        record = svc.issue_manual(
            session,
            tenant=tenant,
            user=user,
            data=svc.ManualAlertInput(
                template_key="hochwasser",
                area_desc="Musterstadt, Lahnufer",
                tenant_ids=[tenant.id],
                warnstufe=1,
                headline=HEADLINE,
                description="Der Pegel der Lahn steigt weiter. Der Deich am Lahnufer ist gefährdet.",
                instruction="Meiden Sie das Lahnufer. Folgen Sie den Anweisungen der Einsatzkräfte.",
                sender_name="Stadt Musterstadt, Ordnungsamt",
            ),
            now=utcnow(),
            policy=svc.policy_from_config(server.app.config),
        )
        return record.id

    return server.run(issue)


def _cancel(server: Server, alert_id: int) -> int:
    def cancel(session):
        tenant = session.scalar(select(Tenant).where(Tenant.slug == "musterstadt"))
        user = session.scalar(select(User).where(User.email == "warnung@musterstadt.example"))
        record = svc.cancel_manual(
            session,
            tenant=tenant,
            user=user,
            record_id=alert_id,
            now=utcnow(),
            policy=svc.policy_from_config(server.app.config),
        )
        return record.id

    return server.run(cancel)


def _deliveries(server: Server, alert_id: int) -> list[tuple[int, Any, Any, Any]]:
    def rows(session):
        found = session.scalars(
            select(AlertDelivery).where(AlertDelivery.alert_id == alert_id)
        ).all()
        return [(d.display_id, d.delivered_at, d.shown_at, d.latency_s) for d in found]

    return server.run(rows)


def _journey(server: Server, browser: Any, tmp_path: Path, count: int) -> None:
    token = _prepare(server)
    for n in range(count):
        (tmp_path / f"player{n}").mkdir()
    players = [
        PlayerProcess(
            tmp_path / f"player{n}",
            server.url,
            provisioning_token=token,
            poll_wait_seconds=25,
            heartbeat_seconds=2,
        )
        for n in range(count)
    ]
    try:
        for player in players:
            player.start()
        wait_for(
            lambda: len(_displays(server)) == count, timeout=30, what=f"{count} players enrolled"
        )
        kiosks = Kiosks(browser, players)
        before = kiosks.wait_all(in_rotation, "every kiosk page in its rotation", timeout=40)
        assert all(s["key"] for s in before)

        # -- the trigger: a committed transaction, as the staff page's view makes it
        triggered = time.monotonic()
        alert_id = _issue(server)
        screens = kiosks.wait_all(
            taken_over, "takeover on every kiosk page", timeout=SLIDE_SECONDS / 2
        )
        took = time.monotonic() - triggered
        print(f"takeover on {count} kiosk pages after {took:.2f} s")
        # The slides last SLIDE_SECONDS: the rotation could not have ended on its own.
        assert took < SLIDE_SECONDS / 2, "takeover waited for the slide to end"
        assert all(not s["rotation"] for s in screens)

        # -- every acknowledgement stored, with its latency
        acks = wait_for(
            lambda: (
                (rows := _deliveries(server, alert_id))
                and len(rows) == count
                and all(r[2] is not None for r in rows)
                and rows
            ),
            timeout=20,
            what="acknowledgements of every display",
        )
        displays = set(_displays(server))
        assert {r[0] for r in acks} == displays
        for _, delivered_at, shown_at, latency in acks:
            assert delivered_at is not None and shown_at is not None
            assert latency is not None and -2.0 < latency < 30.0

        # -- restart the server during the warning: nothing changes on the screens
        kiosks.run(WATCH_JS)
        server.restart()
        restarted = utcnow()

        def all_back() -> bool:
            def seen(session):
                rows = session.scalars(select(Display).where(Display.id.in_(displays))).all()
                return all(d.last_seen and d.last_seen > restarted for d in rows)

            return server.run(seen)

        wait_for(all_back, timeout=30, interval=0.1, what="players back after the restart")
        screens = kiosks.screens()
        assert all(taken_over(s) for s in screens), screens
        assert [s["toggles"] for s in screens] == [0] * count, "a screen flickered"

        # -- Entwarnung, then back to the rotation after the configured time
        cancelled = time.monotonic()
        cancel_id = _cancel(server, alert_id)
        kiosks.wait_all(entwarnung, "Entwarnung on every kiosk page", timeout=SLIDE_SECONDS / 2)
        kiosks.wait_all(
            in_rotation, "rotation after the Entwarnung", timeout=ALL_CLEAR_SECONDS + 20
        )
        shown_for = time.monotonic() - cancelled
        assert shown_for >= ALL_CLEAR_SECONDS - 1.5, f"Entwarnung ended after {shown_for:.1f} s"
        cancel_acks = _deliveries(server, cancel_id)
        assert len(cancel_acks) == count and all(r[2] is not None for r in cancel_acks)

        def phases(session):
            rec = session.get(AlertRecord, alert_id)
            return rec.phase, rec.end_reason

        assert server.run(phases) == ("ended", "cancelled")
        for player in players:
            assert player.proc is not None and player.proc.poll() is None, player.output()
    finally:
        for player in players:
            player.stop()


def test_three_players_taken_over_mid_slide_acked_kept_through_restart_and_released(
    server, browser, tmp_path
):
    # About 25 s on the 2-core machine, so it runs unmarked (no ``slow`` variant needed).
    _journey(server, browser, tmp_path, count=3)


def test_entwarnung_duration_is_configurable_in_seconds():
    settings = load_settings({"AUSHANG_ALERT_ALL_CLEAR_MINUTES": "0.1", "SECRET_KEY": "x"})
    policy = svc.policy_from_config(settings.flask_config())
    assert policy.all_clear_for == timedelta(seconds=6)
