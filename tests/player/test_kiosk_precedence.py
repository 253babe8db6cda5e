"""The kiosk page's precedence rule (``player/kiosk/precedence.js``) under ``node --test``:
the shared case table, seeded properties, and a cross-check against the Python twin on
random sets, so the kiosk and the server's preview agree on every one of them."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
JS_TEST = REPO / "tests" / "player" / "kiosk_precedence.test.js"
NOW = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        reason = "node is not installed: the kiosk's JavaScript tests need Node 20"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return node


def _iso(minutes: int) -> str:
    return (NOW + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _random_sets(count: int) -> list[dict]:
    rnd = random.Random(2026)
    cases = []
    for _ in range(count):
        warnings = []
        for i in range(rnd.randrange(8)):
            cancel = rnd.random() < 0.4
            warnings.append(
                {
                    "id": f"w{i}",
                    "behaviour": "takeover"
                    if cancel
                    else rnd.choice(["takeover", "alternate", "banner"]),
                    "msg_type": "Cancel" if cancel else rnd.choice(["Alert", "Update"]),
                    "status": rnd.choice(["Actual", "Actual", "Exercise", "Test"]),
                    "warnstufe": rnd.randint(1, 3),
                    # Whole minutes, some equal: the tie-break on the id is checked too.
                    "sent": _iso(-rnd.randrange(0, 600, 30)),
                    "expires": None
                    if cancel or rnd.random() < 0.4
                    else _iso(rnd.randint(-120, 120)),
                    "entwarnung_until": _iso(rnd.randint(-120, 120)) if cancel else None,
                }
            )
        cases.append({"warnings": warnings, "now": _iso(0), "is_test_display": rnd.random() < 0.5})
    return cases


def test_kiosk_precedence_under_node(tmp_path: Path) -> None:
    from server.domain.alerts.precedence import screen_plan

    node = _node()
    cases = _random_sets(1500)
    data = tmp_path / "cases.json"
    data.write_text(json.dumps(cases))
    result = subprocess.run(
        [node, "--test", str(JS_TEST)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "AUSHANG_PRECEDENCE_CROSSCHECK": str(data)},
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    js_plans = json.loads((tmp_path / "cases.json.out").read_text())
    for case, js in zip(cases, js_plans, strict=True):
        py = screen_plan(case["warnings"], NOW, case["is_test_display"]).as_json()
        assert js == py, case
