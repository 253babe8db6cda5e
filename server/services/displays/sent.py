"""What the server actually sent each display: the truth that evidence is checked against.

A heartbeat naming a notice on screen, a proof-of-play event and a warning's
acknowledgement are legal evidence (L16, D1). A player could name anything, so each
counts only for content the server sent *that* display: a notice version or a warning
that was in a manifest answered to it. ``display_sent`` keeps one row per item and
stretch of time: from the first manifest answer that carried it to the first answer
that no longer did. While a display is offline no answer reaches it, so the stretch
stays open: an offline player that keeps showing its cached notice and reports the
plays later is telling the truth (the Aushang window in the evidence still cuts them
at the notice's end or withdrawal).

The decision for "at that time": a claim for moment ``at`` (a heartbeat's receipt, a
play event's ``shown_at``, an acknowledgement's ``delivered_at``) counts if the item
was in the display's current manifest (for moments near now: the record of an answer
is written just after the answer went out), or a recorded stretch covers ``at`` with
``GRACE`` either side (the player's clock may be a little off; a slide on screen
finishes after the manifest without it arrived).

Recording costs nothing on the fan-out of a warning: the player API writes the record
once the answer has gone out (``Response.call_on_close``), in a group commit, and only
when the display's set of items changed.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import Connection, bindparam, select, update
from sqlalchemy.orm import Session

from ...models import Display, SentItem
from .. import audit

log = logging.getLogger("aushang.displays.sent")

GRACE = timedelta(minutes=2)
_NOTICE_ITEM_RE = re.compile(r"^notice-([0-9]{1,18})-v([0-9]{1,9})(?![0-9])")


class Ref(NamedTuple):
    """One item of a manifest as evidence names it."""

    kind: str  # notice | alert
    ref_id: int
    version: int | None = None
    version_hash: str | None = None


def notice_claim(item_id: str | None) -> tuple[int, int] | None:
    """(notice id, version number) named by a manifest item id ``notice-<id>-v<n>…``;
    None for anything else (mixed-in content is not evidence)."""
    match = _NOTICE_ITEM_RE.match(item_id or "")
    return (int(match.group(1)), int(match.group(2))) if match else None


class SentLog:
    """Per application: the set of items last recorded as sent to each display by this
    process, so an unchanged manifest (every 304) writes nothing."""

    def __init__(self, limit: int = 100_000) -> None:
        self._known: dict[int, frozenset[Ref]] = {}
        self._lock = threading.Lock()
        self.limit = limit

    def known(self, display_id: int) -> frozenset[Ref] | None:
        return self._known.get(display_id)

    def remember(self, display_id: int, refs: frozenset[Ref]) -> None:
        with self._lock:
            if len(self._known) >= self.limit:
                self._known.clear()
            self._known[display_id] = refs

    def forget(self, display_id: int) -> None:
        with self._lock:
            self._known.pop(display_id, None)

    def clear(self) -> None:
        with self._lock:
            self._known.clear()


@dataclass(frozen=True)
class Sending:
    """A manifest answered to one display: what it carried, and when."""

    display_id: int
    refs: frozenset[Ref]
    at: datetime


def record_sent(conn: Connection, sendings: Sequence[Sending]) -> list[None]:
    """Close the stretches of items a display no longer got and open those it got anew
    (one read and at most two writes for a whole batch). Displays deleted meanwhile
    are skipped."""
    table = SentItem.__table__
    ids = sorted({s.display_id for s in sendings})
    existing = set(
        conn.execute(select(Display.__table__.c.id).where(Display.__table__.c.id.in_(ids)))
        .scalars()
        .all()
    )
    state: dict[int, dict[Ref, Any]] = {i: {} for i in existing}
    for row in conn.execute(
        select(
            table.c.id,
            table.c.display_id,
            table.c.kind,
            table.c.ref_id,
            table.c.version,
            table.c.version_hash,
        ).where(table.c.display_id.in_(existing or {-1}), table.c.sent_until.is_(None))
    ):
        ref = Ref(row.kind, int(row.ref_id), row.version, row.version_hash)
        state[row.display_id][ref] = row.id
    to_close: dict[int, datetime] = {}
    to_insert: list[dict[str, Any]] = []
    for sending in sendings:
        if sending.display_id not in state:
            continue
        current = state[sending.display_id]
        for ref, held in list(current.items()):
            if ref not in sending.refs:
                if isinstance(held, dict):  # opened in this batch
                    held["sent_until"] = sending.at
                else:
                    to_close[held] = sending.at
                del current[ref]
        for ref in sending.refs - current.keys():
            new = {
                "display_id": sending.display_id,
                "kind": ref.kind,
                "ref_id": ref.ref_id,
                "version": ref.version,
                "version_hash": ref.version_hash,
                "sent_from": sending.at,
                "sent_until": None,
            }
            to_insert.append(new)
            current[ref] = new
    if to_close:
        conn.execute(
            update(table)
            .where(table.c.id == bindparam("row_id"))
            .values(sent_until=bindparam("at")),
            [{"row_id": i, "at": at} for i, at in to_close.items()],
        )
    if to_insert:
        conn.execute(table.insert(), to_insert)
    return [None] * len(sendings)


class Truth:
    """What the server sent one display, for checking the claims of one request."""

    def __init__(
        self, session: Session, display_id: int, current: frozenset[Ref], now: datetime
    ) -> None:
        self.session = session
        self.display_id = display_id
        self.current = current
        self.now = now
        self._rows: dict[tuple[str, int], list[SentItem]] = {}
        self.rejected: list[str] = []  # the claims that did not hold, for the flag

    def preload(self, kind: str, ref_ids: set[int]) -> None:
        """Read the recorded stretches of many items in one query."""
        wanted = {i for i in ref_ids if (kind, i) not in self._rows}
        if not wanted:
            return
        for i in wanted:
            self._rows[(kind, i)] = []
        for row in self.session.scalars(
            select(SentItem).where(
                SentItem.display_id == self.display_id,
                SentItem.kind == kind,
                SentItem.ref_id.in_(wanted),
            )
        ):
            self._rows[(kind, int(row.ref_id))].append(row)

    def sent(
        self,
        kind: str,
        ref_id: int,
        at: datetime,
        *,
        version: int | None = None,
        version_hash: str | None = None,
    ) -> bool:
        """Was this item (this version, if given) sent to the display at ``at``?"""

        def matches(ref_version: int | None, ref_hash: str | None) -> bool:
            return (version is None or ref_version == version) and (
                version_hash is None or ref_hash == version_hash
            )

        if abs(self.now - at) <= GRACE and any(
            r.kind == kind and r.ref_id == ref_id and matches(r.version, r.version_hash)
            for r in self.current
        ):
            return True
        self.preload(kind, {ref_id})
        return any(
            matches(row.version, row.version_hash)
            and row.sent_from - GRACE <= at
            and (row.sent_until is None or at <= row.sent_until + GRACE)
            for row in self._rows[(kind, ref_id)]
        )


def flag_suspicious(
    session: Session, display_id: int, tenant_id: int, reason: str, now: datetime
) -> bool:
    """Mark the display as suspicious the first time it claims content it was never
    sent: one log line and one audit row then, none for every later forged request.
    True if this call set the flag."""
    result = session.execute(
        update(Display)
        .where(Display.id == display_id, Display.suspicious_at.is_(None))
        .values(suspicious_at=now, suspicious_reason=reason[:500])
        .execution_options(synchronize_session=False)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        return False
    log.warning("event=display_suspicious display=%s reason=%r", display_id, reason)
    audit.record(
        session,
        now=now,
        action="display.suspicious",
        object_type="display",
        object_id=display_id,
        actor="player",
        tenant_id=tenant_id,
        details={"reason": reason},
    )
    return True


def clear_suspicious(session: Session, display: Display, user: Any, now: datetime) -> None:
    """Staff checked the device: clear the flag (audited)."""
    reason = display.suspicious_reason
    display.suspicious_at = None
    display.suspicious_reason = None
    session.flush()
    audit.record(
        session,
        now=now,
        action="display.suspicious_cleared",
        object_type="display",
        object_id=display.id,
        actor=user,
        tenant_id=display.tenant_id,
        details={"reason": reason},
    )
