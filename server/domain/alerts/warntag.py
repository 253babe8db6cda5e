"""The Warntag report (W15): which displays showed a test warning, and when.

Pure: the report is built from plain delivery rows (display name, location, delivered
at, shown at, latency), so it does not depend on how deliveries are stored. The
national Warntag is the second Thursday of September: warning at 11:00, all-clear at
11:45 (local time). Messages of that day are sent as ``Actual`` by MoWaS, so besides
``status`` Exercise/Test a message counts as a test if it is sent on the Warntag
around 11:00 and calls itself a Probewarnung/Warntag/Test.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

TEST_STATUSES = ("Exercise", "Test")
WARNTAG_FROM = time(10, 45)
WARNTAG_UNTIL = time(12, 0)  # the all-clear at 11:45 belongs to the test as well
_WARNTAG_WORDS = re.compile(r"warntag|probewarnung|probealarm|\btest", re.IGNORECASE)


def warntag_date(year: int) -> date:
    """The national Warntag of ``year``: the second Thursday of September."""
    first = date(year, 9, 1)
    first_thursday = first + timedelta(days=(3 - first.weekday()) % 7)
    return first_thursday + timedelta(days=7)


def is_warntag_message(sent: datetime, texts: Iterable[str], tz: str = "Europe/Berlin") -> bool:
    """Sent on the Warntag between 10:45 and 12:00 local time and named as a test."""
    local = sent.astimezone(ZoneInfo(tz))
    if local.date() != warntag_date(local.year):
        return False
    if not WARNTAG_FROM <= local.time() < WARNTAG_UNTIL:
        return False
    return any(_WARNTAG_WORDS.search(t or "") for t in texts)


def is_test_alert(
    status: str, sent: datetime, texts: Iterable[str], tz: str = "Europe/Berlin"
) -> bool:
    """True for Exercise/Test messages and for the national Warntag pattern."""
    return status in TEST_STATUSES or is_warntag_message(sent, texts, tz)


@dataclass(frozen=True)
class DeliveryRow:
    """One target display's delivery of one message, as the display side records it."""

    display: str
    location: str
    delivered_at: datetime | None
    shown_at: datetime | None
    latency: timedelta | None = None  # trigger to shown; derived from shown_at if None


@dataclass(frozen=True)
class ReportRow:
    display: str
    location: str
    delivered_at: datetime | None
    shown_at: datetime | None
    latency: timedelta | None

    @property
    def state(self) -> str:
        if self.shown_at is not None:
            return "angezeigt"
        if self.delivered_at is not None:
            return "zugestellt, nicht angezeigt"
        return "nicht erreicht"


def _percentile(values: Sequence[timedelta], share: float) -> timedelta | None:
    """Nearest-rank percentile."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class WarntagReport:
    """Per display: delivered at, shown at, latency; and a summary."""

    identifier: str
    headline: str
    status: str
    is_test: bool
    issued_at: datetime
    rows: tuple[ReportRow, ...]

    @property
    def total(self) -> int:
        return len(self.rows)

    @property
    def delivered(self) -> int:
        return sum(1 for r in self.rows if r.delivered_at is not None)

    @property
    def shown(self) -> int:
        return sum(1 for r in self.rows if r.shown_at is not None)

    @property
    def not_reached(self) -> tuple[ReportRow, ...]:
        return tuple(r for r in self.rows if r.shown_at is None)

    def _latencies(self) -> list[timedelta]:
        return [r.latency for r in self.rows if r.latency is not None]

    @property
    def latency_median(self) -> timedelta | None:
        return _percentile(self._latencies(), 0.5)

    @property
    def latency_p99(self) -> timedelta | None:
        return _percentile(self._latencies(), 0.99)

    @property
    def latency_max(self) -> timedelta | None:
        values = self._latencies()
        return max(values) if values else None

    def as_json(self) -> dict[str, Any]:
        """Stable field names; times as ISO 8601 with offset, latencies in seconds."""

        def iso(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        def secs(value: timedelta | None) -> float | None:
            return round(value.total_seconds(), 3) if value is not None else None

        return {
            "identifier": self.identifier,
            "headline": self.headline,
            "status": self.status,
            "isTest": self.is_test,
            "issuedAt": iso(self.issued_at),
            "summary": {
                "displays": self.total,
                "delivered": self.delivered,
                "shown": self.shown,
                "notReached": len(self.not_reached),
                "latencyMedianSeconds": secs(self.latency_median),
                "latencyP99Seconds": secs(self.latency_p99),
                "latencyMaxSeconds": secs(self.latency_max),
            },
            "displays": [
                {
                    "display": r.display,
                    "location": r.location,
                    "deliveredAt": iso(r.delivered_at),
                    "shownAt": iso(r.shown_at),
                    "latencySeconds": secs(r.latency),
                    "state": r.state,
                }
                for r in self.rows
            ],
        }


def build_report(
    *,
    identifier: str,
    headline: str,
    status: str,
    is_test: bool,
    issued_at: datetime,
    rows: Iterable[DeliveryRow],
) -> WarntagReport:
    """The report; displays that never showed the message come first, then by latency."""
    out = []
    for row in rows:
        latency = row.latency
        if latency is None and row.shown_at is not None:
            latency = row.shown_at - issued_at
        out.append(ReportRow(row.display, row.location, row.delivered_at, row.shown_at, latency))
    out.sort(
        key=lambda r: (
            r.shown_at is not None,
            r.delivered_at is not None,
            r.latency if r.latency is not None else timedelta.max,
            r.display,
        )
    )
    return WarntagReport(identifier, headline, status, is_test, issued_at, tuple(out))
