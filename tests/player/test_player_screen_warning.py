"""Outside its hours the screen is off, and an active takeover switches it on (issue 6):
the daemon passes ``warning_active`` to the real schedule policy
(:func:`player.screen.screen_should_be_on`); a fake screen records what was applied."""

from __future__ import annotations

from datetime import timedelta

from player_fakes import T0, FakeScreen, notice_item, slide_html, warning

from player.screen import screen_should_be_on

# T0 is Monday 10:00 in Berlin: outside these evening hours.
EVENINGS = [{"on": "18:00", "off": "22:00"}]


class PolicyScreen(FakeScreen):
    """The real on/off policy in front of a fake screen."""

    def want(self, schedule, tz, now_utc, warning_active) -> bool:
        super().want(schedule, tz, now_utc, warning_active)
        return screen_should_be_on(schedule, tz, now_utc, warning_active)


def _player(world):
    world.screen = PolicyScreen()
    world.client.screen = {"timezone": "Europe/Berlin", "schedule": EVENINGS}
    slide = slide_html("Bekanntmachung")
    world.client.publish([notice_item("0", slide)], files=[slide])
    return world.enrolled_player(heartbeat_s=5)


def test_takeover_switches_the_screen_on_outside_its_hours_and_off_after(world):
    player = _player(world)
    player.run_once()
    assert world.screen.applied[-1] is False  # outside hours, rotation only

    world.client.publish(warnings=[warning("a1")])
    player.run_once()
    assert world.screen.wants[-1][3] is True
    assert world.screen.applied[-1] is True
    beat = player.heartbeat_body()
    assert beat["screen"]["desired"] == "on" and beat["current_alert"] == "a1"

    # The Entwarnung is a takeover too: on until its time is up, then off again.
    until = T0 + timedelta(minutes=15)
    world.client.publish(
        warnings=[warning("a2", msg_type="Cancel", expires=None, entwarnung_until=until)]
    )
    player.run_once()
    assert world.screen.applied[-1] is True
    world.clock.advance(16 * 60)
    player.run_once()
    assert world.kiosk.view["warnings"] == []
    assert world.screen.applied[-1] is False


def test_a_banner_does_not_wake_the_screen(world):
    player = _player(world)
    world.client.publish(warnings=[warning("b1", behaviour="banner")])
    player.run_once()
    assert [w["behaviour"] for w in world.kiosk.view["warnings"]] == ["banner"]
    assert world.screen.wants[-1][3] is False
    assert world.screen.applied[-1] is False


def test_a_takeover_kept_offline_keeps_the_screen_on_after_a_reboot(world):
    player = _player(world)
    world.client.publish(warnings=[warning("a1")])
    player.run_once()
    world.client.online = False
    world.screen = PolicyScreen()
    rebooted = world.player()
    rebooted.start()  # from the cache, before any network call
    assert world.screen.applied == [True]
