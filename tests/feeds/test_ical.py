"""iCalendar read back with the icalendar package, plus the RFC 5545 details we promise."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest

from feeds import MeetingEvent, build_ical
from feeds.ical import escape_text, fold

BERLIN = ZoneInfo("Europe/Berlin")


def events(raw: bytes) -> list[icalendar.Event]:
    calendar = icalendar.Calendar.from_ical(raw)
    return list(calendar.walk("VEVENT"))


def meeting(**overrides) -> MeetingEvent:
    values = dict(
        uid="https://oparl.example.org/meeting/281",
        summary="4. Sitzung des Finanzausschusses",
        start=datetime(2026, 3, 12, 18, 0, tzinfo=BERLIN),
        end=datetime(2026, 3, 12, 20, 30, tzinfo=BERLIN),
        location="Rathaus der Beispielstadt, Ratshausplatz 1, 12345 Beispielstadt",
        description="Öffentliche Tagesordnung:\n10.1 Satzungsänderung für Ausschreibungen",
        url="https://aushang.beispielstadt.de/beispielstadt/bekanntmachungen/2026-0010",
        last_modified=datetime(2026, 3, 1, 12, 0, tzinfo=UTC),
    )
    values.update(overrides)
    return MeetingEvent(**values)


def test_window_is_an_all_day_event_with_exclusive_end(meta, make_entry):
    entry = make_entry()
    (event,) = events(build_ical(meta, [entry]))
    assert event.decoded("DTSTART") == date(2026, 3, 2)
    assert event.decoded("DTEND") == date(2026, 3, 17)  # day after the last day of posting
    assert str(event["UID"]) == entry.notice_uri
    assert str(event["SUMMARY"]) == "Aushang: " + entry.title
    assert str(event["URL"]) == entry.link
    assert str(event["X-AUSHANG-FILE-NUMBER"]) == "20.1-0815/2026"
    assert str(event["X-AUSHANG-CONTENT-HASH"]) == entry.content_hash
    description = str(event["DESCRIPTION"])
    assert "Bereitgestellt am: 02.03.2026" in description
    assert "Aushang: 02.03.2026 – 16.03.2026" in description
    assert "Aktenzeichen: 20.1-0815/2026" in description


def test_a_corrected_notice_is_one_event_with_the_newest_version(meta, three_versions):
    (event,) = events(build_ical(meta, three_versions))
    assert int(event["SEQUENCE"]) == 2
    assert str(event["X-AUSHANG-VERSION-ID"]) == three_versions[-1].id


@pytest.mark.parametrize(
    ("start", "utc_hour"),
    [
        (datetime(2026, 10, 25, 1, 30, tzinfo=UTC), 1),  # 02:30 CET after the change
        (datetime(2026, 10, 24, 16, 0, tzinfo=UTC), 16),  # CEST the day before
        (datetime(2027, 3, 28, 9, 0, tzinfo=UTC), 9),  # CEST from 01:00 UTC
        (datetime(2027, 3, 27, 17, 0, tzinfo=UTC), 17),  # CET the evening before
    ],
)
def test_meeting_times_survive_dst_changes(meta, start, utc_hour):
    raw = build_ical(meta, [], [meeting(start=start, end=start + timedelta(hours=2))])
    assert b"BEGIN:VTIMEZONE" in raw and b"TZID=Europe/Berlin" in raw
    (event,) = events(raw)
    parsed = event.decoded("DTSTART")
    assert parsed == start
    assert parsed.astimezone(UTC).hour == utc_hour
    assert event.decoded("DTEND") - parsed == timedelta(hours=2)


def test_meeting_has_place_and_status(meta):
    raw = build_ical(meta, [], [meeting(), meeting(uid="m2", status="CANCELLED", sequence=1)])
    first, second = events(raw)
    assert str(first["LOCATION"]) == meeting().location
    assert str(first["DESCRIPTION"]) == meeting().description
    assert str(first["STATUS"]) == "CONFIRMED"
    assert str(second["STATUS"]) == "CANCELLED"
    assert str(second["SUMMARY"]).startswith("Abgesagt: ")


def test_meetings_before_the_eu_rule_are_written_in_utc(meta):
    old = datetime(1990, 9, 29, 18, 0, tzinfo=UTC)
    raw = build_ical(meta, [], [meeting(start=old, end=None)])
    assert b"DTSTART:19900929T180000Z" in raw
    assert b"BEGIN:VTIMEZONE" not in raw
    (event,) = events(raw)
    assert event.decoded("DTSTART") == old


def test_tricky_text_round_trips(meta, nasty_entry):
    tricky = nasty_entry.title + "\nzweite Zeile; mit, Kommas \\ und Backslash"
    raw = build_ical(
        meta, [nasty_entry], [meeting(summary=tricky, location=tricky, description=tricky)]
    )
    window, timed = events(raw)
    assert str(window["SUMMARY"]) == "Aushang: " + nasty_entry.title
    assert str(window["X-AUSHANG-FILE-NUMBER"]) == nasty_entry.file_number
    assert str(timed["SUMMARY"]) == tricky
    assert str(timed["LOCATION"]) == tricky
    assert str(timed["DESCRIPTION"]) == tricky


def test_lines_are_crlf_and_folded_at_75_octets(meta, nasty_entry, make_entry):
    long_entry = make_entry("2026-0100", title="Ä" * 200, summary="🎉" * 100)
    raw = build_ical(meta, [nasty_entry, long_entry], [meeting()])
    assert raw.endswith(b"END:VCALENDAR\r\n")
    lines = raw.split(b"\r\n")
    assert b"\n" not in b"".join(lines)  # no bare LF anywhere
    assert max(len(line) for line in lines) <= 75
    for line in lines:
        line.decode("utf-8")  # folding never splits a character
    (event,) = [e for e in events(raw) if str(e["UID"]) == long_entry.notice_uri]
    assert str(event["SUMMARY"]) == "Aushang: " + "Ä" * 200


def test_fold_and_escape_units():
    assert fold("A" * 75) == "A" * 75
    folded = fold("B" * 160)
    assert [len(part) for part in folded.split("\r\n")] == [75, 75, 12]
    assert escape_text("a\\b;c,d\ne") == "a\\\\b\\;c\\,d\\ne"


def test_calendar_is_deterministic_and_stamped_from_input(meta, three_versions):
    one = build_ical(meta, three_versions, [meeting(last_modified=None)])
    assert one == build_ical(meta, list(reversed(three_versions)), [meeting(last_modified=None)])
    (_, timed) = events(one)
    assert timed.decoded("DTSTAMP") == meta.updated


def test_calendar_headers(meta):
    calendar = icalendar.Calendar.from_ical(build_ical(meta, []))
    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["PRODID"]).startswith("-//Aushang//")
    assert str(calendar["X-WR-CALNAME"]) == meta.title
    assert str(calendar["METHOD"]) == "PUBLISH"
