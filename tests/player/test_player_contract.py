"""Protocol v1: the examples, and what the player really sends and accepts, against the schema."""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from pathlib import Path

import jsonschema
import pytest
from player_fakes import T0, notice_item, slide_html, warning

from player.manifest import parse_manifest
from player.protocol import ProtocolError

REPO = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((REPO / "contract" / "player-protocol-v1.schema.json").read_text())
EXAMPLES = sorted((REPO / "contract" / "examples").glob("*.json"))


def validator(name: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator({**SCHEMA, "$ref": f"#/$defs/{name}"})


def assert_valid(name: str, value) -> None:
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator(name).iter_errors(value)]
    assert errors == [], f"{name}: {errors}"


def test_schema_is_valid_draft_2020_12():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert "/api/player/v1/" in SCHEMA["description"]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_examples_validate(path):
    assert_valid(path.stem.split("--")[0], json.loads(path.read_text()))


def test_every_message_has_an_example():
    named = {p.stem.split("--")[0] for p in EXAMPLES}
    messages = {
        "manifest", "enroll_request", "enroll_pairing_response", "enroll_poll_response",
        "enroll_token_response", "heartbeat", "heartbeat_response", "events_batch",
        "events_response", "alert_ack", "alert_ack_response", "problem",
    }  # fmt: skip
    assert messages <= named


def test_player_accepts_example_manifests():
    for path in EXAMPLES:
        if path.stem.startswith("manifest"):
            parse_manifest(json.loads(path.read_text()))


@pytest.mark.parametrize(
    "damage",
    [
        lambda m: m.update(protocol=2),
        lambda m: m["items"][0]["slide"].update(sha256="../../etc/passwd"),
        lambda m: m["items"][0].update(valid_from="gestern"),
        lambda m: m["warnings"][0].update(behaviour="popup"),
        lambda m: m.pop("server_time"),
    ],
)
def test_player_rejects_broken_manifests(damage):
    manifest = json.loads((REPO / "contract" / "examples" / "manifest.json").read_text())
    damage(manifest)
    with pytest.raises(ProtocolError):
        parse_manifest(manifest)
    assert list(validator("manifest").iter_errors(manifest))


def test_what_the_player_sends_matches_the_schema(world):
    slides = [slide_html("A"), slide_html("B")]
    world.client.publish(
        [notice_item("a", slides[0]), notice_item("b", slides[1], valid_until=None)],
        files=slides,
        warnings=[
            warning(),
            warning("c", msg_type="Cancel", entwarnung_until=T0 + timedelta(minutes=15)),
        ],
    )
    assert_valid("manifest", world.client.manifest_body())
    player = world.player(provisioning_token="prov-123456789")
    player.run_once()
    player.run_once()
    player.on_played("a")
    player.on_alert_shown("a1")
    world.client.online = False
    player.run_once()  # an error event
    world.client.online = True
    world.clock.advance(61)
    player.run_once()
    pairing = world.player()
    world.cache().remove_token()
    pairing.run_once()
    for body in world.client.enrolls:
        assert_valid("enroll_request", body)
    assert world.client.heartbeats
    for body in world.client.heartbeats:
        assert_valid("heartbeat", body)
    assert world.client.event_batches
    for body in world.client.event_batches:
        assert_valid("events_batch", body)
    assert {a["shown_at"] is None for a in world.client.acks} == {True, False}
    for body in world.client.acks:
        assert_valid("alert_ack", body)


def test_fake_answers_match_the_schema(world):
    client = world.client
    assert_valid("enroll_pairing_response", client.enroll({"player_version": "1"}))
    assert_valid("enroll_poll_response", client.poll_enrollment("K7Q-4XM", "s" * 32))
    client.paired = True
    assert_valid("enroll_poll_response", client.poll_enrollment("K7Q-4XM", "s" * 32))
    assert_valid(
        "enroll_token_response",
        client.enroll({"player_version": "1", "provisioning_token": "p" * 10}),
    )
    broken = copy.deepcopy(client.manifest_body())
    broken["warnings"] = [{**warning(), "status": "Drill"}]
    assert list(validator("manifest").iter_errors(broken))
