"""The Aushangvermerk per display (L16, D1, D2): times from proof of play and heartbeats,
outages with the staff decision, legal boards first."""

from __future__ import annotations

import io
import json
import re
import uuid
from datetime import timedelta

import pytest
from pypdf import PdfReader

from server.domain.posting import to_local
from server.models import Display, Outage
from server.services.displays import reports
from server.services.displays.evidence import display_channels
from server.services.displays.manifest import isoz
from server.services.evidence import build_aushangvermerk

from ...conftest import login
from ..publicworld import make_world


def _display(session, tenant, name, now, **kw) -> Display:
    display = Display(
        tenant_id=tenant.id,
        name=name,
        created_at=now,
        enrolled_at=now - timedelta(days=40),
        token_hash=f"hash-of-{name}",  # enrolled: heartbeats count only from enrolled players
        **kw,
    )
    session.add(display)
    session.flush()
    return display


def _play(session, display, notice, at, version_hash=None):
    reports.record_events(
        session,
        display,
        {
            "events": [
                {
                    "id": str(uuid.uuid4()),
                    "type": "play",
                    "item_id": f"notice-{notice.id}-v1",
                    "notice_id": str(notice.id),
                    "version_hash": version_hash or notice.current_version.content_hash,
                    "shown_at": isoz(at),
                }
            ]
        },
        at,
    )


def _beat(session, display, at, item=None):
    body = {"player_version": "1.0.0", "current_item": item}
    reports.record_heartbeat(session, display.id, body, at)


@pytest.fixture()
def evidence_world(app_ctx, session, factory, now):
    """A notice that ended three days ago, two displays that carried it (one a legal
    board), play events and heartbeats, and one decided outage."""
    world = make_world(factory, app_ctx)
    end = now.date() - timedelta(days=3)
    notice = world.notice(
        at=now - timedelta(days=20),
        start=end - timedelta(days=12),
        end=end,
        title="Bekanntmachung mit Anzeigen",
    )
    other_cat = factory.category(world.tenant, "Sonstiges", binding=("internet",))
    start_at, end_at = notice.starts_at, notice.ends_at
    library = _display(session, world.tenant, "Bücherei Eingang", now, location="Am Markt 3")
    library.all_categories = False
    library.categories.append(world.category)
    board = _display(session, world.tenant, "Rathaus Tafel", now, legal_board=True)
    board.location = "Rathaus, Foyer"
    # Not channels of this notice: a test display, a display showing another category,
    # and a display of another tenant.
    _display(session, world.tenant, "Testbildschirm", now, test_display=True)
    elsewhere = _display(session, world.tenant, "Sporthalle", now, all_categories=False)
    elsewhere.categories.append(other_cat)
    neighbour = make_world(factory, app_ctx, slug="nachbarort", ars="150855555556")
    _display(session, neighbour.tenant, "Fremde Tafel", now)
    session.flush()

    _play(session, board, notice, start_at - timedelta(hours=1))  # before the window
    _play(session, board, notice, start_at + timedelta(minutes=3))
    _play(session, board, notice, start_at + timedelta(days=5))
    _play(session, board, notice, end_at - timedelta(minutes=2))
    _play(session, board, notice, end_at + timedelta(hours=1))  # after it
    for day in range(12):
        _beat(session, board, start_at + timedelta(days=day, hours=1))
    _beat(session, library, start_at + timedelta(hours=2), item=f"notice-{notice.id}-v1")
    _play(session, library, notice, start_at + timedelta(days=3))
    outage = Outage(
        display_id=board.id,
        started_at=start_at + timedelta(days=2),
        ended_at=start_at + timedelta(days=2, minutes=40),
        detected_at=start_at + timedelta(days=2, minutes=6),
        notices=notice.number,
    )
    session.add(outage)
    session.flush()
    reports.decide_outage(
        session, outage, world.approver, "irrelevant", "Stromausfall im Foyer, 40 Minuten", now
    )
    session.add(  # an outage before the posting: not part of this record
        Outage(
            display_id=library.id,
            started_at=start_at - timedelta(days=5),
            ended_at=start_at - timedelta(days=4),
            detected_at=start_at - timedelta(days=5),
        )
    )
    session.commit()
    return world, notice, board, library, outage


def test_each_display_has_both_dates_its_outage_and_the_hash(evidence_world, now):
    world, notice, board, library, outage = evidence_world
    tz = world.tenant.timezone

    def local(value):
        return to_local(value, tz).isoformat()

    record = build_aushangvermerk(
        notice, now, public_url="http://x/n", extra_channels=[display_channels]
    )
    displays = record["displays"]
    assert [d["name"] for d in displays] == ["Rathaus Tafel", "Bücherei Eingang"]  # legal first
    first, second = displays
    assert first["legal_board"] is True and second["legal_board"] is False
    assert first["configured_from"] == local(notice.starts_at)
    assert first["configured_until"] == local(notice.ends_at)
    assert first["posted_from"] == local(notice.starts_at + timedelta(minutes=3))
    assert first["posted_until"] == local(notice.ends_at - timedelta(minutes=2))
    assert first["plays"] == 3  # only the plays inside the window
    assert first["heartbeats"]["count"] == 12
    assert first["versions"] == [
        {
            "content_hash": notice.current_version.content_hash,
            "version": 1,
            "plays": 3,
            "first": first["posted_from"],
            "last": first["posted_until"],
        }
    ]
    # The library's first evidence is a heartbeat naming the notice's slide.
    assert second["posted_from"] == local(notice.starts_at + timedelta(hours=2))
    assert second["posted_until"] == local(notice.starts_at + timedelta(days=3))
    assert second["outages"] == []
    [o] = first["outages"]
    assert o["start"] == local(outage.started_at) and o["end"] == local(outage.ended_at)
    assert o["decision"] == "irrelevant" and o["decision_label"] == "Unerheblich"
    assert o["note"] == "Stromausfall im Foyer, 40 Minuten"
    assert o["decided_by"]["email"] == world.approver.email
    assert o["concerns_notice"] is True
    assert first["note"] is None
    assert record["notice"]["content_hash"] == notice.current_version.content_hash


def test_undecided_outage_and_missing_plays_are_named(evidence_world, session, now):
    world, notice, board, library, outage = evidence_world
    outage.decision = None
    outage.note = ""
    outage.decided_by_id = None
    silent = _display(session, world.tenant, "Aushangkasten digital", now, legal_board=True)
    session.commit()
    displays = display_channels(notice, now)
    by_name = {d["name"]: d for d in displays}
    assert [d["name"] for d in displays][:2] == ["Aushangkasten digital", "Rathaus Tafel"]
    assert by_name[silent.name]["posted_from"] is None
    assert by_name[silent.name]["note"] == "Keine Wiedergabe gemeldet."
    assert by_name["Rathaus Tafel"]["outages"][0]["decision_label"] == "Nicht entschieden"
    assert by_name["Rathaus Tafel"]["note"] == "Ausfall ohne Entscheidung."


def test_withdrawal_cuts_the_window_short(evidence_world, session, now):
    from server.services import notices as svc

    world, notice, board, library, outage = evidence_world
    running = world.notice(at=now - timedelta(days=2), title="Laufende Bekanntmachung")
    _play(session, board, running, now - timedelta(hours=5))
    svc.withdraw(
        session, running, world.approver, "ended_early", "Erledigt", now - timedelta(hours=1)
    )
    _play(session, board, running, now - timedelta(minutes=30))  # after the withdrawal
    session.commit()
    record = {d["name"]: d for d in display_channels(running, now)}["Rathaus Tafel"]
    tz = world.tenant.timezone
    assert record["configured_until"] == to_local(now - timedelta(hours=1), tz).isoformat()
    assert record["posted_until"] == to_local(now - timedelta(hours=5), tz).isoformat()


def _pdf_text(data: bytes) -> str:
    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)


def test_json_and_pdf_routes_contain_the_displays(client, evidence_world, clock):
    world, notice, board, library, outage = evidence_world
    base = f"/musterstadt/bekanntmachungen/{notice.number}/aushangvermerk"
    login(client, world.editor.email)
    record = json.loads(client.get(base + ".json").data)
    names = [d["name"] for d in record["displays"]]
    assert names == ["Rathaus Tafel", "Bücherei Eingang"]
    assert all(d["posted_from"] and d["posted_until"] for d in record["displays"])
    assert record["displays"][0]["outages"][0]["decision"] == "irrelevant"

    response = client.get(base + ".pdf")
    assert response.status_code == 200
    text = re.sub(r"\s+", " ", _pdf_text(response.data))
    flat = text.replace(" ", "")
    assert "Digitale Anzeigen" in text
    assert "Rathaus Tafel" in text and "Bücherei Eingang" in text
    assert "Amtliche Anzeigetafel" in text
    tz = world.tenant.timezone
    first_play = to_local(notice.starts_at + timedelta(minutes=3), tz)
    last_play = to_local(notice.ends_at - timedelta(minutes=2), tz)
    assert f"{first_play:%d.%m.%Y},{first_play:%H:%M}Uhr" in flat
    assert f"{last_play:%d.%m.%Y},{last_play:%H:%M}Uhr" in flat
    assert "Unerheblich" in text and "Stromausfall im Foyer" in text
    assert notice.current_version.content_hash in flat
