"""The observed cycle (issue 16): how long a display really took to come round to each
notice again, from its proof of play, beside the estimate that guards D3 on saving.

The estimate counts pages from text metrics; the kiosk pages by its real layout in the
display's orientation, and each time it shows a notice the player reports it (proof of
play). The longest time between two shows of the same notice slide is the cycle a
passer-by sees. Gaps longer than ``IGNORE_GAPS_OVER`` are the screen's off hours or an
outage (reported as such, D2), not the rotation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...models import Display, PlayEvent

WINDOW = timedelta(hours=2)
IGNORE_GAPS_OVER = timedelta(minutes=30)


@dataclass(frozen=True)
class ObservedCycle:
    seconds: int  # the longest time between two shows of one notice slide
    item_id: str  # the slide it was observed for
    plays: int  # proof-of-play events looked at


def observed_cycle(session: Session, display: Display, now: datetime) -> ObservedCycle | None:
    """The longest observed cycle in the last ``WINDOW``; None without two shows of one."""
    rows = session.execute(
        select(PlayEvent.item_id, PlayEvent.at)
        .where(
            PlayEvent.display_id == display.id,
            PlayEvent.kind == "play",
            PlayEvent.notice_id.is_not(None),
            PlayEvent.at > now - WINDOW,
            PlayEvent.at <= now,
        )
        .order_by(PlayEvent.item_id, PlayEvent.at)
    ).all()
    longest: tuple[timedelta, str] | None = None
    for (item, at), (next_item, next_at) in zip(rows, rows[1:], strict=False):
        if item != next_item or item is None:
            continue
        gap = next_at - at
        if gap <= IGNORE_GAPS_OVER and (longest is None or gap > longest[0]):
            longest = (gap, item)
    if longest is None:
        return None
    return ObservedCycle(int(longest[0].total_seconds()), longest[1], len(rows))
