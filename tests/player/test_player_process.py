"""The real player process against a fake server on 127.0.0.1."""

from __future__ import annotations

import os
import random
from datetime import UTC, datetime, timedelta

import pytest
from fake_server import FakeServer, isoz
from player_process import PlayerProcess, wait_for


def _slide(title: str, text: str = "") -> bytes:
    return (
        f'<!doctype html><html lang="de"><head><meta charset="utf-8"><title>{title}</title>'
        f"</head><body><h1>{title}</h1><div data-paged>{text}</div></body></html>"
    ).encode()


def _item(server: FakeServer, item_id: str, data: bytes, assets=()) -> dict:
    now = datetime.now(UTC)
    return {
        "id": item_id,
        "kind": "notice",
        "title": item_id,
        "notice_id": "n" + item_id,
        "version_hash": "ab" * 32,
        "slide": server.add_file(data),
        "duration_s": 10,
        "valid_from": isoz(now - timedelta(days=1)),
        "valid_until": isoz(now + timedelta(days=1)),
        "assets": [server.add_file(a, "image/png") for a in assets],
    }


@pytest.fixture
def server():
    srv = FakeServer()
    yield srv
    srv.stop()


def test_player_enrols_shows_content_reports_and_survives_server_outage(server, tmp_path):
    server.publish([_item(server, "1", _slide("Eins"))])
    player = PlayerProcess(tmp_path, server.url, stale_after_seconds=1).start()
    try:
        state = wait_for(
            lambda: (s := player.get("/local/state")) and s["items"] and s, what="items"
        )
        assert [i["id"] for i in state["items"]] == ["1"]
        wait_for(lambda: server.heartbeats, what="heartbeat")
        health = player.get("/local/health")
        assert health["enrolled"] is True and health["server_reachable"] is True
        # A change wakes the long-poll at once.
        server.publish(server.items + [_item(server, "2", _slide("Zwei"))])
        wait_for(lambda: len(player.get("/local/state")["items"]) == 2, timeout=5, what="push")
        # Server gone: content stays, the "Stand" marker appears.
        server.stop()
        state = wait_for(
            lambda: (s := player.get("/local/state")) and s["stale"] and s, what="stale"
        )
        assert [i["id"] for i in state["items"]] == ["1", "2"]
        assert state["stand"]
        # Server back: no restart of the player needed.
        server.start()
        wait_for(lambda: not player.get("/local/state")["stale"], what="recovery")
        assert server.contract_errors == []
        assert "event=recovered" in player.output()
        assert player.output().count("event=server_unreachable") == 1
    finally:
        player.stop()
    assert oct((player.state_dir / "token").stat().st_mode & 0o777) == "0o600"


def test_pairing_code_flow(server, tmp_path):
    player = PlayerProcess(tmp_path, server.url, provisioning_token="").start()
    try:
        state = wait_for(lambda: (s := player.get("/local/state")) and s.get("pairing_code") and s)
        assert state["pairing_code"] == "H4K-9PT" and state["enrolled"] is False
        server.paired = True
        wait_for(lambda: player.get("/local/state")["enrolled"], what="paired")
    finally:
        player.stop()
    assert server.contract_errors == []


def _kill_during_downloads(server: FakeServer, tmp_path, kills: int, seed: int) -> None:
    rng = random.Random(seed)
    server.chunk, server.chunk_delay = 4096, 0.0015
    player = PlayerProcess(tmp_path, server.url)
    interrupted = 0
    for round_ in range(kills):
        blobs = [os.urandom(rng.randint(8_000, 60_000)) for _ in range(3)]
        items = [
            _item(server, f"r{round_}-{n}", _slide(f"Runde {round_} Nr. {n}"), assets=[blob])
            for n, blob in enumerate(blobs)
        ]
        with server.cond:
            start_bytes = server.bytes_sent
        total = sum(len(b) for b in blobs)
        # Mostly in the middle of a download, sometimes just after it.
        threshold = rng.randint(1, int(total * 1.1))
        server.publish(items)
        player.start()
        shown = player.get("/local/state")  # what it shows at once, from its cache
        wait_for(
            lambda start_bytes=start_bytes, threshold=threshold: (
                server.bytes_sent - start_bytes >= threshold
                or (player.stored_manifest() or {}).get("etag") == server.etag
            ),
            what=f"download progress in round {round_}",
        )
        player.kill()
        interrupted += (player.stored_manifest() or {}).get("etag") != server.etag
        problems = player.consistency_problems()
        assert problems == [], f"round {round_}: {problems}"
        on_disk = player.referenced(player.stored_manifest())
        for item in shown["items"]:
            sha = item["url"].rsplit("/", 1)[1]
            # Shown files were verified then; they may only have gone by pruning.
            assert player.verified(sha) or sha not in on_disk, f"round {round_}: shown {sha[:12]}"
    assert interrupted >= kills // 2, "the kills should mostly hit a download"
    # The last restart finishes the job.
    player.start()
    try:
        wait_for(
            lambda: (player.stored_manifest() or {}).get("etag") == server.etag,
            what="final manifest",
        )
        assert player.consistency_problems() == []
        state = wait_for(lambda: (s := player.get("/local/state"))["items"] and s)
        assert [i["id"] for i in state["items"]] == [i["id"] for i in server.items]
        # Files of earlier rounds are pruned once the new manifest is in place.
        wait_for(
            lambda: (
                {p.name for p in (player.state_dir / "assets").iterdir()}
                == player.referenced(player.stored_manifest())
            ),
            what="pruning",
        )
    finally:
        player.stop()
    assert server.contract_errors == []


# 50 kills take about 20 s here, well under the ~60 s that would call for the slow mark.
def test_sigkill_during_downloads_50_times(server, tmp_path):
    _kill_during_downloads(server, tmp_path, kills=50, seed=50)
