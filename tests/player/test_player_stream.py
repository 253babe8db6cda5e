"""The player's side of protocol v2 (player/stream.py) against
contract/player-protocol-v2.schema.json: the SSE parser, what each message does, and the
fallback to v1 against a server that speaks only v1."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
from fake_server import TOKEN, FakeServer

from player.stream import PushClient, SseParser

REPO = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((REPO / "contract" / "player-protocol-v2.schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
WARN = "w3-091620000000-0"
WARNING = {"id": "41", "headline": "Hochwasser", "behaviour": "takeover"}


def message(**fields) -> str:
    data = {"v": 2, "fetch_within_s": 5, **fields}
    VALIDATOR.validate(data)  # every message this test feeds is one the contract allows
    return json.dumps(data)


def test_the_contract_refuses_what_a_player_must_not_act_on():
    for bad in (
        {"v": 2, "type": "state", "channel": "x1", "seq": 1, "fetch_within_s": 1},
        {"v": 2, "type": "state", "channel": "t1", "seq": 0, "fetch_within_s": 1},
        {"v": 2, "type": "warnings", "channel": WARN, "seq": 1, "fetch_within_s": 1},
        {"v": 1, "type": "state", "channel": "t1", "seq": 1, "fetch_within_s": 1},
    ):
        assert not VALIDATOR.is_valid(bad), bad


def test_sse_parser_follows_the_format():
    parser = SseParser()
    events = parser.feed(': comment\r\nid: 5:0\r\ndata: {"a":\r\ndata: 1}\r\n\r\nda')
    assert [("\n".join(e.data), e.id) for e in events] == [('{"a":\n1}', "5:0")]
    assert parser.last_id == "5:0"
    events = parser.feed("ta: x\nevent: ping\n\n:keep\n\ndata:y\n\n")
    assert [(e.name, e.data) for e in events] == [("ping", ["x"]), ("message", ["y"])]


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def client_with_snapshot() -> tuple[PushClient, Clock]:
    clock = Clock()
    client = PushClient("http://127.0.0.1:9", "test", rng=lambda: 0.5, monotonic=clock)
    client.raw = {"protocol": 1, "server_time": "2026-12-04T01:00:00.000Z", "warnings": []}
    client.raw_etag, client.fetch_at, client.alerts_revision = "m1-a", None, 7
    return client, clock


def test_a_warnings_message_is_an_answer_at_once_and_a_duplicate_is_drawn_once():
    client, clock = client_with_snapshot()
    text = message(type="warnings", channel=WARN, seq=4, revision=8, warnings=[WARNING])
    answer = client._message(text, "m1-a")
    assert answer is not None and answer.changed and answer.etag == "m1-a"
    assert answer.manifest["warnings"] == [WARNING]
    assert client.fetch_at == clock.t + 2.5  # its files and etag: within the spread
    assert client._message(text, "m1-a") is None  # the same number again
    older = message(type="warnings", channel=WARN, seq=5, revision=6, warnings=[])
    assert client._message(older, "m1-a") is None  # built before the snapshot held


def test_a_gap_in_the_numbers_fetches_the_snapshot_now():
    client, clock = client_with_snapshot()
    assert client._message(message(type="state", channel="t3", seq=1), None) is None
    client.fetch_at = None
    assert client._message(message(type="state", channel="t3", seq=3), None) is None
    assert client.fetch_at == clock.t  # seq 2 is missing


def test_a_v1_server_gets_the_long_poll():
    server = FakeServer()  # started: it speaks v1 only
    try:
        server.publish(items=[], warnings=[])
        client = PushClient(server.url, "test")
        client.token = TOKEN
        answer = client.manifest(None, 0)
        assert answer.changed and answer.manifest["protocol"] == 1
        assert client.v1_until is not None and client.stream is None
        assert client.manifest(answer.etag, 0).changed is False  # v1 conditional request
    finally:
        server.stop()
