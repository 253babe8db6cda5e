"""Feed routes: content types, validators, 304, versions, L15, autodiscovery."""

from __future__ import annotations

import json
from datetime import timedelta

import feedparser
import icalendar
import pytest

from server.models import NoticeMeeting
from server.services import notices as svc

FORMATS = {
    "rss": "application/rss+xml; charset=utf-8",
    "atom": "application/atom+xml; charset=utf-8",
    "json": "application/feed+json; charset=utf-8",
    "ics": "text/calendar; charset=utf-8",
}


@pytest.fixture
def clock(app_ctx, now):
    """The routes read time from AUSHANG_CLOCK; tests move it explicitly."""
    state = {"now": now}
    app_ctx.config["AUSHANG_CLOCK"] = lambda: state["now"]
    app_ctx.extensions["aushang_feed_cache"].clear()
    yield state
    app_ctx.config.pop("AUSHANG_CLOCK", None)
    app_ctx.extensions["aushang_feed_cache"].clear()


@pytest.fixture
def world(factory, session, clock):
    tenant = factory.tenant("musterstadt", name="Stadt Musterstadt")
    category = factory.category(tenant, "Satzungen")
    editor = factory.user(tenant, "editor")
    approver = factory.user(tenant, "approver")
    notice = factory.released_notice(
        tenant, category, editor, approver, title="Friedhofssatzung <script>x</script> & „Ü“ 🎉"
    )
    session.commit()
    return {
        "tenant": tenant,
        "category": category,
        "editor": editor,
        "approver": approver,
        "notice": notice,
    }


def correct(session, world, title, at):
    notice = world["notice"]
    svc.start_correction(session, notice, world["editor"], "Tippfehler", at)
    data = svc.input_from_version(notice, notice.working_version)
    data.title = title
    svc.update_draft(session, notice, world["editor"], data, at)
    svc.submit(session, notice, world["editor"], at)
    svc.release(session, notice, world["approver"], "ok", at)
    session.commit()


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_every_format_answers_with_type_and_validators(client, world, fmt):
    for url in (
        f"/musterstadt/feeds/notices.{fmt}",
        f"/musterstadt/feeds/{world['category'].slug}/notices.{fmt}",
        f"/feeds/notices.{fmt}",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers["Content-Type"] == FORMATS[fmt]
        assert response.headers["ETag"]
        assert response.headers["Last-Modified"]
        assert "max-age" in response.headers["Cache-Control"]
        assert b"Friedhofssatzung" in response.data


def test_feeds_parse_and_carry_the_metadata(client, world):
    notice = world["notice"]
    doc = feedparser.parse(client.get("/musterstadt/feeds/notices.atom").data)
    assert not doc.bozo
    (entry,) = doc.entries
    assert entry.title == "Friedhofssatzung <script>x</script> & „Ü“ 🎉"
    assert entry.aushang_providedon == notice.provided_on.isoformat()
    assert entry.aushang_filenumber == "32-0001/2026"
    assert entry.aushang_contenthash == notice.current_version.content_hash
    assert entry.link.endswith(f"/musterstadt/bekanntmachungen/{notice.number}/v1")
    data = json.loads(client.get("/musterstadt/feeds/notices.json").data)
    assert data["items"][0]["_aushang"]["posting_end"] == notice.posting_end.isoformat()
    calendar = icalendar.Calendar.from_ical(client.get("/musterstadt/feeds/notices.ics").data)
    (event,) = calendar.walk("VEVENT")
    assert event.decoded("DTSTART") == notice.posting_start


def test_conditional_get_304_and_etag_changes_after_release(client, world, session, clock):
    first = client.get("/musterstadt/feeds/notices.rss")
    etag = first.headers["ETag"]
    again = client.get("/musterstadt/feeds/notices.rss", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.data == b""
    since = client.get(
        "/musterstadt/feeds/notices.rss",
        headers={"If-Modified-Since": first.headers["Last-Modified"]},
    )
    assert since.status_code == 304
    later = clock["now"] + timedelta(hours=1)
    clock["now"] = later
    correct(session, world, "Friedhofssatzung (berichtigt)", later)
    changed = client.get("/musterstadt/feeds/notices.rss", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag


def test_built_once_per_change_not_per_request(client, world, app_ctx):
    cache = app_ctx.extensions["aushang_feed_cache"]
    before = cache.builds
    for _ in range(5):
        client.get("/musterstadt/feeds/notices.json")
    assert cache.builds == before + 1


def test_two_corrections_three_ids_stable(client, world, session, clock):
    for n in (1, 2):
        clock["now"] = clock["now"] + timedelta(hours=n)
        correct(session, world, f"Friedhofssatzung, Berichtigung {n}", clock["now"])
    ids = [
        e.id for e in feedparser.parse(client.get("/musterstadt/feeds/notices.rss").data).entries
    ]
    assert len(ids) == 3 and len(set(ids)) == 3
    app = client.application
    app.extensions["aushang_feed_cache"].clear()
    clock["now"] = clock["now"] + timedelta(days=1)
    again = [
        e.id for e in feedparser.parse(client.get("/musterstadt/feeds/notices.rss").data).entries
    ]
    assert again == ids
    (event,) = icalendar.Calendar.from_ical(client.get("/musterstadt/feeds/notices.ics").data).walk(
        "VEVENT"
    )
    assert int(event["SEQUENCE"]) == 2


def test_personal_data_leaves_the_feeds_after_the_window(client, factory, session, clock, world):
    personal = factory.released_notice(
        world["tenant"],
        world["category"],
        world["editor"],
        world["approver"],
        title="Öffentliche Zustellung an Herrn M.",
        contains_personal_data=True,
    )
    session.commit()
    assert b"Zustellung" in client.get("/musterstadt/feeds/notices.rss").data
    clock["now"] = personal.ends_at + timedelta(minutes=1)
    for fmt in FORMATS:
        body = client.get(f"/musterstadt/feeds/notices.{fmt}").data
        assert b"Zustellung" not in body, fmt
        assert b"Friedhofssatzung" in body, fmt  # the other notice stays (L7)


def test_withdrawn_notice_stays_as_a_withdrawal_and_drafts_are_not_listed(
    client, factory, session, world
):
    before = json.loads(client.get("/musterstadt/feeds/notices.json").data)["items"]
    assert len(before) == 1 and before[0]["_aushang"]["status"] == "released"
    svc.withdraw(session, world["notice"], world["approver"], "withdrawn", "Fehler", factory.now)
    draft = svc.create_notice(
        session,
        world["tenant"],
        world["editor"],
        factory.notice_input(world["category"], title="Entwurf geheim"),
        factory.now,
    )
    session.commit()
    body = client.get("/musterstadt/feeds/notices.json").data
    items = json.loads(body)["items"]
    assert [i["id"] for i in items] == [before[0]["id"]]  # same id, not dropped
    assert items[0]["title"].startswith("Zurückgezogen: ")
    assert items[0]["_aushang"]["status"] == "withdrawn"
    assert items[0]["_aushang"]["withdrawal_reason"] == "Fehler"
    assert items[0]["_aushang"]["withdrawn_on"] == factory.now.date().isoformat()
    assert draft.number.encode() not in body
    for fmt in ("rss", "atom"):
        parsed = feedparser.parse(client.get(f"/musterstadt/feeds/notices.{fmt}").data)
        assert [e.id for e in parsed.entries] == [before[0]["id"]], fmt
        assert parsed.entries[0]["aushang_status"] == "withdrawn", fmt
    ics = client.get("/musterstadt/feeds/notices.ics").get_data(as_text=True)
    assert "STATUS:CANCELLED" in ics and "Entwurf geheim" not in ics


def test_meetings_appear_in_the_calendar(client, world, session):
    notice = world["notice"]
    session.add(
        NoticeMeeting(
            notice_id=notice.id,
            source_url="https://oparl.example.org/meeting/281",
            title="4. Sitzung des Finanzausschusses",
            place="Rathaus, Saal 1",
            starts_at=notice.starts_at + timedelta(days=3, hours=17),
            ends_at=notice.starts_at + timedelta(days=3, hours=19),
            cancelled=True,
        )
    )
    session.commit()
    events = icalendar.Calendar.from_ical(client.get("/musterstadt/feeds/notices.ics").data).walk(
        "VEVENT"
    )
    meeting = [e for e in events if str(e["LOCATION"] if "LOCATION" in e else "")]
    assert len(meeting) == 1
    assert str(meeting[0]["LOCATION"]) == "Rathaus, Saal 1"
    assert str(meeting[0]["STATUS"]) == "CANCELLED"


def test_unknown_tenant_category_and_format_are_404(client, world):
    assert client.get("/nirgendwo/feeds/notices.rss").status_code == 404
    assert client.get("/musterstadt/feeds/gibtsnicht/notices.rss").status_code == 404
    assert client.get("/musterstadt/feeds/notices.xml").status_code == 404


def test_explanation_page_and_autodiscovery(client, world):
    page = client.get("/musterstadt/feeds/")
    assert page.status_code == 200
    html = page.data.decode()
    assert "Bekanntmachungen abonnieren" in html
    assert 'rel="alternate" type="application/rss+xml"' in html
    assert "/musterstadt/feeds/notices.ics" in html and "readonly" in html
    assert world["category"].slug in html
    land = client.get("/feeds/").data.decode()
    assert "aller Kommunen" in land and "/feeds/notices.json" in land
