"""OParl client against a fake OParl server on 127.0.0.1 (never the internet)."""

from __future__ import annotations

import json
import os
import socket
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from server.domain.oparl import OParlDataError, OParlError, meeting_to_draft
from server.sources.oparl import (
    DEFAULT_USER_AGENT,
    OParlClient,
    OParlConnectionError,
    OParlFormatError,
    OParlHTTPError,
    OParlTimeoutError,
    with_query,
)

REPO = Path(__file__).resolve().parents[3]
ORIGIN = "https://oparl.example.org"
T11 = "https://schema.oparl.org/1.1/"


def _fixture_dir() -> Path:
    candidates = [os.environ.get("AUSHANG_SHARED_FIXTURES"), REPO.parent / "shared" / "fixtures"]
    candidates.append("/work/shared/fixtures")
    for candidate in candidates:
        if candidate and (Path(candidate) / "oparl").is_dir():
            return Path(candidate) / "oparl"
    if os.environ.get("CI"):
        pytest.fail("shared fixtures (oparl/) not found; set AUSHANG_SHARED_FIXTURES")
    pytest.skip("shared fixtures (oparl/) not found; set AUSHANG_SHARED_FIXTURES")


def fixture_text(name: str, base: str) -> str:
    # The example objects point to oparl.example.org; the fake server stands in for it.
    return (_fixture_dir() / name).read_text("utf-8").replace(ORIGIN, base)


def page(items: list, next_url: str | None = None) -> str:
    links = {"next": next_url} if next_url else {}
    return json.dumps({"data": items, "pagination": {}, "links": links})


@pytest.fixture
def served(fake_oparl):
    """Meeting-01 as page 1 of a meeting list, a second page with references to resolve."""
    base = fake_oparl.base
    meeting = json.loads(fixture_text("Meeting-01.json", base))
    second = {
        "id": f"{base}/meeting/282",
        "type": T11 + "Meeting",
        "name": "5. Sitzung des Finanzausschusses",
        "start": "2013-02-01T17:00:00+01:00",
        "location": f"{base}/location/1",
        "organization": [f"{base}/organization/34"],
        "agendaItem": [f"{base}/agendaitem/1", f"{base}/agendaitem/2"],
        "invitation": f"{base}/files/57737",
        "modified": "2013-01-20T10:00:00+01:00",
    }
    fake_oparl.add(
        "/location/1",
        json.dumps(
            {
                "id": f"{base}/location/1",
                "type": T11 + "Location",
                "room": "Sitzungssaal",
                "streetAddress": "Markt 1",
                "postalCode": "39104",
                "locality": "Beispielstadt",
            }
        ),
    )
    fake_oparl.add(
        "/organization/34",
        json.dumps(
            {
                "id": f"{base}/organization/34",
                "type": T11 + "Organization",
                "name": "Finanzausschuss",
            }
        ),
    )
    for number, public in ((1, True), (2, False)):
        fake_oparl.add(
            f"/agendaitem/{number}",
            json.dumps(
                {
                    "id": f"{base}/agendaitem/{number}",
                    "type": T11 + "AgendaItem",
                    "order": number,
                    "number": str(number),
                    "name": f"Punkt {number}",
                    "public": public,
                }
            ),
        )
    fake_oparl.add("/files/57737", fixture_text("File-01.json", base))
    fake_oparl.add("/body/1/meeting", page([meeting], f"{base}/body/1/meeting?page=2"))
    fake_oparl.add("/body/1/meeting?page=2", page([second]))
    fake_oparl.add("/meeting/281", json.dumps(meeting))
    fake_oparl.add(
        "/body/1",
        json.dumps(
            {
                "id": f"{base}/body/1",
                "type": T11 + "Body",
                "name": "Beispielstadt",
                "meeting": f"{base}/body/1/meeting",
            }
        ),
    )
    return fake_oparl


def client(**kwargs) -> OParlClient:
    return OParlClient(timeout=kwargs.pop("timeout", 5.0), **kwargs)


def test_meeting_list_is_paginated_and_references_resolved(served):
    meetings = client().fetch_meetings(served.base + "/body/1/meeting")
    assert [m["id"] for m in meetings] == [
        served.base + "/meeting/281",
        served.base + "/meeting/282",
    ]
    first, second = (meeting_to_draft(m) for m in meetings)
    assert first.title == "Einladung zur 4. Sitzung des Finanzausschusses"
    assert first.organizations == ("Finanzausschuss",)
    assert [a.name for a in first.agenda] == ["Satzungsänderung für Ausschreibungen"]
    assert second.place == "Sitzungssaal, Markt 1, 39104 Beispielstadt"
    assert [a.name for a in second.agenda] == ["Punkt 1"]  # Punkt 2 is not public
    assert second.invitation is not None and second.invitation.url.endswith("/files/57737.pdf")
    assert second.start == datetime(2013, 2, 1, 16, 0, tzinfo=UTC)
    assert all(agent == DEFAULT_USER_AGENT for _, agent in served.requests)


def test_body_and_single_meeting_urls(served):
    via_body = client().fetch_meetings(served.base + "/body/1")
    assert len(via_body) == 2
    (single,) = client().fetch_meetings(served.base + "/meeting/281")
    assert meeting_to_draft(single).source_id == served.base + "/meeting/281"


def test_modified_since_goes_into_the_first_request(served):
    since = datetime(2013, 1, 10, 12, 0, tzinfo=UTC)
    first_url = with_query(served.base + "/body/1/meeting", modified_since="2013-01-10T12:00:00Z")
    served.add(
        urlsplit(first_url).path + "?" + urlsplit(first_url).query,
        page([], served.base + "/body/1/meeting?page=2"),
    )
    meetings = client().fetch_meetings(served.base + "/body/1/meeting", modified_since=since)
    assert [m["id"] for m in meetings] == [served.base + "/meeting/282"]
    query = parse_qs(urlsplit(served.requests[0][0]).query)
    assert query == {"modified_since": ["2013-01-10T12:00:00Z"]}


def test_html_error_page_gives_a_clear_error(fake_oparl):
    url = fake_oparl.add(
        "/meetings",
        "<!DOCTYPE html><html><body>Wartung</body></html>",
        status=503,
        content_type="text/html; charset=utf-8",
    )
    with pytest.raises(OParlHTTPError, match="HTTP-Status 503 \\(eine HTML-Fehlerseite\\)") as err:
        client().fetch_meetings(url)
    assert err.value.status == 503


def test_html_page_with_status_200_is_not_json(fake_oparl):
    url = fake_oparl.add("/login", "<html><body>Anmeldung</body></html>", content_type="text/html")
    with pytest.raises(OParlFormatError, match="HTML-Seite statt JSON"):
        client().fetch_meetings(url)


def test_timeout_gives_a_clear_error(fake_oparl):
    url = fake_oparl.add("/slow", page([]), delay=10.0)
    with pytest.raises(OParlTimeoutError, match="nicht innerhalb von 0.3 Sekunden"):
        client(timeout=0.3).fetch_meetings(url)


def test_broken_json_gives_a_clear_error(fake_oparl):
    url = fake_oparl.add("/broken", '{"data": [ {"id": ')
    with pytest.raises(OParlFormatError, match="kein gültiges JSON \\(Zeile 1"):
        client().fetch_meetings(url)


def test_wrong_object_types_give_clear_errors(served):
    served.add("/agendaitem/2", fixture_text("Paper-01.json", served.base))
    with pytest.raises(OParlDataError, match="Typ AgendaItem.*Typ Paper"):
        client().fetch_meetings(served.base + "/body/1/meeting")
    url = served.add("/paper/749", fixture_text("Paper-01.json", served.base))
    with pytest.raises(OParlDataError, match="weder eine Sitzungsliste.*Paper"):
        client().fetch_meetings(url)
    url = served.add("/notalist", json.dumps({"data": "kaputt"}))
    with pytest.raises(OParlDataError, match="keine OParl-Liste"):
        client().fetch_meetings(url)


def test_unreachable_server_and_pagination_loop(fake_oparl):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(OParlConnectionError, match="nicht erreichbar"):
        client().fetch_meetings(f"http://127.0.0.1:{port}/meetings")
    loop = fake_oparl.add("/loop", page([], fake_oparl.base + "/loop2"))
    fake_oparl.add("/loop2", page([], loop))
    with pytest.raises(OParlDataError, match="Schleife"):
        client().fetch_meetings(loop)
    with pytest.raises(OParlError, match="keine http"):
        client().fetch_meetings("file:///etc/passwd")


def test_unresolvable_organization_is_a_warning(served):
    del served.routes["/organization/34"]
    meetings = client().fetch_meetings(served.base + "/body/1/meeting")
    draft = meeting_to_draft(meetings[1])
    assert draft.organizations == ()
    assert "Das Gremium konnte nicht ermittelt werden." in draft.warnings
