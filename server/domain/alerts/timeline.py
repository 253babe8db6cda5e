"""Incident timeline (W14) and the reach of a warning over time (W9), as pure values.

An incident is one warning with its Updates and its Cancel. Its timeline merges what
the server knows (documents received or generated, audit rows of issue, update,
cancel and confirmation, lifecycle ends) with what each display reported
(delivered, drawn).

**Takeover end per display.** The player protocol has no message for "the takeover
left the screen", and none is needed: a display leaves a warning's takeover for
exactly one of three reasons, and each is known here.

1. A successor replaced it (an Update, or the Cancel whose Entwarnung screen now
   shows): the display acknowledged drawing the successor, so the end is that
   acknowledgement's ``shown_at`` — reported by the display (``basis="gemeldet"``).
2. It expired: players drop an expired warning by their own estimate of server time,
   also offline (D5), so the end is ``expires`` (``basis="abgelaufen"``).
3. It ended otherwise (cancelled or withdrawn while the display did not acknowledge a
   successor, e.g. it was offline): the end is the lifecycle end — the moment the
   server stopped handing the warning out (``basis="abgeleitet"``). An offline player
   keeps showing it until it is back; the page says so next to the display state.

The Entwarnung screen of a Cancel ends at ``all_clear_until`` by the same rule as 2.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

REPORTED = "gemeldet"
EXPIRED = "abgelaufen"
DERIVED = "abgeleitet"
BASIS_LABELS = {
    REPORTED: "von der Anzeige gemeldet (Folgemeldung angezeigt)",
    EXPIRED: "Ablauf der Warnung (Anzeige beendet sie selbst)",
    DERIVED: "abgeleitet aus dem Ende der Meldung",
}


@dataclass(frozen=True)
class MessageLife:
    """What the lifecycle says about one message of an incident."""

    msg_type: str  # Alert | Update | Cancel
    ended_at: datetime | None
    end_reason: str | None
    expires: datetime | None
    all_clear_until: datetime | None


@dataclass(frozen=True)
class TakeoverSpan:
    start: datetime
    end: datetime | None  # None: still on screen
    basis: str | None


def takeover_span(
    life: MessageLife, shown_at: datetime, successor_shown_at: datetime | None, now: datetime
) -> TakeoverSpan:
    """When one display showed one message (see the module docstring for the rules)."""
    if life.msg_type == "Cancel":
        until = life.all_clear_until
        if life.ended_at is not None:
            until = min(until, life.ended_at) if until else life.ended_at
        if until is not None and until <= now:
            return TakeoverSpan(shown_at, until, EXPIRED)
        return TakeoverSpan(shown_at, None, None)
    if successor_shown_at is not None and successor_shown_at >= shown_at:
        return TakeoverSpan(shown_at, successor_shown_at, REPORTED)
    if life.end_reason == "expired" or (
        life.ended_at is None and life.expires is not None and life.expires <= now
    ):
        return TakeoverSpan(shown_at, life.expires or life.ended_at, EXPIRED)
    if life.ended_at is not None:
        return TakeoverSpan(shown_at, max(life.ended_at, shown_at), DERIVED)
    return TakeoverSpan(shown_at, None, None)


@dataclass(frozen=True)
class TimelineEvent:
    """One line of the timeline; ``display`` is set for per-display events."""

    at: datetime
    kind: str
    text: str
    message: str = ""  # CAP identifier
    display: str | None = None
    details: tuple[tuple[str, Any], ...] = ()

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "at": self.at.isoformat(),
            "kind": self.kind,
            "text": self.text,
            "message": self.message or None,
            "display": self.display,
        }
        out.update({k: _plain(v) for k, v in self.details})
        return out


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, timedelta):
        return round(value.total_seconds(), 3)
    return value


def build_timeline(events: Iterable[TimelineEvent]) -> list[TimelineEvent]:
    """Events in time order; at the same instant server events before display events."""
    return sorted(events, key=lambda e: (e.at, e.display is not None, e.display or "", e.kind))


# --- reach over time ------------------------------------------------------------------------


@dataclass(frozen=True)
class ReachPoint:
    seconds: float
    reached: int
    at: datetime


@dataclass(frozen=True)
class ReachChart:
    """Displays that drew the warning, over seconds since the server received it.

    Geometry for an inline SVG (``width`` × ``height`` user units, origin top left)
    plus the same data as points for the text table.
    """

    total: int
    points: tuple[ReachPoint, ...]
    span_s: float
    width: int = 600
    height: int = 240
    pad_left: int = 48
    pad_bottom: int = 36
    pad_top: int = 12
    pad_right: int = 16

    @property
    def plot_w(self) -> int:
        return self.width - self.pad_left - self.pad_right

    @property
    def plot_h(self) -> int:
        return self.height - self.pad_top - self.pad_bottom

    def x(self, seconds: float) -> float:
        return round(self.pad_left + self.plot_w * (seconds / self.span_s), 1)

    def y(self, count: float) -> float:
        top = max(self.total, 1)
        return round(self.pad_top + self.plot_h * (1 - count / top), 1)

    @property
    def path(self) -> str:
        """A step line: the count holds until the next display reports."""
        coords = [(self.x(0), self.y(0))]
        reached = 0
        for p in self.points:
            coords.append((self.x(p.seconds), self.y(reached)))
            reached = p.reached
            coords.append((self.x(p.seconds), self.y(reached)))
        coords.append((self.x(self.span_s), self.y(reached)))
        return " ".join(f"{x},{y}" for x, y in coords)

    @property
    def x_ticks(self) -> list[tuple[float, str]]:
        step = _nice_step(self.span_s)
        ticks, t = [], 0.0
        while t <= self.span_s + 1e-9:
            ticks.append((self.x(t), _seconds_label(t)))
            t += step
        return ticks

    @property
    def y_ticks(self) -> list[tuple[float, str]]:
        top = max(self.total, 1)
        step = max(1, -(-top // 4))
        counts = list(range(0, top + 1, step))
        if counts[-1] != top:  # the dashed line of all targets gets its number
            counts.append(top)
        return [(self.y(n), str(n)) for n in counts]

    @property
    def total_y(self) -> float:
        return self.y(self.total)


def _nice_step(span: float) -> float:
    for step in (0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600):
        if span / step <= 6:
            return float(step)
    return float(int(span / 6) + 1)


def _seconds_label(seconds: float) -> str:
    if seconds >= 120 and seconds % 60 == 0:
        return f"{int(seconds // 60)} min"
    text = f"{seconds:.1f}".rstrip("0").rstrip(".")
    return f"{text.replace('.', ',')} s"


def reach_chart(issued_at: datetime, shown: Sequence[datetime], total: int) -> ReachChart:
    """The reach curve from the server's receipt time and each display's ``shown_at``."""
    ordered = sorted(shown)
    points = tuple(
        ReachPoint(max(0.0, (at - issued_at).total_seconds()), n, at)
        for n, at in enumerate(ordered, start=1)
    )
    last = points[-1].seconds if points else 0.0
    span = max(1.0, last * 1.1)
    return ReachChart(total=max(total, len(points)), points=points, span_s=span)
