"""The display's live preview in the staff area (issue 13, build 3) runs the real kiosk
page on the display's current manifest: its ``local/state`` is the player's view of that
manifest (items, warnings), slides come from the display's own file route, and the
routes are the display's tenant's admins' only."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from player.manifest import parse_manifest
from player.view import Content, build_view
from server.models import AlertDelivery, ContentItem, Display, PlayEvent
from server.runtime import caches
from server.services import alerts as svc
from server.services.displays import enrolment
from server.services.displays.manifest import manifest_for
from server.services.displays.snapshot import snapshot_of
from server.services.files import BlobStore

from ..conftest import login
from ..factories import issue_template_alert

NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


@pytest.fixture
def world(app, factory, session, monkeypatch):
    monkeypatch.setitem(app.config, "AUSHANG_CLOCK", lambda: NOW)
    town = factory.tenant("sangerhausen", ars="150870045045", name="Sangerhausen")
    other = factory.tenant("magdeburg", ars="150030000000", name="Magdeburg")
    admin = factory.user(town, "admin")
    display = Display(tenant_id=town.id, name="Rathaus Foyer", created_at=NOW)
    session.add(display)
    session.flush()
    enrolment._issue(display, NOW)
    session.add(
        ContentItem(
            tenant_id=town.id,
            display_id=display.id,
            kind="page",
            title="Öffnungszeiten",
            body="Mo–Fr 8–12 Uhr",
            valid_from=NOW - timedelta(hours=1),
            created_at=NOW,
            updated_at=NOW,
        )
    )
    session.commit()
    return {
        "town": town,
        "admin": admin,
        "display": display,
        "foreign": factory.user(other, "admin", email="b@magdeburg.example"),
        "editor": factory.user(town, "editor", email="e@sangerhausen.example"),
    }


def _issue(session, world) -> None:
    town = world["town"]
    issue_template_alert(
        session,
        town,
        world["admin"],
        NOW - timedelta(minutes=1),
        sender_name="Stadt Sangerhausen",
        headline="Hochwasser an der Helme",
    )
    session.commit()


def _players_view(app, session, display) -> dict:
    store = BlobStore(app.config["AUSHANG_DATA_DIR"])
    manifest = json.loads(
        manifest_for(
            session,
            snapshot_of(session, display),
            NOW,
            store=store,
            base_url=app.config["AUSHANG_BASE_URL"],
            policy=svc.policy_from_config(app.config),
            cache=caches(app),
        ).body(NOW)
    )
    return build_view(
        content=Content.of(parse_manifest(manifest)),
        now=NOW,
        has_file=lambda sha: store.path_for(sha).is_file(),
        enrolled=True,
        pairing_code=None,
        last_contact=NOW,
        stale_after_s=600,
    )


def _mounted(view: dict, files: str) -> dict:
    """The player's view with blob URLs moved to the staff mount."""
    out = json.loads(json.dumps(view))
    for item in out["items"]:
        item["url"] = files + item["url"].rsplit("/", 1)[1]
    for w in out["warnings"]:
        if w["qr_image"]:
            w["qr_image"] = files + w["qr_image"].rsplit("/", 1)[1]
    out.pop("stand")
    return out


def test_live_preview_state_is_the_players_view_of_the_displays_manifest(
    app, client, session, world
):
    display = world["display"]
    base = f"/admin/sangerhausen/anzeigen/{display.id}"
    login(client, world["admin"].email)
    page = client.get(base + "/vorschau").text
    assert f'src="{base}/vorschau/kiosk/"' in page and 'width="1920" height="1080"' in page

    first = client.get(base + "/vorschau/kiosk/local/state").get_json()
    expected = _mounted(_players_view(app, session, display), base + "/dateien/")
    assert {k: v for k, v in first.items() if k not in ("rev", "stand")} == expected
    assert [i["title"] for i in first["items"]] == ["Öffnungszeiten"] and not first["warnings"]
    slide = client.get(first["items"][0]["url"])
    assert slide.status_code == 200 and "Öffnungszeiten" in slide.text
    # Unchanged: the long-poll gets 204 at once.
    assert client.get(base + f"/vorschau/kiosk/local/state?since={first['rev']}").status_code == 204

    # A warning arrives: a new revision with the warning, as the player would draw it.
    _issue(session, world)
    second = client.get(base + f"/vorschau/kiosk/local/state?since={first['rev']}")
    assert second.status_code == 200
    state = second.get_json()
    assert state["rev"] != first["rev"]
    expected = _mounted(_players_view(app, session, display), base + "/dateien/")
    assert {k: v for k, v in state.items() if k not in ("rev", "stand")} == expected
    assert [w["headline"] for w in state["warnings"]] == ["Hochwasser an der Helme"]

    for report in ("ping", "played", "alert-shown"):
        r = client.post(base + f"/vorschau/kiosk/local/{report}", json={"item": "1", "alert": "1"})
        assert r.status_code == 204
    assert session.scalar(select(PlayEvent)) is None  # a preview is no proof of play
    assert session.scalar(select(AlertDelivery)) is None
    assert client.get(base + "/vorschau/kiosk/kiosk.js").status_code == 200


def test_live_preview_is_the_displays_tenants_admins_only(client, world):
    base = f"/admin/sangerhausen/anzeigen/{world['display'].id}/vorschau/kiosk/"
    login(client, world["foreign"].email)
    for path in ("", "local/state"):
        assert client.get(base + path).status_code == 404
    foreign_url = base.replace("sangerhausen", "magdeburg")
    assert client.get(foreign_url + "local/state").status_code == 404  # not B's display
    login(client, world["editor"].email)
    assert client.get(base + "local/state").status_code == 403
