"""The control-centre API and the public warning channel at their edges (issue 11, low
items): absurd CAP dates, a database that is down, a forged Host header, ``web`` links
of any scheme and JSON nested deeper than any CAP message."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from server import create_app
from server.config import load_settings
from server.domain.alerts import ManualTexts, ars_area, build_alert
from server.domain.alerts.model import Alert
from server.extensions import db
from server.models import AlertRecord
from server.services import alerts as svc
from server.services.displays.warnings import warning_json
from server.services.files import BlobStore
from server.sources.cap import alert_from_cap_json, build_cap_xml, parse_cap

from .test_alerts_cap import _doc

ARS = "150870045045"  # Sangerhausen


@pytest.fixture
def now():
    return datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def token(factory, session, now):
    tenant = factory.tenant("sangerhausen", ars=ARS, name="Sangerhausen")
    _, plain = svc.create_api_token(session, tenant=tenant, name="Leitstelle", user=None, now=now)
    session.commit()
    return plain


def _post(client, token, data, content_type="application/cap+xml", **kw):
    return client.post(
        "/api/v1/alerts",
        data=data,
        content_type=content_type,
        headers={"Authorization": f"Bearer {token}"},
        **kw,
    )


def _message(now: datetime, *, web: str | None = None, ident: str = "LS-E1") -> Alert:
    return build_alert(
        identifier=ident,
        sender="leitstelle@example.org",
        sent=now,
        warnstufe=1,
        texts=ManualTexts(
            event="Großbrand",
            category="Fire",
            headline="Großbrand",
            description="Rauch.",
            instruction="Fenster schließen.",
            sender_name="Leitstelle",
            web=web,
        ),
        areas=[ars_area("Sangerhausen", [ARS])],
        expires=now + timedelta(hours=6),
    )


def _json_body(sent: str, expires: str | None = None) -> dict:
    info = {
        "language": "de-DE",
        "category": ["Safety"],
        "event": "Evakuierung",
        "urgency": "Immediate",
        "severity": "Severe",
        "certainty": "Observed",
        "area": [{"areaDesc": "Ort", "geocode": [{"valueName": "SHN", "value": ARS}]}],
    }
    if expires:
        info["expires"] = expires
    return {
        "identifier": "LS-D1",
        "sender": "leitstelle@example.org",
        "sent": sent,
        "status": "Actual",
        "msgType": "Alert",
        "scope": "Public",
        "info": [info],
    }


def _count() -> int:
    return db.session.scalar(select(func.count()).select_from(AlertRecord))


# --- CAP dates in year 1 and 9999 ------------------------------------------------------

EXTREME = [
    "0001-01-01T00:00:00+01:00",
    "0001-01-01T00:00:00+00:00",
    "9999-12-31T23:59:59-01:00",
    "9999-12-31T23:59:59+00:00",
    "9999-12-31T23:30:00+14:00",
]


@pytest.mark.parametrize("value", EXTREME)
@pytest.mark.parametrize("field", ["sent", "expires"])
@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_cap_dates_in_year_1_or_9999_are_a_clear_400(client, token, now, value, field, fmt):
    ok = now.strftime("%Y-%m-%dT%H:%M:%S+00:00")
    sent, expires = (value, None) if field == "sent" else (ok, value)
    if fmt == "json":
        r = _post(client, token, json.dumps(_json_body(sent, expires)), "application/json")
    else:
        xml = _doc(sent=sent)
        if expires:
            xml = xml.replace(b"</certainty>", f"</certainty><expires>{expires}</expires>".encode())
        r = _post(client, token, xml)
    assert r.status_code == 400, r.get_data(as_text=True)[:300]
    assert r.mimetype == "application/problem+json"
    assert field in r.get_json()["detail"]
    assert _count() == 0


# --- the database is down --------------------------------------------------------------


@pytest.fixture
def app_without_database(tmp_path):
    # A real PostgreSQL URL on a port where nothing listens: every connection is refused,
    # as when the database server is down.
    settings = load_settings(
        {
            "AUSHANG_INSTANCE_PATH": str(tmp_path),
            "DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:9/aushang",
            "SECRET_KEY": "test-secret",
        }
    )
    app = create_app({"TESTING": True}, settings=settings)
    yield app
    with app.app_context():
        db.engine.dispose()


def test_cap_post_while_the_database_is_down_is_503_with_retry_after(app_without_database, now):
    client = app_without_database.test_client()
    for data, content_type in (
        (build_cap_xml(_message(now)), "application/cap+xml"),
        (json.dumps(_json_body(now.strftime("%Y-%m-%dT%H:%M:%S+00:00"))), "application/json"),
    ):
        r = _post(client, "ahw_any", data, content_type)
        assert r.status_code == 503, r.get_data(as_text=True)[:300]
        assert r.mimetype == "application/problem+json"
        assert int(r.headers["Retry-After"]) > 0
        assert r.get_json()["detail"]


# --- the Host header -------------------------------------------------------------------


def test_forged_host_header_never_reaches_location_or_feeds(app, client, token, now):
    base = app.config["AUSHANG_BASE_URL"].rstrip("/")
    forged = {"Host": "evil.example"}
    r = client.post(
        "/api/v1/alerts",
        data=build_cap_xml(_message(now)),
        content_type="application/cap+xml",
        headers={"Authorization": f"Bearer {token}", **forged},
    )
    assert r.status_code == 201, r.get_json()
    assert r.headers["Location"] == f"{base}/warnungen/cap/LS-E1.xml"
    assert r.get_json()["cap"] == r.headers["Location"]
    for path in ("/sangerhausen/feeds/warnungen.json", "/sangerhausen/feeds/warnungen.atom"):
        body = client.get(path, headers=forged).get_data(as_text=True)
        assert "LS-E1" in body
        assert "evil.example" not in body
        assert f"{base}/warnungen/cap/LS-E1.xml" in body
        assert f"{base}/sangerhausen/feeds/warnungen." in body


# --- web links of any scheme -----------------------------------------------------------

UNSAFE_WEB = [
    "javascript:alert(document.cookie)",
    "JavaScript:alert(1)",
    " javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "file:///etc/passwd",
    "//evil.example/phish",
    "http:/no-host",
]


@pytest.mark.parametrize("web", UNSAFE_WEB)
def test_web_links_other_than_http_https_never_become_links_or_qr_codes(
    client, session, token, now, tmp_path, web
):
    xml = build_cap_xml(_message(now)).replace(
        b"<senderName>",
        f"<web>{web.replace('&', '&amp;').replace('<', '&lt;')}</web><senderName>".encode(),
    )
    parsed = parse_cap(xml).alert
    assert parsed.primary_info().web is None  # dropped at ingest
    as_json = _json_body("2026-12-03T10:00:00+01:00")
    as_json["info"][0]["web"] = web
    assert alert_from_cap_json(as_json).primary_info().web is None

    assert _post(client, token, xml).status_code == 201
    feed = client.get("/sangerhausen/feeds/warnungen.json").get_json()
    assert [w["web"] for w in feed["warnings"]] == [None]
    atom = client.get("/sangerhausen/feeds/warnungen.atom").get_data(as_text=True)
    assert web.strip() not in atom and 'rel="related"' not in atom
    tenant = session.scalar(select(AlertRecord)).targets[0].tenant
    (shown,) = svc.active_alerts_for_place(session, tenant=tenant, now=now)
    payload = warning_json(shown, BlobStore(tmp_path))
    assert payload["qr"] is None
    assert all("web" not in lang for lang in payload["languages"])


@pytest.mark.parametrize("web", ["https://www.example.org/lage", "http://example.org/a?b=1"])
def test_http_and_https_web_links_stay(client, session, token, now, tmp_path, web):
    assert _post(client, token, build_cap_xml(_message(now, web=web))).status_code == 201
    feed = client.get("/sangerhausen/feeds/warnungen.json").get_json()
    assert [w["web"] for w in feed["warnings"]] == [web]
    tenant = session.scalar(select(AlertRecord)).targets[0].tenant
    (shown,) = svc.active_alerts_for_place(session, tenant=tenant, now=now)
    assert warning_json(shown, BlobStore(tmp_path))["qr"]["url"] == web


# --- JSON nested deeper than any CAP message -------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "[" * 50_000 + "]" * 50_000,
        '{"a":' * 50_000 + "1" + "}" * 50_000,
        json.dumps({**_json_body("2026-12-03T10:00:00+01:00"), "note": "x"})[:-1]
        + ', "extra": '
        + "[" * 50_000
        + "]" * 50_000
        + "}",
        "[" * 50_000,  # and never closed
    ],
)
def test_json_nested_fifty_thousand_deep_is_a_clear_400(client, token, body):
    r = _post(client, token, body, "application/json")
    assert r.status_code == 400, r.get_data(as_text=True)[:300]
    assert r.mimetype == "application/problem+json"
    assert r.get_json()["detail"]
    assert _count() == 0


def test_json_of_ordinary_depth_with_brackets_in_strings_is_accepted(client, token, now):
    body = _json_body(now.strftime("%Y-%m-%dT%H:%M:%S+00:00"))
    body["info"][0]["headline"] = "[" * 200 + '{"quoted \\" brace' + "{" * 200
    r = _post(client, token, json.dumps(body), "application/json")
    assert r.status_code == 201, r.get_json()


def test_thousands_of_references_are_a_clear_422(client, token, now):
    body = _json_body(now.strftime("%Y-%m-%dT%H:%M:%S+00:00"))
    body["msgType"] = "Update"
    body["references"] = " ".join(
        f"leitstelle@example.org,LS-{i},2026-12-01T10:00:00+01:00" for i in range(6_000)
    )
    r = _post(client, token, json.dumps(body), "application/json")
    assert r.status_code == 422, r.get_data(as_text=True)[:300]
    assert r.mimetype == "application/problem+json"
    assert _count() == 0
