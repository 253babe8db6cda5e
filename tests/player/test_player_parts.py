"""The Player's orchestration, with a fake for each of its parts (enrolment, content sync,
outbox, heartbeat, screen power): what it asks of which part, and in what order."""

from __future__ import annotations

import hashlib

import pytest
from player_fakes import Parts, notice_item, slide_html, warning


@pytest.fixture
def parts(world):
    slides = [slide_html("Eins"), slide_html("Zwei")]
    world.client.publish([notice_item(str(n), s) for n, s in enumerate(slides)], files=slides)
    for data in slides:
        world.cache().store_asset(hashlib.sha256(data).hexdigest(), len(data), [data])
    return Parts(world, world.client.manifest_body())


def _enrolled(parts, **kwargs):
    player = parts.player(**kwargs)
    parts.world.client.token = sorted(parts.world.client.valid_tokens)[0]
    return player


def test_a_device_not_enrolled_only_enrols(parts):
    parts.enrolment.enrolled = False
    player = parts.player()
    assert player.run_once() == 5.0
    assert parts.enrolment.steps == 1
    assert parts.world.client.manifest_waits == []
    assert parts.world.kiosk.view["pairing_code"] == "K7Q-4XM"
    assert parts.world.kiosk.view["items"] == []


def test_cached_content_is_shown_before_any_network_call(parts):
    player = _enrolled(parts)
    player.start()
    assert parts.sync.calls == ["load"]
    assert parts.world.kiosk.item_ids() == ["0", "1"]
    assert parts.world.client.manifest_waits == [] and parts.heartbeat.bodies == []


def test_new_warnings_are_noted_acknowledged_and_drawn(parts):
    player = _enrolled(parts)
    player.run_once()
    parts.world.client.publish(warnings=[warning()])
    player.run_once()
    assert parts.sync.calls[-4:] == ["receive", "fetch_missing", "commit", "prune"]
    assert parts.outbox.deliveries[-1] == {"a1"}
    assert parts.outbox.ack_sends[-1] == "7"
    assert [w["id"] for w in parts.world.kiosk.view["warnings"]] == ["a1"]
    assert parts.screen_power.updates[-1] == ("Europe/Berlin", True)


def test_a_failing_screen_tool_is_reported_once_and_the_content_goes_on(parts):
    parts.screen_power.error = "FileNotFoundError: cec-client"
    player = _enrolled(parts)
    for _ in range(3):
        player.run_once()
    assert parts.world.kiosk.item_ids() == ["0", "1"]
    assert player.last_error["code"] == "screen_error"
    assert [e.code for e in parts.outbox.errors] == ["screen_error"]
    assert parts.heartbeat.made_due == 1
    assert parts.heartbeat.bodies[-1]["last_error"]["message"] == "FileNotFoundError: cec-client"


def test_a_token_rejected_at_the_heartbeat_goes_back_to_pairing(parts):
    parts.heartbeat.reject = True
    player = _enrolled(parts)
    assert player.run_once() == 0.0
    assert parts.sync.calls[-1] == "forget"
    assert parts.world.client.token is None
    assert player.last_error["code"] == "unauthorized"
    assert parts.world.kiosk.view["items"] == []
    assert parts.outbox.events_sent == 0  # nothing more is sent with a rejected token


def test_offline_the_proof_of_play_is_kept_not_sent(parts):
    player = _enrolled(parts)
    parts.world.client.online = False
    delay = player.run_once()
    assert 0 <= delay <= 60
    assert parts.outbox.events_kept == 1 and parts.outbox.events_sent == 0
    assert player.health()["server_reachable"] is False
    assert [e.code for e in parts.outbox.errors] == []  # an outage is no error event


def test_kiosk_page_reports_go_to_the_outbox(parts):
    parts.world.client.publish(warnings=[warning()])
    parts.sync = type(parts.sync)(parts.world.client.manifest_body())
    player = _enrolled(parts)
    player.start()
    player.on_played("0")
    player.on_played("not-in-the-manifest")
    player.on_alert_shown("unknown-alert")
    assert parts.outbox.played_items == ["0"] and parts.outbox.shown == []
    player.on_alert_shown("a1")
    assert parts.outbox.shown == ["a1"] and parts.outbox.ack_sends == ["7"]
    player.on_alert_shown("a1")  # drawn again: acknowledged already
    assert parts.outbox.ack_sends == ["7"]
