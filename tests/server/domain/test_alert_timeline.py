"""The pure parts of the incident timeline: takeover spans and the reach chart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from server.domain.alerts.timeline import (
    DERIVED,
    EXPIRED,
    REPORTED,
    MessageLife,
    TimelineEvent,
    build_timeline,
    reach_chart,
    takeover_span,
)

T = datetime(2026, 9, 10, 9, 0, tzinfo=UTC)


def life(**kw):
    base = dict(
        msg_type="Alert", ended_at=None, end_reason=None, expires=None, all_clear_until=None
    )
    return MessageLife(**{**base, **kw})


def test_running_takeover_has_no_end():
    span = takeover_span(life(), T, None, T + timedelta(hours=1))
    assert (span.end, span.basis) == (None, None)


def test_successor_drawn_on_the_display_ends_it_as_reported():
    span = takeover_span(
        life(ended_at=T + timedelta(minutes=5), end_reason="cancelled"),
        T,
        T + timedelta(minutes=5, seconds=1),
        T + timedelta(hours=1),
    )
    assert (span.end, span.basis) == (T + timedelta(minutes=5, seconds=1), REPORTED)


def test_cancel_without_report_is_derived_from_the_lifecycle():
    span = takeover_span(
        life(ended_at=T + timedelta(minutes=5), end_reason="cancelled"), T, None, T + timedelta(1)
    )
    assert (span.end, span.basis) == (T + timedelta(minutes=5), DERIVED)


def test_expiry_ends_it_even_before_the_tick_job_ran():
    expires = T + timedelta(minutes=30)
    span = takeover_span(life(expires=expires), T, None, T + timedelta(hours=1))
    assert (span.end, span.basis) == (expires, EXPIRED)
    ended = takeover_span(life(expires=expires, ended_at=expires, end_reason="expired"), T, None, T)
    assert ended.end == expires


def test_entwarnung_screen_ends_at_its_time():
    until = T + timedelta(minutes=15)
    cancel = life(msg_type="Cancel", all_clear_until=until)
    assert takeover_span(cancel, T, None, T + timedelta(minutes=1)).end is None
    assert takeover_span(cancel, T, None, until).end == until


def test_reach_chart_is_a_step_line_over_seconds():
    shown = [T + timedelta(seconds=0.8), T + timedelta(seconds=0.2)]
    chart = reach_chart(T, shown, total=3)
    assert [(p.seconds, p.reached) for p in chart.points] == [(0.2, 1), (0.8, 2)]
    assert chart.span_s == 1.0  # at least one second wide
    coords = [tuple(map(float, c.split(","))) for c in chart.path.split()]
    assert coords[0] == (chart.x(0), chart.y(0)) and coords[-1] == (chart.x(1.0), chart.y(2))
    assert all(chart.pad_left <= x <= chart.width - chart.pad_right for x, _ in coords)
    assert [label for _, label in chart.y_ticks] == ["0", "1", "2", "3"]
    assert chart.x_ticks[0][1] == "0 s"
    assert [label for _, label in reach_chart(T, shown, total=7).y_ticks] == [
        "0", "2", "4", "6", "7"
    ]  # fmt: skip


def test_empty_chart_and_timeline_order():
    chart = reach_chart(T, [], total=0)
    assert chart.points == () and chart.total == 0 and chart.path
    events = build_timeline(
        [
            TimelineEvent(T, "display.takeover_start", "a", display="X"),
            TimelineEvent(T, "alert.issue", "b"),
            TimelineEvent(T - timedelta(seconds=1), "document.generated", "c"),
        ]
    )
    assert [e.kind for e in events] == [
        "document.generated",
        "alert.issue",
        "display.takeover_start",
    ]
    assert events[0].as_json()["at"] == "2026-09-10T08:59:59+00:00"
