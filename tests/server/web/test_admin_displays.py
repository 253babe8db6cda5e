"""Staff pages of the display area: list with status, D3 refusal, pairing, tokens,
outages with decision, preview."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from server.jobs.displays import detect_outages
from server.models import Display, Outage, ProvisioningToken
from server.services.displays import enrolment
from server.services.displays.reports import record_heartbeat

from .conftest import login_as


def test_list_shows_status_and_highlights_skew(client, world, session, now):
    display = session.get(Display, world.display_id)
    record_heartbeat(
        session,
        display.id,
        {"player_version": "0.1.0", "clock_skew_s": 42.5, "current_item": "notice-1-v1"},
        now,
    )
    session.commit()
    login_as(client, world.users["editor"])
    page = client.get(world.url("anzeigen/")).get_data(as_text=True)
    assert "Rathaus Foyer" in page and "Online" in page and "42,5" not in page
    assert "42.5 s (über 30 s)" in page and "notice-1-v1" in page
    assert "Anzeige anlegen" not in page  # editors only look


def test_legal_board_with_too_long_cycle_is_refused_with_reason(client, world):
    login_as(client, world.users["admin"])
    form = {
        "name": "Tafel",
        "orientation": "landscape",
        "resolution_w": "1920",
        "resolution_h": "1080",
        "selection": "all",
        "legal_board": "1",
        "notice_duration_s": "600",
        "cycle_limit_s": "60",
    }
    r = client.post(world.url("anzeigen/neu"), data=form)
    assert r.status_code == 422
    assert "mindestens einmal je 1 min" in r.get_data(as_text=True)
    form["cycle_limit_s"] = "3600"
    r = client.post(world.url("anzeigen/neu"), data=form)
    assert r.status_code == 302


def test_pairing_with_the_code_from_the_screen(client, world, session, now):
    pairing, _ = enrolment.start_pairing(
        session, player_version="0.1.0", hostname="pi", remote_addr="127.0.0.1", now=now
    )
    session.commit()
    login_as(client, world.users["admin"])
    r = client.post(
        world.url("anzeigen/koppeln"), data={"code": "XXX-XXX", "display_id": str(world.display_id)}
    )
    assert r.status_code == 422 and "kein Gerät" in r.get_data(as_text=True)
    r = client.post(
        world.url("anzeigen/koppeln"),
        data={"code": pairing.code.replace("-", "").lower(), "display_id": str(world.display_id)},
    )
    assert r.status_code == 302
    session.refresh(pairing)
    assert pairing.display_id == world.display_id


def test_provisioning_token_shown_once_and_revocable(client, world, session):
    login_as(client, world.users["admin"])
    r = client.post(world.url("anzeigen/schluessel"), data={"name": "Bushaltestellen"})
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and "prov_" in page
    token = session.scalar(
        select(ProvisioningToken).where(ProvisioningToken.name == "Bushaltestellen")
    )
    assert token.token_hash not in page
    assert "prov_" not in client.get(world.url("anzeigen/schluessel")).get_data(as_text=True)
    client.post(world.url(f"anzeigen/schluessel/{token.id}/widerrufen"))
    session.refresh(token)
    assert token.revoked_at is not None


def test_heartbeat_gap_outage_visible_to_staff_and_decided(client, world, session, now):
    display = session.get(Display, world.display_id)
    session.delete(session.get(Outage, world.outage_id))
    record_heartbeat(session, display.id, {"player_version": "0.1.0"}, now)
    session.commit()
    for minute in (6, 8, 10):
        detect_outages(session, now + timedelta(minutes=minute), minutes=5)
        session.commit()
    outages = session.scalars(select(Outage)).all()
    assert len(outages) == 1
    login_as(client, world.users["admin"])
    page = client.get(world.url("anzeigen/ausfaelle")).get_data(as_text=True)
    assert "Rathaus Foyer" in page and "andauernd" in page and world.released.number in page
    r = client.post(
        world.url(f"anzeigen/ausfaelle/{outages[0].id}"),
        data={"decision": "extend", "note": "Aushang um einen Tag verlängert"},
    )
    assert r.status_code == 302
    session.refresh(outages[0])
    assert outages[0].decision == "extend" and outages[0].decided_by_id == world.users["admin"].id


def test_preview_and_slide_file(client, world):
    login_as(client, world.users["admin"])
    page = client.get(world.url(f"anzeigen/{world.display_id}/vorschau")).get_data(as_text=True)
    assert "Öffnungszeiten" in page and "/vorschau/kiosk/" in page
    r = client.get(world.url(f"anzeigen/{world.display_id}/dateien/{world.display_sha}"))
    assert r.status_code == 200 and "unsafe-inline" in r.headers["Content-Security-Policy"]
    assert (
        client.get(world.url(f"anzeigen/{world.display_id}/dateien/{'0' * 64}")).status_code == 404
    )
