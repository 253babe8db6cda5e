"""A display's evidence-relevant settings through time (issue 17, build 1).

Whether a display was a legal notice board, a test display, and which categories it
carried decides what an Aushangvermerk says about it. Those flags can change at any
time; evidence must report the state of the time. ``record`` writes a
:class:`~server.models.DisplayState` row whenever they change (called by the display
service in the transaction of the change); ``state_at`` answers "what was this display
at that moment". A display without any row (created before the history existed and
never changed since, or built directly by a test) is taken as it is now.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Display, DisplayState


@dataclass(frozen=True)
class State:
    """What a display was, as far as evidence is concerned."""

    name: str
    location: str
    legal_board: bool
    test_display: bool
    all_categories: bool
    categories: frozenset[int]

    def selects(self, category_id: int) -> bool:
        return self.all_categories or category_id in self.categories


def current(display: Display) -> State:
    return State(
        name=display.name,
        location=display.location,
        legal_board=bool(display.legal_board),
        test_display=bool(display.test_display),
        all_categories=bool(display.all_categories),
        categories=frozenset(c.id for c in display.categories),
    )


def _from_row(row: DisplayState) -> State:
    return State(
        name=row.name,
        location=row.location,
        legal_board=row.legal_board,
        test_display=row.test_display,
        all_categories=row.all_categories,
        categories=frozenset(row.categories),
    )


def history(session: Session, display_id: int) -> list[DisplayState]:
    return list(
        session.scalars(
            select(DisplayState)
            .where(DisplayState.display_id == display_id)
            .order_by(DisplayState.valid_from, DisplayState.id)
        )
    )


def record(session: Session, display: Display, now: datetime) -> DisplayState | None:
    """Write the display's present state from ``now`` on, unless it is unchanged."""
    rows = history(session, display.id)
    state = current(display)
    if rows and _from_row(rows[-1]) == state:
        return None
    row = DisplayState(
        display_id=display.id,
        # The first row covers the display's whole life so far: nothing older is known.
        valid_from=now if rows else (display.enrolled_at or display.created_at or now),
        name=state.name,
        location=state.location,
        legal_board=state.legal_board,
        test_display=state.test_display,
        all_categories=state.all_categories,
        category_ids=json.dumps(sorted(state.categories)),
    )
    if rows and row.valid_from < rows[-1].valid_from:
        row.valid_from = rows[-1].valid_from
    session.add(row)
    session.flush()
    return row


def states_between(
    session: Session, display: Display, start: datetime, end: datetime
) -> list[State]:
    """Every state the display had at some moment in ``[start, end)``: the one in force
    at ``start`` and each that began before ``end``."""
    rows = history(session, display.id)
    if not rows:
        return [current(display)]
    before = [r for r in rows if r.valid_from <= start]
    during = [r for r in rows if start < r.valid_from < end]
    chosen = ([before[-1]] if before else [rows[0]]) + during
    return [_from_row(r) for r in chosen]


def state_at(session: Session, display: Display, at: datetime) -> State:
    """The display's state at ``at`` (its first known state for an earlier moment)."""
    rows = history(session, display.id)
    if not rows:
        return current(display)
    before = [r for r in rows if r.valid_from <= at]
    return _from_row(before[-1] if before else rows[0])
