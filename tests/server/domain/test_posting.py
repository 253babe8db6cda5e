from datetime import UTC, date, datetime

import pytest

from server.domain import posting
from server.domain.errors import ValidationFailed

BERLIN = "Europe/Berlin"


@pytest.mark.parametrize(
    ("start", "end", "starts_utc", "ends_utc"),
    [
        # Winter time both ends: UTC+1.
        (
            date(2026, 12, 1),
            date(2026, 12, 15),
            datetime(2026, 11, 30, 23, tzinfo=UTC),
            datetime(2026, 12, 15, 23, tzinfo=UTC),
        ),
        # Ends on the day clocks go back (2026-10-25): still local midnight to midnight.
        (
            date(2026, 10, 10),
            date(2026, 10, 25),
            datetime(2026, 10, 9, 22, tzinfo=UTC),
            datetime(2026, 10, 25, 23, tzinfo=UTC),
        ),
        # Starts on the day clocks go back: the first day lasts 25 hours.
        (
            date(2026, 10, 25),
            date(2026, 11, 5),
            datetime(2026, 10, 24, 22, tzinfo=UTC),
            datetime(2026, 11, 5, 23, tzinfo=UTC),
        ),
        # Spans the spring change 2027-03-28 (the day has 23 hours).
        (
            date(2027, 3, 20),
            date(2027, 3, 28),
            datetime(2027, 3, 19, 23, tzinfo=UTC),
            datetime(2027, 3, 28, 22, tzinfo=UTC),
        ),
        (
            date(2027, 3, 28),
            date(2027, 4, 10),
            datetime(2027, 3, 27, 23, tzinfo=UTC),
            datetime(2027, 4, 10, 22, tzinfo=UTC),
        ),
        # Month end and leap day.
        (
            date(2028, 2, 20),
            date(2028, 2, 29),
            datetime(2028, 2, 19, 23, tzinfo=UTC),
            datetime(2028, 2, 29, 23, tzinfo=UTC),
        ),
        (
            date(2026, 1, 31),
            date(2026, 2, 28),
            datetime(2026, 1, 30, 23, tzinfo=UTC),
            datetime(2026, 2, 28, 23, tzinfo=UTC),
        ),
    ],
)
def test_window_is_local_midnight_to_midnight(start, end, starts_utc, ends_utc):
    w = posting.make_window(start, end, tz=BERLIN)
    assert (w.starts_at, w.ends_at) == (starts_utc, ends_utc)


@pytest.mark.parametrize(
    ("start", "min_days", "earliest_ok"),
    [
        (date(2026, 3, 1), 7, date(2026, 3, 9)),
        (date(2026, 10, 20), 7, date(2026, 10, 28)),  # across 2026-10-25
        (date(2027, 3, 25), 7, date(2027, 4, 2)),  # across 2027-03-28
        (date(2028, 2, 22), 7, date(2028, 3, 1)),  # 29 February counts as a day
        (date(2027, 2, 22), 7, date(2027, 3, 2)),  # no leap day
        (date(2026, 1, 31), 30, date(2026, 3, 3)),  # Bauleitplanung, month ends
        (date(2026, 12, 20), 14, date(2027, 1, 4)),  # year end
    ],
)
def test_minimum_period_excludes_posting_and_removal_day(start, min_days, earliest_ok):
    assert posting.earliest_end(start, min_days) == earliest_ok
    posting.make_window(start, earliest_ok, min_days=min_days, tz=BERLIN)
    with pytest.raises(ValidationFailed) as exc:
        posting.make_window(start, date.fromordinal(earliest_ok.toordinal() - 1), min_days=min_days)
    assert "posting_end" in exc.value.field_errors
    assert earliest_ok.strftime("%d.%m.%Y") in exc.value.field_errors["posting_end"]


def test_end_before_start_and_missing_dates_are_named():
    with pytest.raises(ValidationFailed) as exc:
        posting.make_window(date(2026, 3, 10), date(2026, 3, 1))
    assert "posting_end" in exc.value.field_errors
    with pytest.raises(ValidationFailed) as exc:
        posting.make_window(None, None)
    assert set(exc.value.field_errors) == {"posting_start", "posting_end"}


def test_phase_follows_window_and_now():
    w = posting.make_window(date(2026, 10, 20), date(2026, 10, 25), tz=BERLIN)
    before = datetime(2026, 10, 19, 21, 59, tzinfo=UTC)
    first = datetime(2026, 10, 19, 22, 0, tzinfo=UTC)
    last_minute = datetime(2026, 10, 25, 22, 59, tzinfo=UTC)
    after = datetime(2026, 10, 25, 23, 0, tzinfo=UTC)
    assert posting.phase("released", w.starts_at, w.ends_at, before) is posting.Phase.SCHEDULED
    assert posting.phase("released", w.starts_at, w.ends_at, first) is posting.Phase.IN_AUSHANG
    assert (
        posting.phase("released", w.starts_at, w.ends_at, last_minute) is posting.Phase.IN_AUSHANG
    )
    assert posting.phase("released", w.starts_at, w.ends_at, after) is posting.Phase.ENDED
    assert posting.phase("withdrawn", w.starts_at, w.ends_at, first) is posting.Phase.WITHDRAWN


@pytest.mark.parametrize(
    ("kinds", "provided", "end", "issue", "expected"),
    [
        (["internet"], date(2026, 3, 2), date(2026, 3, 20), None, date(2026, 3, 2)),
        (["board"], date(2026, 3, 2), date(2026, 3, 20), None, date(2026, 3, 20)),
        (["internet", "board"], date(2026, 3, 2), date(2026, 3, 20), None, date(2026, 3, 20)),
        (
            ["internet", "amtsblatt"],
            date(2026, 3, 2),
            date(2026, 3, 20),
            date(2026, 3, 25),
            date(2026, 3, 25),
        ),
        (["internet", "amtsblatt"], date(2026, 3, 2), date(2026, 3, 20), None, None),
        (["internet"], None, date(2026, 3, 20), None, None),
    ],
)
def test_effective_date_per_channel_is_the_latest(kinds, provided, end, issue, expected):
    per_channel, overall = posting.effective_dates(
        kinds, provided_on=provided, posting_end=end, amtsblatt_issue=issue
    )
    assert overall == expected
    assert set(per_channel) == set(kinds)


def test_provided_at_waits_for_the_window():
    released = datetime(2026, 3, 1, 10, tzinfo=UTC)
    starts = datetime(2026, 3, 4, 23, tzinfo=UTC)
    assert posting.provided_at(released, starts) == starts
    assert posting.provided_at(starts, released) == starts
