"""Properties of posting windows (L11) over random dates 2020–2035 in Europe/Berlin.

The table-driven tests in test_posting.py pin the DST days by hand; these let
Hypothesis search the whole range for a window that breaks a rule.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from server.domain import posting
from server.domain.errors import ValidationFailed

TZ = "Europe/Berlin"
BERLIN = ZoneInfo(TZ)

days = st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31))
lengths = st.integers(min_value=-5, max_value=130)  # end - start in days
min_days = st.integers(min_value=1, max_value=60)

# The German DST changes of the test period, as explicit examples on every run.
SPRING = date(2027, 3, 28)
AUTUMN = date(2026, 10, 25)


# A window needs at least one day between posting and removal day (the counting
# rule gives -1 counted days for end == start, refused even at a minimum of 0), so
# the shape properties use windows of at least two calendar days.


def _utc_offset(day: date) -> timedelta:
    offset = datetime.combine(day, time(0), tzinfo=BERLIN).utcoffset()
    assert offset is not None
    return offset


@settings(max_examples=300, deadline=None)
@given(start=days, length=lengths, minimum=min_days)
@example(start=AUTUMN, length=8, minimum=7)
@example(start=SPRING - timedelta(days=8), length=8, minimum=7)
@example(start=date(2028, 2, 20), length=9, minimum=8)  # across 29 February
def test_make_window_accepts_exactly_the_windows_long_enough(start, length, minimum):
    end = start + timedelta(days=length)
    long_enough = (end - start).days - 1 >= minimum
    try:
        window = posting.make_window(start, end, min_days=minimum, tz=TZ)
    except ValidationFailed as exc:
        assert not long_enough
        assert "posting_end" in exc.field_errors
        assert exc.status == 422
        return
    assert long_enough
    assert (window.start, window.end) == (start, end)
    assert window.counted_days == length - 1 >= minimum


@settings(max_examples=200, deadline=None)
@given(start=days, minimum=min_days)
def test_the_suggested_earliest_end_is_the_first_that_passes(start, minimum):
    first = posting.earliest_end(start, minimum)
    posting.make_window(start, first, min_days=minimum, tz=TZ)
    with pytest.raises(ValidationFailed) as refused:
        posting.make_window(start, first - timedelta(days=1), min_days=minimum, tz=TZ)
    assert first.strftime("%d.%m.%Y") in refused.value.field_errors["posting_end"]
    assert posting.counted_days(start, first) == minimum


@settings(max_examples=300, deadline=None)
@given(start=days, length=st.integers(min_value=1, max_value=130))
@example(start=AUTUMN, length=1)
@example(start=SPRING, length=1)
@example(start=SPRING - timedelta(days=1), length=1)
def test_window_runs_from_local_midnight_to_local_midnight(start, length):
    end = start + timedelta(days=length)
    window = posting.make_window(start, end, tz=TZ)
    assert window.starts_at.utcoffset() == timedelta(0)
    assert window.ends_at.utcoffset() == timedelta(0)
    local_start = window.starts_at.astimezone(BERLIN)
    local_end = window.ends_at.astimezone(BERLIN)
    assert (local_start.date(), local_start.time()) == (start, time(0))
    assert (local_end.date(), local_end.time()) == (end + timedelta(days=1), time(0))
    # Length: whole local days, plus or minus the DST hour(s) the window crosses.
    calendar_days = length + 1
    drift = _utc_offset(start) - _utc_offset(end + timedelta(days=1))
    assert window.ends_at - window.starts_at == timedelta(days=calendar_days) + drift
    assert abs(drift) <= timedelta(hours=1)


@settings(max_examples=300, deadline=None)
@given(
    start=days,
    length=st.integers(min_value=1, max_value=40),
    probe=st.integers(min_value=-3 * 24 * 60, max_value=46 * 24 * 60),
)
@example(start=AUTUMN, length=1, probe=24 * 60 + 30)  # after the 25-hour day: 23:30 local
@example(start=AUTUMN, length=1, probe=49 * 60)  # 25 + 24 hours: just past the end
@example(start=SPRING, length=1, probe=47 * 60 - 1)  # 23 + 24 hours: the last minute
def test_a_notice_hangs_exactly_on_its_local_days(start, length, probe):
    end = start + timedelta(days=length)
    window = posting.make_window(start, end, tz=TZ)
    # An instant measured in real (UTC) minutes from the local midnight of start.
    instant = window.starts_at + timedelta(minutes=probe)
    on_a_window_day = start <= instant.astimezone(BERLIN).date() <= end
    assert window.contains(instant) is on_a_window_day
    assert posting.local_date(instant, TZ) == instant.astimezone(BERLIN).date()
    phase = posting.phase("released", window.starts_at, window.ends_at, instant)
    if on_a_window_day:
        assert phase is posting.Phase.IN_AUSHANG
    elif instant < window.starts_at:
        assert phase is posting.Phase.SCHEDULED
    else:
        assert phase is posting.Phase.ENDED


@settings(max_examples=200, deadline=None)
@given(start=days, first=st.integers(min_value=1, max_value=60), second=st.integers(1, 60))
def test_consecutive_windows_touch_without_gap_or_overlap(start, first, second):
    a = posting.make_window(start, start + timedelta(days=first), tz=TZ)
    b_start = a.end + timedelta(days=1)
    b = posting.make_window(b_start, b_start + timedelta(days=second), tz=TZ)
    assert a.ends_at == b.starts_at
    assert a.contains(b.starts_at - timedelta(microseconds=1))
    assert not a.contains(b.starts_at) and b.contains(b.starts_at)


@settings(max_examples=100, deadline=None)
@given(start=days, length=st.integers(min_value=1, max_value=10))
def test_end_before_start_is_always_refused(start, length):
    with pytest.raises(ValidationFailed) as refused:
        posting.make_window(start, start - timedelta(days=length), min_days=0, tz=TZ)
    assert "posting_end" in refused.value.field_errors


@settings(max_examples=100, deadline=None)
@given(
    released=st.datetimes(
        min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31), timezones=st.just(UTC)
    ),
    start=days,
)
def test_provided_at_is_never_before_the_window_or_the_release(released, start):
    window = posting.make_window(start, start + timedelta(days=10), tz=TZ)
    provided = posting.provided_at(released, window.starts_at)
    assert provided >= released and provided >= window.starts_at
    assert provided in (released, window.starts_at)
