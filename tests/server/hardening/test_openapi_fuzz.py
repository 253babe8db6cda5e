"""schemathesis fuzzes the published OpenAPI document against the app, in-process (WSGI):
no generated input, valid or invalid, may produce a server error (issue 8)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from server.extensions import db
from server.services import audit

# Bounded and reproducible: the same examples on every run.
EXAMPLES = {GenerationMode.POSITIVE: 50, GenerationMode.NEGATIVE: 30}
RUN: dict[str, int] = {"examples": 0}
STATUSES: dict[str, dict[int, int]] = {}


def _pin_code(case, world):
    case.path_parameters = {**(case.path_parameters or {}), "code": world["code"]}
    return case


def _pin_asset(case, world):
    case.path_parameters = {**(case.path_parameters or {}), "sha256": world["sha256"]}
    return case


def _pin_ack(case, world):
    if isinstance(case.body, dict):
        case.body = {**case.body, "display_id": world["display_id"]}
        case.path_parameters = {**(case.path_parameters or {}), "alert_id": case.body["alert_id"]}
    return case


PINS = {
    "GET /api/player/v1/enroll/{code}": _pin_code,
    "GET /api/player/v1/assets/{sha256}": _pin_asset,
    "POST /api/player/v1/alerts/{alert_id}/ack": _pin_ack,
}


def _headers_for(operation, two, claim_secret: str) -> dict[str, str]:
    security = operation.definition.raw.get("security")
    names = {name for req in (security or []) for name in req}
    if "alertsToken" in names:
        return two.a.alerts_auth()
    if "playerToken" in names:
        return two.a.auth()
    if "claimSecret" in names:
        return {"Authorization": f"Bearer {claim_secret}"}
    return {}


def _fuzz(label: str, mode: GenerationMode, strategy, examples: int, failures: list[str]) -> None:
    @settings(
        max_examples=examples,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case) -> None:
        RUN["examples"] += 1
        response = case.call()
        seen = STATUSES.setdefault(label, {})
        seen[response.status_code] = seen.get(response.status_code, 0) + 1
        if response.status_code >= 500:
            failures.append(f"{label} [{mode}] → {response.status_code}: {case.as_curl_command()}")
            db.session.rollback()

    run()


def test_no_generated_input_produces_a_server_error(app, client, two):
    pairing = client.post(
        "/api/player/v1/enroll", json={"player_version": "fuzz", "hostname": "fuzz"}
    ).get_json()
    manifest = client.get("/api/player/v1/manifest", headers=two.a.auth()).get_json()
    world = {
        "code": pairing["pairing_code"],
        "display_id": str(two.a.display.id),
        "sha256": manifest["items"][0]["slide"]["sha256"],
    }
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 8, [op.label for op in operations]
    failures: list[str] = []
    for operation in operations:
        headers = _headers_for(operation, two, pairing["claim_secret"])
        for mode, examples in EXAMPLES.items():
            strategy = operation.as_strategy(generation_mode=mode, headers=headers)
            pin = PINS.get(operation.label)
            if pin is not None and mode is GenerationMode.POSITIVE:
                # Half of the valid examples reach past the lookup: real ids, own display.
                strategy = strategy.flatmap(
                    lambda case, pin=pin: st.booleans().map(
                        lambda yes, case=case: pin(case, world) if yes else case
                    )
                )

            _fuzz(operation.label, mode, strategy, examples, failures)
    print(f"\nschemathesis: {RUN['examples']} examples over {len(operations)} operations")
    for label, seen in sorted(STATUSES.items()):
        print(f"  {label}: {dict(sorted(seen.items()))}")
    assert not failures, "\n".join(failures[:20])
    # The hash chain of the audit log survived the flood of rejected requests.
    assert audit.verify(db.session).ok


@pytest.fixture(autouse=True)
def _report(request):
    yield
    terminal = request.config.pluginmanager.get_plugin("terminalreporter")
    if terminal is not None and RUN["examples"]:
        terminal.write_line(f"schemathesis examples run: {RUN['examples']}")
