"""The player daemon with fakes for server, clock, kiosk and screen (no patching)."""

from __future__ import annotations

import logging
import os
import stat
from datetime import timedelta

import pytest
from player_fakes import T0, notice_item, slide_html, warning

from player.clock import parse_utc


def _content(world, n=2, **kwargs):
    slides = [slide_html(f"Bekanntmachung {i}", "Text " * 20) for i in range(n)]
    items = [notice_item(str(i), s, **kwargs) for i, s in enumerate(slides)]
    world.client.publish(items, files=slides)
    return items, slides


def _run(player, passes=3):
    delays = [player.run_once() for _ in range(passes)]
    return delays


def test_first_pass_downloads_verifies_and_shows(world):
    items, _ = _content(world)
    player = world.enrolled_player()
    _run(player, 1)
    assert world.kiosk.item_ids() == ["0", "1"]
    stored = world.cache().load_manifest()
    assert stored["etag"] == world.client.etag
    assert {i["slide"]["sha256"] for i in items} <= set(os.listdir(world.state_dir / "assets"))


def test_offline_start_shows_cache_before_any_network_call(world):
    _content(world)
    _run(world.enrolled_player(), 1)
    world.client.online = False
    calls_before = len(world.client.heartbeats)
    player = world.player()
    player.start()
    # Shown from the cache, before the first network call.
    assert world.kiosk.item_ids() == ["0", "1"]
    _run(player, 3)
    assert world.kiosk.item_ids() == ["0", "1"]
    assert len(world.client.heartbeats) == calls_before


def test_stale_marker_after_threshold_and_recovery_without_restart(world, caplog):
    caplog.set_level(logging.INFO, logger="player")
    _content(world)
    player = world.enrolled_player(stale_after_s=300)
    _run(player, 1)
    assert world.kiosk.view["stale"] is False
    world.client.online = False
    for _ in range(30):
        world.clock.sleep(player.run_once())
    assert world.kiosk.view["stale"] is True
    local = (player.last_contact).astimezone(__import__("zoneinfo").ZoneInfo("Europe/Berlin"))
    assert world.kiosk.view["stand"] == local.strftime("%d.%m. %H:%M")
    assert world.kiosk.item_ids() == ["0", "1"]
    # One line for the failure, however many retries.
    assert sum("event=server_unreachable" in r.message for r in caplog.records) == 1
    world.client.online = True
    new_slide = slide_html("Neu")
    world.client.publish(world.client.items + [notice_item("9", new_slide)], files=[new_slide])
    _run(player, 2)
    assert world.kiosk.view["stale"] is False
    assert world.kiosk.item_ids() == ["0", "1", "9"]
    assert sum("event=recovered" in r.message for r in caplog.records) == 1


def test_backoff_is_capped_with_full_jitter(world):
    _content(world)
    player = world.enrolled_player(rng=lambda: 0.999)
    _run(player, 1)
    world.client.online = False
    delays = [player.run_once() for _ in range(20)]
    assert all(0 <= d <= 60 for d in delays)
    assert delays[0] < 2 and delays[-1] > 59  # grows, then stays at the cap
    jitter_free = world.player(rng=lambda: 0.0)
    assert jitter_free.run_once() == 0.0


def test_items_expire_while_offline_by_server_time(world):
    soon = T0 + timedelta(minutes=10)
    slides = [slide_html("Bald vorbei"), slide_html("Bleibt")]
    world.client.publish(
        [notice_item("short", slides[0], valid_until=soon), notice_item("long", slides[1])],
        files=slides,
    )
    player = world.enrolled_player()
    _run(player, 1)
    assert world.kiosk.item_ids() == ["short", "long"]
    world.client.online = False
    # The daemon wakes for the expiry itself, not just at its next retry.
    for _ in range(40):
        delay = player.run_once()
        if world.clock.true_now >= soon:
            break
        assert world.clock.true_now + timedelta(seconds=delay) <= soon + timedelta(seconds=1)
        world.clock.sleep(delay)
    player.run_once()
    assert world.kiosk.item_ids() == ["long"]


def test_future_item_appears_when_window_opens_without_network(world):
    opens = T0 + timedelta(minutes=5)
    data = slide_html("Ab 9:05")
    world.client.publish([notice_item("later", data, valid_from=opens)], files=[data])
    player = world.enrolled_player()
    _run(player, 1)
    assert world.kiosk.item_ids() == []
    world.client.online = False
    while world.clock.true_now < opens:
        world.clock.sleep(player.run_once())
    player.run_once()
    assert world.kiosk.item_ids() == ["later"]


def test_wrong_clock_at_boot_hides_nothing_valid(world):
    ends = T0 + timedelta(minutes=30)
    slides = [slide_html("A"), slide_html("B")]
    world.client.publish(
        [notice_item("a", slides[0], valid_until=ends), notice_item("b", slides[1])],
        files=slides,
        warnings=[warning(expires=T0 + timedelta(hours=1))],
    )
    _run(world.enrolled_player(), 1)
    # Power cut; the Pi boots without network and without RTC: its clock is days behind.
    world.clock.advance(60)
    world.clock.error = timedelta(days=-3)
    world.client.online = False
    player = world.player()
    player.start()
    assert world.kiosk.item_ids() == ["a", "b"]
    assert [w["id"] for w in world.kiosk.view["warnings"]] == ["a1"]
    # Time still passes for expiry: the last known server time plus the uptime.
    for _ in range(100):
        world.clock.sleep(player.run_once())
        if world.clock.true_now > ends + timedelta(minutes=1):
            break
    player.run_once()
    assert world.kiosk.item_ids() == ["b"]
    # Back online: the skew is measured and reported.
    world.client.online = True
    _run(player, 1)
    assert player.heartbeat_body()["clock_skew_s"] == pytest.approx(-3 * 86400, abs=1)
    assert world.client.heartbeats[-1]["clock_synced"] is True


def test_clock_ahead_after_sync_does_not_matter(world):
    _content(world)
    world.clock.error = timedelta(days=400)
    player = world.enrolled_player()
    _run(player, 1)
    assert world.kiosk.item_ids() == ["0", "1"]
    assert world.client.heartbeats[-1]["clock_skew_s"] == 400 * 86400


def test_corrupted_cached_file_is_detected_and_fetched_again(world):
    items, slides = _content(world)
    _run(world.enrolled_player(), 1)
    damaged = world.state_dir / "assets" / items[0]["slide"]["sha256"]
    damaged.write_bytes(b"bit rot")
    downloads = len(world.client.downloads)
    player = world.player()
    player.start()
    assert world.kiosk.item_ids() == ["1"]  # never shows a damaged slide
    _run(player, 1)
    assert world.kiosk.item_ids() == ["0", "1"]
    assert world.client.downloads[downloads:] == [items[0]["slide"]["sha256"]]
    assert damaged.read_bytes() == slides[0]


def test_server_sending_wrong_bytes_is_rejected(world, caplog):
    items, _ = _content(world)
    world.client.corrupt.add(items[1]["slide"]["sha256"])
    player = world.enrolled_player()
    _run(player, 1)
    assert world.cache().load_manifest() is None  # manifest only after all files verified
    assert player.last_error["code"] == "asset_integrity"
    world.client.corrupt.clear()
    _run(player, 1)
    assert world.kiosk.item_ids() == ["0", "1"]


def test_idle_cycle_is_one_long_poll_and_one_heartbeat(world):
    _content(world)
    player = world.enrolled_player()
    _run(player, 2)
    beats, waits = len(world.client.heartbeats), len(world.client.manifest_waits)
    started = world.clock.monotonic()
    sent_at = []
    while world.clock.monotonic() - started < 600:
        before = len(world.client.heartbeats)
        world.clock.advance(player.run_once())
        if len(world.client.heartbeats) > before:
            sent_at.append(world.clock.monotonic())
    cycles = len(world.client.manifest_waits) - waits
    # A long-poll of 55 s is never cut short for the heartbeat: ~11 cycles in 10 minutes,
    # each with one heartbeat, and never more than 60 s between two heartbeats.
    assert set(world.client.manifest_waits[waits:]) == {55}
    assert 10 <= cycles <= 12
    assert len(world.client.heartbeats) - beats == cycles
    assert max(b - a for a, b in zip(sent_at, sent_at[1:], strict=False)) <= 60


def test_a_change_does_not_bring_every_heartbeat_forward(world):
    _content(world)
    player = world.enrolled_player()
    _run(player, 3)
    world.client.publish(world.client.items, warnings=[warning()])
    player.run_once()  # the change arrives (every display gets it in the same second)
    due_in = player.heartbeat.next_due - world.clock.monotonic()
    world.clock.advance(due_in - 40)  # the next heartbeat is due in 40 s
    beats = len(world.client.heartbeats)
    player.run_once()  # next long-poll: cut at the heartbeat, no heartbeat sent early
    # Sent early, the heartbeat would have let this long-poll wait its full 55 s.
    assert world.client.manifest_waits[-1] == 40
    assert len(world.client.heartbeats) == beats + 1  # then sent when due


def test_disk_full_keeps_showing_and_reports(world):
    _content(world)
    player = world.enrolled_player()
    _run(player, 1)
    world.free = 10  # SD card full
    big = slide_html("Neu", "x" * 5000)
    world.client.publish(world.client.items + [notice_item("new", big)], files=[big])
    world.clock.advance(31)
    _run(player, 1)
    assert world.kiosk.item_ids() == ["0", "1"]
    assert world.client.heartbeats[-1]["last_error"]["code"] == "disk_full"
    world.clock.advance(31)
    _run(player, 1)
    sent = [e for b in world.client.event_batches for e in b["events"]]
    assert any(e["type"] == "error" and e["code"] == "disk_full" for e in sent)
    world.free = 10**10
    _run(player, 1)
    assert world.kiosk.item_ids() == ["0", "1", "new"]


def test_unused_assets_are_removed_after_new_manifest(world):
    items, _ = _content(world)
    player = world.enrolled_player()
    _run(player, 1)
    fresh = slide_html("Nur noch dies")
    world.client.publish([notice_item("z", fresh)], files=[fresh])
    _run(player, 1)
    assert os.listdir(world.state_dir / "assets") == [items[0]["slide"]["sha256"]][:0] + [
        notice_item("z", fresh)["slide"]["sha256"]
    ]


def test_heartbeat_at_least_every_60_seconds(world):
    _content(world)
    player = world.enrolled_player()
    for _ in range(40):
        world.clock.sleep(player.run_once())
    times = [parse_utc(h["sent_at"]) for h in world.client.heartbeats]
    assert len(times) >= 10
    assert max((b - a).total_seconds() for a, b in zip(times, times[1:], strict=False)) <= 60
    beat = world.client.heartbeats[-1]
    assert beat["screen"] == {"desired": "on", "actual": "on", "method": "cec", "mismatch": False}
    assert beat["free_disk_bytes"] == 10**10


def test_proof_of_play_is_kept_until_the_server_confirms(world):
    items, _ = _content(world)
    player = world.enrolled_player()
    _run(player, 1)
    world.client.online = False
    player.on_played("0")
    player.on_played("unknown-item")  # not in the manifest: no evidence claimed
    world.clock.advance(31)
    player.run_once()
    assert (world.state_dir / "events.json").exists()
    # A crash now: the next process sends what the last one recorded.
    world.client.online = True
    player2 = world.player()
    _run(player2, 1)
    plays = [e for b in world.client.event_batches for e in b["events"] if e["type"] == "play"]
    assert len(plays) == 1
    assert plays[0]["item_id"] == "0" and plays[0]["version_hash"] == items[0]["version_hash"]
    assert not (world.state_dir / "events.json").exists()


def test_warning_taken_over_at_once_acked_at_once_and_kept_offline(world):
    _content(world)
    player = world.enrolled_player()
    _run(player, 1)
    world.client.publish(warnings=[warning()])
    player.run_once()
    assert [w["behaviour"] for w in world.kiosk.view["warnings"]] == ["takeover"]
    assert world.screen.wants[-1][3] is True  # screen on outside its hours
    assert world.client.acks[-1]["shown_at"] is None  # delivered
    acks = len(world.client.acks)
    player.on_alert_shown("a1")  # the kiosk page has drawn it: no waiting for a pass
    assert len(world.client.acks) == acks + 1
    assert world.client.acks[-1]["shown_at"] is not None
    assert world.client.acks[-1]["display_id"] == "7"
    player.on_alert_shown("a1")
    assert len(world.client.acks) == acks + 1
    # Server gone, device rebooted: the warning stays until it expires.
    world.client.online = False
    player2 = world.player()
    player2.start()
    assert [w["id"] for w in world.kiosk.view["warnings"]] == ["a1"]
    world.clock.advance(7 * 3600)
    player2.run_once()
    assert world.kiosk.view["warnings"] == []


def test_ack_is_resent_when_the_server_was_away(world):
    _content(world)
    player = world.enrolled_player()
    _run(player, 1)
    world.client.publish(warnings=[warning()])
    player.run_once()
    world.client.online = False
    player.on_alert_shown("a1")
    world.client.online = True
    player.run_once()
    assert world.client.acks[-1]["shown_at"] is not None


def test_ack_the_server_refuses_is_not_asked_again_every_pass(world, caplog):
    _content(world)
    player = world.enrolled_player()
    _run(player, 1)
    world.client.unknown_alerts.add("a1")
    world.client.publish(warnings=[warning()])
    player.run_once()
    player.on_alert_shown("a1")
    asked = world.client.ack_requests
    assert asked >= 1 and "ack_rejected" in caplog.text
    _run(player, 5)
    assert world.client.ack_requests == asked
    # The warning is still shown: the manifest decides that, not the acknowledgement.
    assert [w["id"] for w in world.kiosk.view["warnings"]] == ["a1"]


def test_exercise_label_and_entwarnung_until(world):
    _content(world)
    player = world.enrolled_player()
    until = T0 + timedelta(minutes=15)
    world.client.publish(
        warnings=[
            warning("a2", status="Exercise"),
            warning("a3", msg_type="Cancel", expires=None, entwarnung_until=until),
        ]
    )
    _run(player, 1)
    views = {w["id"]: w for w in world.kiosk.view["warnings"]}
    assert views["a2"]["label"] == "Übung"
    assert views["a3"]["entwarnung"] is True
    world.clock.advance(16 * 60)
    player.run_once()
    assert [w["id"] for w in world.kiosk.view["warnings"]] == ["a2"]


def test_enrolment_with_pairing_code(world):
    player = world.player()
    player.run_once()
    assert world.kiosk.view["enrolled"] is False
    assert world.kiosk.view["pairing_code"] == "K7Q-4XM"
    assert world.client.enrolls[-1] == {"player_version": "0.1.0", "hostname": "pi-test"}
    player.run_once()
    assert world.kiosk.view["pairing_code"] == "K7Q-4XM"
    # A restart keeps the same code on screen.
    player = world.player()
    player.start()
    assert world.kiosk.view["pairing_code"] == "K7Q-4XM"
    world.client.paired = True
    _content(world)
    _run(player, 2)
    assert world.kiosk.view["enrolled"] is True
    assert world.kiosk.item_ids() == ["0", "1"]
    token_file = world.state_dir / "token"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert not (world.state_dir / "pairing.json").exists()


def test_enrolment_with_provisioning_token(world):
    _content(world)
    player = world.player(provisioning_token="prov-123456789")
    _run(player, 2)
    assert world.client.enrolls[-1]["provisioning_token"] == "prov-123456789"
    assert world.kiosk.item_ids() == ["0", "1"]
    assert (world.state_dir / "token").read_text() == sorted(world.client.valid_tokens)[0]


def test_revoked_token_goes_back_to_pairing(world, caplog):
    _content(world)
    player = world.enrolled_player()
    _run(player, 1)
    world.client.valid_tokens = {"another-token-" + "y" * 30}
    _run(player, 2)
    assert world.kiosk.view["enrolled"] is False
    assert world.kiosk.view["items"] == []
    assert world.kiosk.view["pairing_code"] == "K7Q-4XM"
    assert not (world.state_dir / "token").exists()
