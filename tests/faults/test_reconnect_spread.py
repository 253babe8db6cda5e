"""200 players reconnect after a server restart (issue 8, faults): the player's own
backoff (player.backoff.Backoff, full jitter, cap) spreads the reconnects over the
backoff window — no thundering herd.

Simulated in-process with a virtual clock: every player loses its long-poll at the same
instant (the server went away), retries after ``Backoff.next_delay()`` like
``Player._content_step``, and reconnects with the first try after the server is back.
"""

from __future__ import annotations

import heapq
import random
import sys
from pathlib import Path

import pytest

from player.backoff import Backoff

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "player"))
from player_fakes import World, notice_item, slide_html  # noqa: E402

PLAYERS = 200
BUCKET_S = 0.1


def simulate(players: int, down_s: float, cap: float, seed: int, jitter: bool = True):
    """Return (reconnect times after the restart, number of failed tries)."""
    rngs = [random.Random(seed * 1000 + i) for i in range(players)]
    backoffs = [
        Backoff(base=1.0, cap=cap, rng=(rngs[i].random if jitter else lambda: 1.0))
        for i in range(players)
    ]
    # At t=0 every long-poll breaks: each player's first retry is its first backoff delay.
    queue = [(backoffs[i].next_delay(), i) for i in range(players)]
    heapq.heapify(queue)
    reconnects: list[float] = []
    failed = 0
    while queue:
        t, i = heapq.heappop(queue)
        if t >= down_s:
            reconnects.append(t - down_s)
            continue
        failed += 1
        heapq.heappush(queue, (t + backoffs[i].next_delay(), i))
    return sorted(reconnects), failed


def worst_window_share(times: list[float], window: float = BUCKET_S) -> float:
    """Largest share of reconnects inside any sliding window of ``window`` seconds."""
    best, j = 0, 0
    for i, t in enumerate(times):
        while times[j] < t - window:
            j += 1
        best = max(best, i - j + 1)
    return best / len(times)


@pytest.mark.parametrize(
    ("down_s", "cap"),
    [(5.0, 60.0), (30.0, 60.0), (120.0, 60.0), (10.0, 10.0)],
)
def test_reconnects_spread_over_the_backoff_window(down_s, cap):
    times, failed = simulate(PLAYERS, down_s, cap, seed=8)
    assert len(times) == PLAYERS  # every player comes back, none gives up
    share = worst_window_share(times)
    spread = times[int(0.9 * PLAYERS)] - times[int(0.1 * PLAYERS)]
    print(
        f"\ndown {down_s:>5.0f} s, cap {cap:>3.0f} s: worst 100 ms window {share:.1%}, "
        f"10-90 % of reconnects within {spread:.1f} s, last after {times[-1]:.1f} s, "
        f"{failed} failed tries while down"
    )
    # No thundering herd: at most 5 % of the players (10 of 200) in any 100 ms.
    assert share <= 0.05
    # The load is spread over seconds, not bunched at the restart.
    assert spread >= 1.0
    # ... but nobody waits longer than one full backoff ceiling after the restart.
    assert times[-1] <= cap


def test_without_jitter_it_would_be_a_herd():
    """The measure is sharp: the same players with a fixed (unjittered) backoff all
    come back within the same 100 ms."""
    times, _ = simulate(PLAYERS, 5.0, 60.0, seed=8, jitter=False)
    assert worst_window_share(times) == 1.0


def test_the_real_player_loop_uses_the_jittered_backoff(tmp_path):
    """The simulation's retry rule is the daemon's: an unreachable server makes
    ``run_once`` return ``Backoff.next_delay()`` (jittered, growing up to the cap), and
    contact resets it."""
    world = World(tmp_path / "state")
    world.client.publish([notice_item("1", slide_html("Eins"))], files=[slide_html("Eins")])
    rng = random.Random(8)
    player = world.enrolled_player(rng=rng.random)
    player.run_once()
    world.client.online = False
    delays = [player.run_once() for _ in range(10)]
    assert len(set(delays)) == len(delays)  # jittered, not a fixed period
    assert max(delays) <= player.backoff.cap and min(delays) >= 0
    assert player.backoff.failures == 10
    world.client.online = True
    player.run_once()
    assert player.backoff.failures == 0
