"""Posting windows (Aushangfrist), minimum periods and effective dates (L4, L11, L12).

A window is entered as two local dates of the tenant's time zone, both inclusive: a
notice "ausgehängt vom 01.03. bis 15.03." hangs from local midnight at the start of
01.03. to local midnight at the end of 15.03., whatever the DST offset on either day.

Counting rule (L11): the day of posting and the day of removal are not counted, so a
minimum period of N days needs ``(end - start).days - 1 >= N``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from .errors import ValidationFailed

DEFAULT_TZ = "Europe/Berlin"


class Phase(StrEnum):
    """Where a notice stands; derived, never stored."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    SCHEDULED = "scheduled"  # released, window not open yet
    IN_AUSHANG = "in_aushang"
    ENDED = "ended"
    WITHDRAWN = "withdrawn"


PHASE_LABELS = {
    Phase.DRAFT: "Entwurf",
    Phase.SUBMITTED: "Zur Freigabe vorgelegt",
    Phase.SCHEDULED: "Freigegeben, Aushang beginnt später",
    Phase.IN_AUSHANG: "Im Aushang",
    Phase.ENDED: "Aushang beendet",
    Phase.WITHDRAWN: "Zurückgezogen",
}


@dataclass(frozen=True)
class PostingWindow:
    """An Aushangfrist as inclusive local dates plus the UTC instants they mean."""

    start: date
    end: date
    starts_at: datetime
    ends_at: datetime

    @property
    def counted_days(self) -> int:
        """Days that count towards the minimum period (first and last day excluded)."""
        return counted_days(self.start, self.end)

    def contains(self, now: datetime) -> bool:
        """True while the notice hangs: ``starts_at <= now < ends_at``."""
        return self.starts_at <= now < self.ends_at


def local_midnight(day: date, tz: str = DEFAULT_TZ) -> datetime:
    """The UTC instant of local midnight at the start of ``day`` in ``tz``.

    zoneinfo resolves the wall time with the offset valid on that day, so 2026-10-25
    (UTC+2 → UTC+1) and 2027-03-28 (UTC+1 → UTC+2) are both handled: midnight itself is
    never in a DST gap or fold in Germany.
    """
    return datetime.combine(day, time(0, 0), tzinfo=ZoneInfo(tz)).astimezone(UTC)


def counted_days(start: date, end: date) -> int:
    """Days between posting and removal, neither counted (L11)."""
    return (end - start).days - 1


def earliest_end(start: date, min_days: int) -> date:
    """The earliest removal day that satisfies a minimum period of ``min_days``."""
    return start + timedelta(days=min_days + 1)


def make_window(
    start: date | None, end: date | None, *, min_days: int = 0, tz: str = DEFAULT_TZ
) -> PostingWindow:
    """Validate and build a window. Raises ValidationFailed naming the fields."""
    errors: dict[str, str] = {}
    if start is None:
        errors["posting_start"] = "Bitte den ersten Tag des Aushangs angeben."
    if end is None:
        errors["posting_end"] = "Bitte den letzten Tag des Aushangs angeben."
    if errors:
        raise ValidationFailed("Die Aushangfrist ist unvollständig.", errors)
    assert start is not None and end is not None
    if end < start:
        raise ValidationFailed(
            "Das Ende der Aushangfrist liegt vor ihrem Beginn.",
            {"posting_end": "Das Ende darf nicht vor dem Beginn liegen."},
        )
    if counted_days(start, end) < min_days:
        first_ok = earliest_end(start, min_days)
        raise ValidationFailed(
            f"Die Aushangfrist ist kürzer als die Mindestfrist von {min_days} Tagen.",
            {
                "posting_end": (
                    f"Mindestfrist {min_days} Tage (Tag des Aushangs und der Abnahme "
                    f"zählen nicht mit): frühestens bis {first_ok:%d.%m.%Y}."
                )
            },
        )
    return PostingWindow(
        start=start,
        end=end,
        starts_at=local_midnight(start, tz),
        ends_at=local_midnight(end + timedelta(days=1), tz),
    )


def phase(
    status: str,
    starts_at: datetime | None,
    ends_at: datetime | None,
    now: datetime,
) -> Phase:
    """The phase of a notice from its stored status, its window and ``now``."""
    if status == "withdrawn":
        return Phase.WITHDRAWN
    if status == "draft":
        return Phase.DRAFT
    if status == "submitted":
        return Phase.SUBMITTED
    if starts_at is None or ends_at is None:
        return Phase.SCHEDULED
    if now < starts_at:
        return Phase.SCHEDULED
    if now < ends_at:
        return Phase.IN_AUSHANG
    return Phase.ENDED


def provided_at(released_at: datetime, starts_at: datetime) -> datetime:
    """The Bereitstellung: when the notice first appears online (L4).

    A notice released before its window opens goes online when the window opens.
    """
    return max(released_at, starts_at)


def to_local(value: datetime, tz: str = DEFAULT_TZ) -> datetime:
    """An aware datetime in the tenant's zone, for display only."""
    return value.astimezone(ZoneInfo(tz))


def local_date(value: datetime, tz: str = DEFAULT_TZ) -> date:
    """The local calendar day of an instant."""
    return to_local(value, tz).date()


def effective_dates(
    binding_kinds: list[str],
    *,
    provided_on: date | None,
    posting_end: date | None,
    amtsblatt_issue: date | None = None,
) -> tuple[dict[str, date | None], date | None]:
    """When a notice is "bewirkt", per binding channel and overall (L12).

    Internet: the Bereitstellungstag. Aushang (board, incl. digital displays): the last
    day of the Aushangfrist. Amtsblatt/newspaper: the day of issue, if known. With
    several binding forms the latest counts; ``None`` while a date is still unknown.
    """
    per_channel: dict[str, date | None] = {}
    for kind in binding_kinds:
        if kind == "internet":
            per_channel[kind] = provided_on
        elif kind == "board":
            per_channel[kind] = posting_end
        elif kind in ("amtsblatt", "newspaper"):
            per_channel[kind] = amtsblatt_issue
    if not per_channel or any(v is None for v in per_channel.values()):
        return per_channel, None
    return per_channel, max(v for v in per_channel.values() if v is not None)


def utcnow() -> datetime:
    """The one place the edges ask for the time; domain code receives it."""
    return datetime.now(UTC)
