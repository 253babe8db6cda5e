"""iCalendar (RFC 5545), written by hand: Aushang windows and council meetings.

Aushang windows are all-day events (``DTSTART;VALUE=DATE``, ``DTEND`` exclusive, i.e. the
day after the last day of posting). Meetings have a time (``TZID=Europe/Berlin`` with a
VTIMEZONE) and a LOCATION. Lines end in CRLF and are folded at 75 octets.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from .model import FeedEntry, FeedMeta, MeetingEvent
from .text import clean, metadata_text

BERLIN = ZoneInfo("Europe/Berlin")
PRODID = "-//Aushang//Amtliche Bekanntmachungen//DE"

# EU summer time rule (since 1996): the VTIMEZONE below describes it. Each meeting is
# checked against zoneinfo; should the rule ever change, that event falls back to UTC.
_VTIMEZONE = (
    "BEGIN:VTIMEZONE",
    "TZID:Europe/Berlin",
    "BEGIN:DAYLIGHT",
    "TZOFFSETFROM:+0100",
    "TZOFFSETTO:+0200",
    "TZNAME:CEST",
    "DTSTART:19700329T020000",
    "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU",
    "END:DAYLIGHT",
    "BEGIN:STANDARD",
    "TZOFFSETFROM:+0200",
    "TZOFFSETTO:+0100",
    "TZNAME:CET",
    "DTSTART:19701025T030000",
    "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU",
    "END:STANDARD",
    "END:VTIMEZONE",
)


def escape_text(value: str) -> str:
    """Escape a TEXT value (RFC 5545 3.3.11): backslash, semicolon, comma, newline."""
    value = clean(value).replace("\r\n", "\n").replace("\r", "\n")
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _uri(value: str) -> str:
    # URI values are not TEXT: no backslash escaping, but no line breaks either.
    return clean(value).replace("\n", "").replace("\r", "")


def _param(value: str) -> str:
    """A parameter value, quoted when it holds ``;``, ``:`` or ``,`` (DQUOTE is dropped)."""
    value = clean(value).replace('"', "").replace("\n", " ")
    return f'"{value}"' if any(ch in value for ch in ";:,") else value


def fold(line: str) -> str:
    """Fold one content line at 75 octets without splitting a UTF-8 character (3.1)."""
    data = line.encode("utf-8")
    if len(data) <= 75:
        return line
    parts: list[str] = []
    start = 0
    limit = 75
    while start < len(data):
        end = min(start + limit, len(data))
        # Step back to a character boundary: continuation bytes look like 0b10xxxxxx.
        while end < len(data) and (data[end] & 0xC0) == 0x80:
            end -= 1
        parts.append(data[start:end].decode("utf-8"))
        start = end
        limit = 74  # continuation lines begin with one space
    return "\r\n ".join(parts)


def _utc(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _day(value: date) -> str:
    return value.strftime("%Y%m%d")


def _last_sunday(year: int, month: int) -> date:
    day = date(year, month + 1, 1) - timedelta(days=1) if month < 12 else date(year, 12, 31)
    return day - timedelta(days=(day.weekday() - 6) % 7)


def _rule_offset(instant: datetime) -> timedelta:
    """The UTC offset the VTIMEZONE above gives for an instant."""
    utc = instant.astimezone(UTC)
    begin = datetime.combine(_last_sunday(utc.year, 3), datetime.min.time(), UTC)
    finish = datetime.combine(_last_sunday(utc.year, 10), datetime.min.time(), UTC)
    summer = begin + timedelta(hours=1) <= utc < finish + timedelta(hours=1)
    return timedelta(hours=2 if summer else 1)


def _local_or_utc(name: str, value: datetime) -> tuple[str, bool]:
    """``NAME;TZID=Europe/Berlin:…`` when our VTIMEZONE is right for the instant, else UTC."""
    local = value.astimezone(BERLIN)
    # A local time in the repeated hour of October is ambiguous; readers take its first
    # occurrence (RFC 5545 3.3.5), so the second one can only be written in UTC.
    unambiguous = local.replace(fold=0).utcoffset() == local.utcoffset()
    if unambiguous and local.utcoffset() == _rule_offset(value) and local.year >= 1996:
        return f"{name};TZID=Europe/Berlin:{local.strftime('%Y%m%dT%H%M%S')}", True
    return f"{name}:{_utc(value)}", False


def _window_event(entry: FeedEntry) -> list[str]:
    first_day = entry.posting_start or entry.provided_on
    last_day = entry.posting_end or first_day
    description = clean(entry.summary or entry.title) + "\n\n" + metadata_text(entry)
    description += f"\n{entry.link}"
    lines = [
        "BEGIN:VEVENT",
        f"UID:{escape_text(entry.notice_uri)}",
        f"DTSTAMP:{_utc(entry.updated)}",
        f"LAST-MODIFIED:{_utc(entry.updated)}",
        f"SEQUENCE:{entry.version - 1}",
        f"DTSTART;VALUE=DATE:{_day(first_day)}",
        f"DTEND;VALUE=DATE:{_day(last_day + timedelta(days=1))}",
        f"SUMMARY:{escape_text('Aushang: ' + entry.title)}",
        f"DESCRIPTION:{escape_text(description)}",
        f"CATEGORIES:{escape_text(entry.category)}",
        f"URL:{_uri(entry.link)}",
        "TRANSP:TRANSPARENT",
        # A withdrawn notice keeps its UID: calendars mark the event cancelled.
        "STATUS:CANCELLED" if entry.withdrawn else "STATUS:CONFIRMED",
        "CLASS:PUBLIC",
        f"X-AUSHANG-NOTICE;VALUE=TEXT:{escape_text(entry.notice_number)}",
        f"X-AUSHANG-VERSION-ID;VALUE=TEXT:{escape_text(entry.id)}",
        f"X-AUSHANG-PROVIDED-ON;VALUE=DATE:{_day(entry.provided_on)}",
        f"X-AUSHANG-FILE-NUMBER;VALUE=TEXT:{escape_text(entry.file_number)}",
        f"X-AUSHANG-CONTENT-HASH;VALUE=TEXT:{entry.content_hash}",
    ]
    for enc in entry.enclosures:
        lines.append(f"ATTACH;FMTTYPE={_param(enc.media_type)}:{_uri(enc.url)}")
    lines.append("END:VEVENT")
    return lines


def _meeting_event(meeting: MeetingEvent, stamp: datetime) -> tuple[list[str], bool]:
    summary = meeting.summary
    if meeting.status == "CANCELLED":
        summary = "Abgesagt: " + summary
    start, start_local = _local_or_utc("DTSTART", meeting.start)
    lines = [
        "BEGIN:VEVENT",
        f"UID:{escape_text(meeting.uid)}",
        f"DTSTAMP:{_utc(meeting.last_modified or stamp)}",
        f"SEQUENCE:{meeting.sequence}",
        start,
    ]
    uses_tz = start_local
    if meeting.end is not None:
        end, end_local = _local_or_utc("DTEND", meeting.end)
        lines.append(end)
        uses_tz = uses_tz or end_local
    if meeting.last_modified is not None:
        lines.append(f"LAST-MODIFIED:{_utc(meeting.last_modified)}")
    lines.append(f"SUMMARY:{escape_text(summary)}")
    if meeting.location:
        lines.append(f"LOCATION:{escape_text(meeting.location)}")
    if meeting.description:
        lines.append(f"DESCRIPTION:{escape_text(meeting.description)}")
    if meeting.url:
        lines.append(f"URL:{_uri(meeting.url)}")
    lines += [f"STATUS:{meeting.status}", "CLASS:PUBLIC", "END:VEVENT"]
    return lines, uses_tz


def _current_versions(entries: Iterable[FeedEntry]) -> list[FeedEntry]:
    # One event per notice: a correction updates the event (same UID, higher SEQUENCE).
    newest: dict[str, FeedEntry] = {}
    for entry in entries:
        if entry.posting_start is None:
            continue
        seen = newest.get(entry.notice_uri)
        if seen is None or entry.version > seen.version:
            newest[entry.notice_uri] = entry
    return sorted(newest.values(), key=lambda e: (e.posting_start, e.notice_uri))


def build_ical(
    meta: FeedMeta, entries: Iterable[FeedEntry], meetings: Iterable[MeetingEvent] = ()
) -> bytes:
    """Return an iCalendar document (UTF-8 bytes) with one all-day event per notice window
    (newest version of each notice) and one timed event per meeting."""
    body: list[str] = []
    needs_timezone = False
    for entry in _current_versions(entries):
        body += _window_event(entry)
    for meeting in sorted(meetings, key=lambda m: (m.start, m.uid)):
        lines, uses_tz = _meeting_event(meeting, meta.updated)
        body += lines
        needs_timezone = needs_timezone or uses_tz
    head = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"NAME:{escape_text(meta.title)}",
        f"X-WR-CALNAME:{escape_text(meta.title)}",
        "X-WR-TIMEZONE:Europe/Berlin",
    ]
    if meta.subtitle:
        head.append(f"DESCRIPTION:{escape_text(meta.subtitle)}")
        head.append(f"X-WR-CALDESC:{escape_text(meta.subtitle)}")
    if meta.self_url:
        head.append(f"SOURCE;VALUE=URI:{_uri(meta.self_url)}")
    head.append(f"LAST-MODIFIED:{_utc(meta.updated)}")
    head.append("REFRESH-INTERVAL;VALUE=DURATION:PT1H")
    if needs_timezone:
        head += list(_VTIMEZONE)
    lines = head + body + ["END:VCALENDAR"]
    return ("".join(fold(line) + "\r\n" for line in lines)).encode("utf-8")
