"""Pure mapping of OParl meetings to draft Sitzungsbekanntmachungen (L21)."""

from __future__ import annotations

import copy
import json
import os
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from server.domain.oparl import (
    OParlDataError,
    meeting_to_draft,
    notice_title,
    parse_file,
)

REPO = Path(__file__).resolve().parents[3]
BERLIN = ZoneInfo("Europe/Berlin")


def _fixture_dir() -> Path:
    candidates = [os.environ.get("AUSHANG_SHARED_FIXTURES"), REPO.parent / "shared" / "fixtures"]
    candidates.append("/work/shared/fixtures")
    for candidate in candidates:
        if candidate and (Path(candidate) / "oparl").is_dir():
            return Path(candidate) / "oparl"
    if os.environ.get("CI"):
        pytest.fail("shared fixtures (oparl/) not found; set AUSHANG_SHARED_FIXTURES")
    pytest.skip("shared fixtures (oparl/) not found; set AUSHANG_SHARED_FIXTURES")


def load(name: str) -> dict:
    return json.loads((_fixture_dir() / name).read_text("utf-8"))


def test_fixture_meeting_becomes_a_draft():
    draft = meeting_to_draft(load("Meeting-01.json"))
    assert draft.source_id == "https://oparl.example.org/meeting/281"
    assert draft.title == "Einladung zur 4. Sitzung des Finanzausschusses"
    assert draft.start == datetime(2013, 1, 4, 8, 0, tzinfo=timezone(timedelta(hours=1)))
    assert draft.end == datetime(2013, 1, 4, 12, 0, tzinfo=timezone(timedelta(hours=1)))
    assert draft.start.utcoffset() is not None
    assert draft.place == "Rathaus der Beispielstadt, Ratshausplatz 1, 12345 Beispielstadt"
    assert [(a.number, a.name) for a in draft.agenda] == [
        ("10.1", "Satzungsänderung für Ausschreibungen")
    ]
    assert draft.invitation is not None
    assert draft.invitation.url == "https://oparl.example.org/files/57739.pdf"
    assert draft.invitation.media_type == "application/pdf"
    assert not draft.cancelled and not draft.deleted
    assert draft.modified == datetime(2012, 1, 8, 13, 5, 27, tzinfo=UTC)
    body = draft.body_md
    assert "findet am Freitag, 04.01.2013, von 08:00 bis 12:00 Uhr statt" in body
    assert "**Ort:** Rathaus der Beispielstadt" in body
    assert "## Öffentliche Tagesordnung" in body
    assert "- TOP 10.1: Satzungsänderung für Ausschreibungen" in body
    assert "https://oparl.example.org/files/57739.pdf" in body


def test_only_public_agenda_items_are_kept():
    meeting = load("Meeting-01.json")
    public = meeting["agendaItem"][0]
    secret = copy.deepcopy(public) | {
        "id": "https://oparl.example.org/agendaitem/9",
        "number": "11",
        "name": "Grundstücksangelegenheit Müller",
        "public": False,
    }
    unknown = copy.deepcopy(public) | {"id": "x:10", "name": "Ohne Angabe"}
    del unknown["public"]
    meeting["agendaItem"] = [secret, public, unknown]
    draft = meeting_to_draft(meeting)
    assert [a.name for a in draft.agenda] == ["Satzungsänderung für Ausschreibungen"]
    assert draft.omitted_items == 2
    assert "Müller" not in draft.body_md and "Ohne Angabe" not in draft.body_md
    assert "Nichtöffentliche Tagesordnungspunkte werden nicht veröffentlicht." in draft.body_md


def test_agenda_follows_order_field():
    meeting = load("Meeting-01.json")
    base = meeting["agendaItem"][0]
    meeting["agendaItem"] = [
        base | {"id": "a:2", "order": 2, "number": "3", "name": "Dritter"},
        base | {"id": "a:0", "order": 0, "number": "1", "name": "Erster"},
        base | {"id": "a:1", "order": 1, "number": "2", "name": "Zweiter"},
    ]
    assert [a.name for a in meeting_to_draft(meeting).agenda] == ["Erster", "Zweiter", "Dritter"]


def test_cancelled_and_deleted_meetings_are_flagged():
    meeting = load("Meeting-01.json") | {"cancelled": True}
    draft = meeting_to_draft(meeting)
    assert draft.cancelled
    assert draft.title == "Absage: 4. Sitzung des Finanzausschusses"
    assert draft.body_md.startswith("**Die Sitzung ist abgesagt.**")
    gone = meeting_to_draft(
        {
            "id": "https://oparl.example.org/meeting/281",
            "type": "https://schema.oparl.org/1.1/Meeting",
            "deleted": True,
            "modified": "2013-02-01T10:00:00+01:00",
        }
    )
    assert gone.deleted and gone.source_id.endswith("/meeting/281")


def test_markdown_and_html_in_names_stay_text():
    meeting = load("Meeting-01.json")
    meeting["agendaItem"][0]["name"] = "<script>alert(1)</script> *fett* [Link](http://x)"
    body = meeting_to_draft(meeting).body_md
    assert "\\<script\\>" in body and "\\*fett\\*" in body and "\\[Link\\]\\(http://x\\)" in body


def test_local_times_without_offset_are_read_in_berlin_and_dst_is_respected():
    meeting = load("Meeting-01.json") | {
        "start": "2026-10-25T18:00:00",
        "end": "2026-10-25T20:00:00+01:00",
    }
    draft = meeting_to_draft(meeting, BERLIN)
    assert draft.start == datetime(2026, 10, 25, 17, 0, tzinfo=UTC)
    assert "am Sonntag, 25.10.2026, von 18:00 bis 20:00 Uhr" in draft.body_md
    spring = meeting_to_draft(
        load("Meeting-01.json") | {"start": "2027-03-28T09:00:00Z", "end": None}
    )
    assert "am Sonntag, 28.03.2027, um 11:00 Uhr" in spring.body_md


def test_missing_place_and_time_are_warnings_not_errors():
    meeting = load("Meeting-01.json")
    for key in ("start", "end", "location"):
        del meeting[key]
    draft = meeting_to_draft(meeting)
    assert draft.start is None and draft.place == ""
    assert len(draft.warnings) == 3  # no start, no place, organization unresolved


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda m: m | {"type": "https://schema.oparl.org/1.1/Paper"}, "vom Typ Meeting"),
        (lambda m: m | {"start": "gestern"}, "keine gültige Zeitangabe"),
        (lambda m: m | {"agendaItem": "https://x/agenda"}, "keine Liste"),
        (lambda m: m | {"agendaItem": ["https://x/agendaitem/1"]}, "nicht aufgelöster Verweis"),
        (lambda m: m | {"end": "2013-01-04T07:00:00+01:00"}, "vor ihrem Beginn"),
        (
            lambda m: m | {"invitation": {"type": "https://schema.oparl.org/1.1/File", "id": "f"}},
            "accessUrl",
        ),
    ],
)
def test_malformed_meetings_raise_german_errors(mutate, message):
    with pytest.raises(OParlDataError, match=message):
        meeting_to_draft(mutate(load("Meeting-01.json")))


def test_file_license_and_the_license_quirk():
    file_01 = parse_file(load("File-01.json"), "Datei")
    assert file_01.license == "http://www.opendefinition.org/licenses/cc-by"
    assert file_01.url == "https://oparl.example.org/files/57737.pdf"
    paper = load("Paper-01.json")
    main = parse_file(paper["mainFile"], "Hauptdatei")
    assert main.license == "http://www.opendefinition.org/licenses/cc-by"  # from "license"
    assert main.size == 82930 and main.sha1 == "d749751af44a32c818b9b1e1515251c67734f5d2"


def test_titles():
    assert notice_title("Ratssitzung", (), False) == "Einladung zur Ratssitzung"
    assert notice_title("Stadtrat Beispielstadt", (), False) == "Einladung: Stadtrat Beispielstadt"
    assert notice_title("", ("Bauausschuss",), False) == "Einladung zur Sitzung – Bauausschuss"
