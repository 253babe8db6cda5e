"""Mixed-in content between the notices (issue 16): one item after every N notices, in the
staff's order, each once per cycle; the slides of one notice stay together."""

from __future__ import annotations

from datetime import timedelta

import pytest

from server.domain.playlist import interleave
from server.models import Display
from server.services.displays import config as svc

from .conftest import API, release, validate


@pytest.mark.parametrize(
    ("every", "expected"),
    [
        (0, ["a", "b1", "b2", "c", "d", "x", "y"]),
        (1, ["a", "x", "b1", "b2", "y", "c", "d"]),
        (2, ["a", "b1", "b2", "x", "c", "d", "y"]),
        (3, ["a", "b1", "b2", "c", "x", "d", "y"]),
        (9, ["a", "b1", "b2", "c", "d", "x", "y"]),
    ],
)
def test_interleave(every, expected):
    assert interleave([["a"], ["b1", "b2"], ["c"], ["d"]], ["x", "y"], every) == expected


def test_manifest_puts_content_after_every_second_notice(client, dw, session, now):
    for n in range(3):
        release(dw, session, now - timedelta(minutes=5 - n), title=f"Satzung {n}")
    for position, title in ((20, "Öffnungszeiten"), (10, "Sprechstunde")):
        svc.add_content(
            session,
            dw.tenant,
            dw.admin,
            svc.ContentInput(kind="page", title=title, body="Mo–Fr 8–12 Uhr", position=position),
            now - timedelta(hours=1),
        )
    display = session.get(Display, dw.display.id)
    display.content_every = 2
    session.commit()
    items = client.get(API + "manifest", headers=dw.auth()).json["items"]
    kinds = ["page" if i["kind"] == "page" else i["notice_id"] for i in items]
    pages = [i["title"] for i in items if i["kind"] == "page"]
    assert pages == ["Sprechstunde", "Öffnungszeiten"]  # the staff's order
    notice_ids = [k for k in kinds if k != "page"]
    assert len(notice_ids) == 4
    assert kinds == notice_ids[:2] + ["page"] + notice_ids[2:] + ["page"]


def _page(session, dw, now, title="Öffnungszeiten", position=100):
    item = svc.add_content(
        session,
        dw.tenant,
        dw.admin,
        svc.ContentInput(kind="page", title=title, body="Mo–Fr 8–12 Uhr", position=position),
        now - timedelta(hours=1),
    )
    session.commit()
    return item


def test_content_is_edited_in_place_and_bad_input_gets_field_messages(client, dw, session, now):
    from tests.conftest import login

    item = _page(session, dw, now)
    login(client, dw.admin.email)
    url = f"/admin/{dw.tenant.slug}/anzeigen/inhalte/{item.id}/bearbeiten"
    page = client.get(url + f"?anzeige={dw.display.id}").get_data(as_text=True)
    assert 'value="Öffnungszeiten"' in page
    good = {
        "title": "Öffnungszeiten Rathaus",
        "body": "Mo–Do 8–16 Uhr",
        "position": "5",
        "duration_s": "12",
        "valid_from": "",
        "valid_until": "",
    }
    bad_cases = {
        "title": {**good, "title": ""},
        "body": {**good, "body": "  "},
        "position": {**good, "position": "zuerst"},
        "duration_s": {**good, "duration_s": "1"},
        "valid_until": {**good, "valid_until": "31.02.2026"},
    }
    for field, form in bad_cases.items():
        r = client.post(url, data=form)
        assert r.status_code == 422, field
        assert f'id="{field}-error"' in r.get_data(as_text=True), field
    r = client.post(url, data={**good, "anzeige": str(dw.display.id)})
    assert r.status_code == 302 and f"/anzeigen/{dw.display.id}" in r.headers["Location"]
    session.expire_all()
    changed = svc.get_content(session, dw.tenant, item.id)
    assert (changed.title, changed.body, changed.position, changed.duration_s) == (
        "Öffnungszeiten Rathaus",
        "Mo–Do 8–16 Uhr",
        5,
        12,
    )
    items = client.get(API + "manifest", headers=dw.auth()).json["items"]
    assert "Öffnungszeiten Rathaus" in {i["title"] for i in items}
    other = f"/admin/{dw.other.slug}/anzeigen/inhalte/{item.id}/bearbeiten"
    assert client.get(other).status_code in (403, 404)


def test_groups_are_assigned_to_many_displays_at_once(client, dw, session, now):
    from tests.conftest import login

    from .conftest import enrolled_display

    second, _ = enrolled_display(session, dw.tenant, "Bürgerbüro", now)
    group = svc.create_group(session, dw.tenant, dw.admin, "Ortsteil Nord", now)
    session.commit()
    login(client, dw.admin.email)
    url = f"/admin/{dw.tenant.slug}/anzeigen/gruppen/zuordnen"
    ids = [str(dw.display.id), str(second.id)]
    r = client.post(url, data={"group_id": str(group.id), "display_id": ids, "action": "add"})
    assert r.status_code == 302
    session.expire_all()
    assert {d.name for d in session.get(type(group), group.id).displays} == {
        "Rathaus Foyer",
        "Bürgerbüro",
    }
    for bad in (
        {"group_id": "", "display_id": ids, "action": "add"},
        {"group_id": str(group.id), "display_id": [], "action": "add"},
        {"group_id": str(group.id), "display_id": [str(dw.other_display.id)], "action": "add"},
        {"group_id": str(group.id), "display_id": ids, "action": "??"},
    ):
        assert client.post(url, data=bad).status_code == 303
    r = client.post(
        url, data={"group_id": str(group.id), "display_id": ids[:1], "action": "remove"}
    )
    assert r.status_code == 302
    session.expire_all()
    assert [d.name for d in session.get(type(group), group.id).displays] == ["Bürgerbüro"]
    assert session.get(Display, dw.other_display.id).groups == []


def test_content_hours_reach_the_manifest_and_bad_hours_get_field_messages(
    client, dw, session, now
):
    from tests.conftest import login

    login(client, dw.admin.email)
    url = f"/admin/{dw.tenant.slug}/anzeigen/{dw.display.id}/inhalte"
    form = {
        "kind": "page",
        "title": "Markttag",
        "body": "Mittwochs Wochenmarkt.",
        "target": "display",
        "position": "10",
        "duration_s": "10",
    }
    for bad, field in (
        (
            {"hours_days_0": "8", "hours_on_0": "07:00", "hours_off_0": "13:00"},
            "content_hours_days_0",
        ),
        (
            {"hours_days_0": "3", "hours_on_0": "7 Uhr", "hours_off_0": "13:00"},
            "content_hours_times_0",
        ),
    ):
        r = client.post(url, data={**form, **bad})
        assert r.status_code == 422
        assert f'id="{field}-error"' in r.get_data(as_text=True), field
    good = {
        "hours_days_0": "3",
        "hours_on_0": "07:00",
        "hours_off_0": "13:00",
        "hours_days_1": "6",
        "hours_on_1": "08:00",
        "hours_off_1": "12:00",
    }
    assert client.post(url, data={**form, **good}).status_code == 302
    items = client.get(API + "manifest", headers=dw.auth()).json["items"]
    (market,) = [i for i in items if i["title"] == "Markttag"]
    validate("manifest", client.get(API + "manifest", headers=dw.auth()).json)
    assert market["hours"] == [
        {"weekdays": [3], "on": "07:00", "off": "13:00"},
        {"weekdays": [6], "on": "08:00", "off": "12:00"},
    ]
    item_id = int(market["id"].split("-")[1])
    edit = client.get(f"/admin/{dw.tenant.slug}/anzeigen/inhalte/{item_id}/bearbeiten")
    page = edit.get_data(as_text=True)
    assert 'value="07:00"' in page and 'value="6"' in page
