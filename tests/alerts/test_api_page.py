"""The /api page a Leitstelle starts from, the corrected OpenAPI schema, faithful time
literals and staff-only exercise documents (issue 14)."""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime

import jsonschema
import pytest
from sqlalchemy import select

from server.models import AlertRecord
from server.services import alerts as svc
from server.sources.cap import alert_from_cap_json, build_cap_xml, parse_cap
from server.web.openapi import CAP_DATETIME_PATTERN, document

from ..conftest import login
from .test_alerts_cap import _validate

MAGDEBURG_ARS = "150030000000"


@pytest.fixture
def now():
    return datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def magdeburg(factory, session, now):
    tenant = factory.tenant("magdeburg", ars=MAGDEBURG_ARS, name="Magdeburg")
    _token, plain = svc.create_api_token(session, tenant=tenant, name="ILS", user=None, now=now)
    session.commit()
    return tenant, plain


def _examples(page: str, kind: str) -> list[str]:
    found = re.findall(rf'<code class="example-{kind}" data-kind="\w+">(.*?)</code>', page, re.S)
    return [html.unescape(x) for x in found]


def _post(client, plain, body: str, content_type: str):
    return client.post(
        "/api/v1/alerts",
        data=body.encode("utf-8"),
        headers={"Authorization": f"Bearer {plain}"},
        content_type=content_type,
    )


def test_api_page_is_self_contained_and_linked_from_openapi(client):
    r = client.get("/api")
    assert r.status_code == 200 and r.mimetype == "text/html"
    assert 'href="/api/openapi.json"' in r.text
    assert "POST /api/v1/alerts" in r.text and "GET /api/openapi.json" in r.text
    # No third-party host: no script, no stylesheet or image from anywhere else.
    assert "<script" not in r.text
    for url in re.findall(r'(?:src|href)="([^"]+)"', r.text):
        assert url.startswith("/") or url.startswith("#"), url


@pytest.mark.parametrize(
    ("kind", "content_type"), [("xml", "application/cap+xml"), ("json", "application/json")]
)
def test_examples_on_the_page_are_accepted_in_order(
    client, session, magdeburg, cap_xsd, kind, content_type
):
    _tenant, plain = magdeburg
    examples = _examples(client.get("/api").text, kind)
    assert len(examples) == 3
    for body in examples:
        if kind == "xml":
            _validate(cap_xsd, body.encode("utf-8"))
        r = _post(client, plain, body, content_type)
        assert r.status_code == 201, r.get_json()
        assert r.get_json()["targets"] == ["magdeburg"]
    phases = dict(session.execute(select(AlertRecord.identifier, AlertRecord.phase)).all())
    prefix = f"BEISPIEL-{kind.upper()}"
    assert phases == {f"{prefix}-1": "ended", f"{prefix}-2": "ended", f"{prefix}-3": "all_clear"}
    record = session.scalar(select(AlertRecord).where(AlertRecord.identifier == f"{prefix}-3"))
    assert record.end_reason is None and record.sent_text == "2026-01-15T14:00:00+01:00"


def _cap_json_schema():
    op = document()["paths"]["/api/v1/alerts"]["post"]
    return op["requestBody"]["content"]["application/json"]["schema"]


def test_openapi_cap_schema_accepts_real_samples_and_the_examples(client, shared_fixtures):
    schema = _cap_json_schema()
    nina = json.loads((shared_fixtures / "nina" / "ha_sample_warning_details.json").read_text())
    for sample in nina.values():
        jsonschema.validate(sample, schema)
    for body in _examples(client.get("/api").text, "json"):
        jsonschema.validate(json.loads(body), schema)
    # DWD's CAP, as JSON, too (the XML samples converted by our own reader and writer).
    from server.sources.cap import alert_to_cap_json

    for name in ("dwd_alert_windboeen_2023-06-22.xml", "dwd_update_starkregen_2023-06-23.xml"):
        alert = parse_cap((shared_fixtures / "cap" / name).read_bytes()).alert
        jsonschema.validate(alert_to_cap_json(alert), schema)


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("2026-01-29T10:00:00+01:00", True),
        ("2026-01-30T10:00:00+01:00", True),
        ("2026-01-31T23:59:59+01:00", True),
        ("2026-06-01T05:20:00-05:00", True),
        ("2026-06-01T05:20:00+05:30", True),
        ("2026-06-01T05:20:00+14:00", True),
        ("2026-06-01T05:20:00Z", False),
        ("2026-06-01T05:20:00", False),
        ("2026-13-01T05:20:00+01:00", False),
        ("2026-06-32T05:20:00+01:00", False),
    ],
)
def test_sent_pattern_takes_every_day_and_real_offsets(value, ok):
    assert bool(re.match(CAP_DATETIME_PATTERN, value)) is ok
    schema = _cap_json_schema()["properties"]["sent"]
    if ok:
        jsonschema.validate(value, schema)
    else:
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(value, schema)


ODD_TIMES = {
    "sent": "2026-06-01T05:20:00+01:00",  # summer, written with the winter offset
    "onset": "2026-06-01T04:20:00+00:00",
    "expires": "2099-06-01T07:20:00-00:00",
}


def _odd_json(identifier: str) -> dict:
    return {
        "identifier": identifier,
        "sender": "ils@magdeburg.example",
        "sent": ODD_TIMES["sent"],
        "status": "Actual",
        "msgType": "Alert",
        "scope": "Public",
        "info": [
            {
                "language": "de-DE",
                "category": ["Safety"],
                "event": "Gefahr",
                "urgency": "Immediate",
                "severity": "Severe",
                "certainty": "Observed",
                "onset": ODD_TIMES["onset"],
                "expires": ODD_TIMES["expires"],
                "headline": "Gefahr",
                "area": [
                    {
                        "areaDesc": "Magdeburg",
                        "geocode": [{"valueName": "SHN", "value": MAGDEBURG_ARS}],
                    }
                ],
            }
        ],
    }


def test_json_to_xml_round_trip_keeps_time_literals(client, session, magdeburg, cap_xsd):
    _tenant, plain = magdeburg
    body = _odd_json("ROUND-1")
    r = _post(client, plain, json.dumps(body), "application/json")
    assert r.status_code == 201, r.get_json()
    xml = client.get("/warnungen/cap/ROUND-1.xml")
    assert xml.status_code == 200
    _validate(cap_xsd, xml.data)
    for name, literal in ODD_TIMES.items():
        assert f"<{name}>{literal}</{name}>".encode() in xml.data
    # And in-process: JSON → Alert → XML → Alert → JSON, unchanged.
    again = parse_cap(build_cap_xml(alert_from_cap_json(body))).alert
    from server.sources.cap import alert_to_cap_json

    assert alert_to_cap_json(again)["sent"] == ODD_TIMES["sent"]
    assert alert_to_cap_json(again)["info"][0]["expires"] == ODD_TIMES["expires"]
    # An Update quoting the literal sent time finds its original.
    update = dict(_odd_json("ROUND-2"), msgType="Update", sent="2026-06-01T07:00:00+02:00")
    update["references"] = f"ils@magdeburg.example,ROUND-1,{ODD_TIMES['sent']}"
    r = _post(client, plain, json.dumps(update), "application/json")
    assert r.status_code == 201 and r.get_json()["changes"][0] == {
        "kind": "ended",
        "key": "ROUND-1",
    }


def test_exercise_documents_are_for_staff_only(client, factory, session, magdeburg, cap_xsd):
    tenant, plain = magdeburg
    body = dict(_odd_json("UEBUNG-1"), status="Exercise")
    assert _post(client, plain, json.dumps(body), "application/json").status_code == 201
    assert client.get("/warnungen/cap/UEBUNG-1.xml").status_code == 404
    outsider = factory.user(factory.tenant("andere", ars="150850000000"), "admin")
    staff = factory.user(tenant, "alerter")
    session.commit()
    login(client, outsider.email)
    assert client.get("/warnungen/cap/UEBUNG-1.xml").status_code == 404
    login(client, staff.email)
    r = client.get("/warnungen/cap/UEBUNG-1.xml")
    assert r.status_code == 200 and "no-store" in r.headers["Cache-Control"]
    _validate(cap_xsd, r.data)
