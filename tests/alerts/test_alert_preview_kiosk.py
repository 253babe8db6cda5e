"""The manual warning's preview on the real kiosk page (issue 13, build 3): the reach
("erreicht N Anzeigen, davon M online, K offline") by the delivery's own targeting, one
frame per orientation of the targeted displays, the kiosk page's files and a
``local/state`` in the player's own shape, and tenant and role checks on every route.
The real-browser comparison with a player's kiosk page is in
``tests/e2e/test_alert_preview_e2e.py``."""

from __future__ import annotations

import html as html_lib
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from player.manifest import parse_manifest
from player.view import Content, build_view
from server.models import AlertDelivery, AlertRecord, Display, PlayEvent
from server.services import alerts as svc
from server.services.displays import enrolment
from server.services.displays.kiosk_view import draft_warning

from ..conftest import login
from .test_alerts_admin import _form

TOWN_ARS = "150870045045"


@pytest.fixture
def clock(app, now, monkeypatch):
    monkeypatch.setitem(app.config, "AUSHANG_CLOCK", lambda: now)
    return now


@pytest.fixture
def town(factory, session):
    tenant = factory.tenant("sangerhausen", ars=TOWN_ARS, name="Sangerhausen")
    session.commit()
    return tenant


def _display(session, tenant, name, now, *, orientation="landscape", online=False, test=False):
    w, h = (1920, 1080) if orientation == "landscape" else (1080, 1920)
    display = Display(
        tenant_id=tenant.id,
        name=name,
        location="Markt 1",
        created_at=now,
        orientation=orientation,
        resolution_w=w,
        resolution_h=h,
        test_display=test,
    )
    session.add(display)
    session.flush()
    enrolment._issue(display, now)
    if online:
        display.last_seen = now - timedelta(seconds=5)
    return display


def _preview_page(client, tenant, **kw) -> str:
    r = client.post(
        f"/admin/{tenant.slug}/warnungen/neu", data=_form(tenant, action="preview", **kw)
    )
    assert r.status_code == 200, r.status_code
    return r.get_data(as_text=True)


def _kiosk_url(page: str) -> str:
    urls = set(re.findall(r'<iframe class="kiosk-frame" src="([^"]+)"', page))
    assert len(urls) == 1, urls
    return html_lib.unescape(urls.pop())


def test_preview_counts_reach_by_the_delivery_targeting_and_frames_per_orientation(
    client, factory, town, session, clock
):
    other = factory.tenant("magdeburg", ars="150030000000", name="Magdeburg")
    alerter = factory.user(town, "alerter")
    _display(session, town, "Rathaus", clock, online=True)
    _display(session, town, "Bahnhof", clock)
    _display(session, town, "Bibliothek", clock, orientation="portrait")
    _display(session, town, "Probe", clock, test=True)
    _display(session, other, "Fremd", clock, online=True)
    session.commit()
    login(client, alerter.email)

    page = _preview_page(client, town)
    text = re.sub(r"\s+", " ", page)
    assert "Erreicht 4 Anzeigen</strong> (davon 1 online, 3 offline)" in text
    frames = re.findall(r'width="(\d+)" height="(\d+)" title="Vorschau der Anzeige im (\w+)"', page)
    assert frames == [("1920", "1080", "Querformat"), ("1080", "1920", "Hochformat")]

    # An exercise reaches test displays only (W7).
    exercise = re.sub(r"\s+", " ", _preview_page(client, town, test_mode="1"))
    assert "Erreicht 1 Anzeige</strong> (davon 0 online, 1 offline)" in exercise

    # The same number the delivery page will show once the warning is issued.
    done = client.post(f"/admin/{town.slug}/warnungen/neu", data=_form(town, action="confirm"))
    assert done.status_code == 302
    record = session.scalar(select(AlertRecord))
    from server.services.alert_delivery import delivery_status

    status = delivery_status(session, record, clock)
    assert status.total == 4 and len(status.offline) == 3


def test_preview_without_displays_says_so_and_shows_one_landscape_frame(
    client, factory, town, session, clock
):
    alerter = factory.user(town, "alerter")
    session.commit()
    login(client, alerter.email)
    page = _preview_page(client, town)
    assert "Erreicht keine Anzeige" in page
    assert page.count('class="kiosk-frame"') == 1 and 'width="1920"' in page


def test_kiosk_state_is_the_players_view_of_the_same_manifest_warning(
    app, client, factory, town, session, clock
):
    alerter = factory.user(town, "alerter")
    session.commit()
    login(client, alerter.email)
    base = _kiosk_url(_preview_page(client, town))

    state = client.get(base + "local/state")
    assert state.status_code == 200 and state.mimetype == "application/json"
    got = state.get_json()

    # The player, fed the manifest warning the server builds for the same draft, would
    # publish this state to its kiosk page.
    data, _raw = _draft_input(town)
    policy = svc.policy_from_config(app.config)
    alert, shown = svc.preview_manual(session, tenant=town, data=data, now=clock, policy=policy)
    from server.web.clock import blob_store

    public = f"{app.config['AUSHANG_BASE_URL'].rstrip('/')}/{town.slug}/warnungen"
    warning = draft_warning(alert, shown, blob_store(), policy, public)
    manifest = {
        "protocol": 1,
        "server_time": "2026-11-20T09:30:00Z",
        "etag": "preview",
        "display": {"id": None, "name": None},
        "screen": {"timezone": town.timezone},
        "items": [],
        "warnings": [warning],
    }
    expected = build_view(
        content=Content.of(parse_manifest(manifest)),
        now=clock,
        has_file=lambda sha: True,
        enrolled=True,
        pairing_code=None,
        last_contact=clock,
        stale_after_s=600,
    )
    for w in expected["warnings"]:  # the preview serves blobs under its own mount
        if w["qr_image"]:
            w["qr_image"] = w["qr_image"].lstrip("/")
    assert {k: v for k, v in got.items() if k not in ("rev", "stand")} == {
        k: v for k, v in expected.items() if k != "stand"
    }
    assert got["warnings"][0]["headline"] == data.headline
    assert got["warnings"][0]["behaviour"] == "takeover"

    # A long-poll for a newer revision: nothing newer, at once.
    assert client.get(base + f"local/state?since={got['rev']}").status_code == 204


def _draft_input(tenant):
    from werkzeug.datastructures import MultiDict

    from server.web.admin.alerts import _form_input

    return _form_input(tenant, MultiDict(_form(tenant)))


def test_kiosk_files_are_the_players_and_reports_have_no_effect(
    client, factory, town, session, clock
):
    from pathlib import Path

    alerter = factory.user(town, "alerter")
    display = _display(session, town, "Rathaus", clock, online=True)
    session.commit()
    login(client, alerter.email)
    base = _kiosk_url(_preview_page(client, town))
    kiosk = Path(__file__).resolve().parents[2] / "player" / "kiosk"
    for name, path in (("index.html", ""), ("kiosk.css", "kiosk.css"), ("kiosk.js", "kiosk.js")):
        r = client.get(base + path)
        assert r.status_code == 200, name
        assert r.data == (kiosk / name).read_bytes()
        assert "script-src 'self'" in r.headers["Content-Security-Policy"]
    assert client.get(base + "nicht-da.js").status_code == 404

    for path, body in (
        ("local/ping", {"showing": None}),
        ("local/played", {"item": "1"}),
        ("local/alert-shown", {"alert": "vorschau"}),
    ):
        assert client.post(base + path, json=body).status_code == 204
    assert session.scalar(select(AlertDelivery)) is None
    assert session.scalar(select(PlayEvent)) is None
    session.refresh(display)
    assert session.scalar(select(AlertRecord)) is None


def test_preview_routes_check_tenant_role_and_token(client, factory, town, session, clock):
    other = factory.tenant("magdeburg", ars="150030000000", name="Magdeburg")
    alerter = factory.user(town, "alerter")
    foreign = factory.user(other, "alerter", email="b@magdeburg.example")
    editor = factory.user(town, "editor", email="editor@sangerhausen.example")
    session.commit()
    login(client, alerter.email)
    base = _kiosk_url(_preview_page(client, town))
    token = base.rstrip("/").split("/")[-2]
    assert client.get(base + "local/state").status_code == 200

    # A forged or truncated token.
    assert client.get(base.replace(token, token[:-3] + "xyz") + "local/state").status_code == 404

    # An alerter of another tenant: not under A's URL, and A's token not under B's URL.
    login(client, foreign.email)
    for path in ("", "kiosk.js", "local/state"):
        assert client.get(base + path).status_code == 404
    assert client.post(base + "local/ping", json={}).status_code == 404
    own_url = base.replace("/admin/sangerhausen/", "/admin/magdeburg/")
    assert client.get(own_url + "local/state").status_code == 404
    assert client.get(own_url).status_code == 404

    # An editor of the same tenant may not see warning drafts.
    login(client, editor.email)
    assert client.get(base + "local/state").status_code == 403
