"""Warnings are drawn first and acknowledged after; failed acks back off with jitter."""

from __future__ import annotations

from player_fakes import FakeClient, notice_item, slide_html, warning

from player.client import Unreachable


class SlowAcks(FakeClient):
    """An ack endpoint that takes its whole timeout and then fails, while the rest works;
    each call notes what the kiosk page had been told by then."""

    def __init__(self, clock, kiosk_view) -> None:
        super().__init__(clock)
        self.kiosk_view = kiosk_view
        self.failing = True
        self.attempts: list[tuple[float, list[str]]] = []

    def ack(self, alert_id, body):
        shown = [w["id"] for w in self.kiosk_view()["warnings"]]
        self.attempts.append((self.clock.mono, shown))
        if self.failing:
            self.clock.advance(5)  # the ack timeout
            raise Unreachable("ReadTimeout: ack")
        return super().ack(alert_id, body)


def _world_with_slow_acks(world):
    client = SlowAcks(world.clock, lambda: world.kiosk.view)
    world.client = client
    data = slide_html("Aushang")
    client.publish([notice_item("1", data)], files=[data])
    return client


def test_the_kiosk_page_has_the_warning_before_any_ack_is_sent(world):
    client = _world_with_slow_acks(world)
    player = world.enrolled_player()
    player.run_once()
    client.publish(warnings=[warning()])
    player.run_once()
    assert client.attempts, "the delivered ack was tried"
    assert client.attempts[0][1] == ["a1"]  # drawn before the first ack call began


def test_failed_acks_are_retried_with_growing_jittered_delays_not_every_pass(world):
    client = _world_with_slow_acks(world)
    player = world.enrolled_player(rng=lambda: 0.5)
    player.run_once()
    client.publish(warnings=[warning()])
    passes = 0
    while world.clock.mono - client.attempts[0][0] < 1800 if client.attempts else True:
        world.clock.sleep(player.run_once())
        passes += 1
        assert passes < 500, "the daemon loops"
    times = [t for t, _ in client.attempts]
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    # Full jitter with rng 0.5: half of 1, 2, 4, ... s, capped at 60 s, after each 5 s timeout.
    expected = [5 + min(60.0, 2.0**n) * 0.5 for n in range(len(gaps))]
    assert all(gap >= want for gap, want in zip(gaps, expected, strict=True)), gaps
    assert 8 <= len(client.attempts) <= 1800 / 30 + 8
    # The server takes acks again: the pending one goes out, and then no more attempts.
    client.failing = False
    for _ in range(5):
        world.clock.sleep(player.run_once())
    assert [a["alert_id"] for a in client.acks] == ["a1"]
    assert client.acks[0]["shown_at"] is None
    attempts = len(client.attempts)
    for _ in range(5):
        world.clock.sleep(player.run_once())
    assert len(client.attempts) == attempts
