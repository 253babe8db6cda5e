"""The publisher: unsent outbox rows → messages on channels → the push engine.

One per installation. On PostgreSQL an advisory lock keeps it so across hosts (a second
one waits for the lock and takes over when the first dies); it wakes on the NOTIFY the
changing transaction sends and reads the outbox at least every second anyway. On SQLite
it runs as a thread of the development server and wakes on ``server.push.wakeup``.

Messages carry state, not deltas: ``state`` tells the displays of a channel to fetch
their snapshot (spread over ``fetch_within_s`` so 2,000 screens do not ask in the same
millisecond); ``warnings`` carries the finished warnings list of a place, so the screen
changes without a second round trip. Sending one twice is harmless: the player draws a
list it already shows once. Message numbers are committed before the publish: a crash
in between leaves a gap, which the player answers with a snapshot, never a number used
twice for different messages.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from .. import notify
from ..models import Display, PushChannel, PushOutbox, Tenant
from . import wakeup
from .channels import tenant_channel, warnings_channel
from .engines import Engine, PublishFailed

log = logging.getLogger("aushang.push")

LOCK_KEY = 0x41555348  # "AUSH": pg_advisory_lock key of the one publisher
BATCH = 500


def _next_seq(session: Session, channel: str) -> int:
    table = PushChannel.__table__
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    stmt = insert(table).values(channel=channel, seq=1)
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.channel], set_={"seq": table.c.seq + 1}
    )
    session.execute(stmt)
    return int(session.execute(select(table.c.seq).where(table.c.channel == channel)).scalar_one())


def places(session: Session) -> list[tuple[int, str, bool]]:
    """(tenant, place ARS, test display) of every enrolled display, once each."""
    place = func.coalesce(func.nullif(Display.ars, ""), Tenant.ars)
    rows = session.execute(
        select(Display.tenant_id, place, Display.test_display)
        .join(Tenant, Tenant.id == Display.tenant_id)
        .where(Display.token_hash.is_not(None), Display.revoked_at.is_(None))
        .distinct()
    ).all()
    return sorted((int(t), str(a), bool(x)) for t, a, x in rows)


class Publisher:
    def __init__(
        self,
        engine: Engine,
        warnings: Callable[[Session, int, str, bool, datetime], dict[str, Any]],
        *,
        state_spread_s: float = 5.0,
    ) -> None:
        self.engine = engine
        self.warnings = warnings
        self.state_spread_s = state_spread_s
        # Digest of the last warnings list sent per place: a warning for one Kreis does
        # not resend every other place's list. Empty after a start: all are sent once.
        self._sent_digest: dict[str, str] = {}
        self.published = 0

    def _messages(self, session: Session, scope: str, now: datetime) -> list[tuple[str, dict]]:
        if scope.startswith("tenant:"):
            tenant_id = int(scope.split(":", 1)[1])
            return [
                (
                    tenant_channel(tenant_id),
                    {"type": "state", "fetch_within_s": self.state_spread_s},
                )
            ]
        if scope != notify.ALERTS:
            return []
        found: list[tuple[str, dict]] = []
        for tenant_id, ars, test in places(session):
            channel = warnings_channel(tenant_id, ars, test)
            body = self.warnings(session, tenant_id, ars, test, now)
            digest = json.dumps(body["warnings"], sort_keys=True)
            if self._sent_digest.get(channel) == digest:
                continue
            found.append((channel, {"type": "warnings", **body, "_digest": digest}))
        return found

    def run_once(self, session: Session, now: datetime) -> int:
        """Send what is unsent; returns the number of messages published. Commits."""
        rows = session.execute(
            select(PushOutbox.id, PushOutbox.scope)
            .where(PushOutbox.sent_at.is_(None))
            .order_by(PushOutbox.id)
            .limit(BATCH)
        ).all()
        session.rollback()
        if not rows:
            return 0
        scopes = list(dict.fromkeys(scope for _, scope in rows))  # first occurrence order
        planned: list[tuple[str, dict]] = []
        for scope in scopes:
            planned.extend(self._messages(session, scope, now))
        for channel, data in planned:  # numbered and committed before any publish
            data["seq"] = _next_seq(session, channel)
            data["channel"] = channel
            data["v"] = 2
        session.commit()
        for channel, data in planned:
            digest = data.pop("_digest", None)
            self.engine.publish(channel, data)  # PublishFailed: the rows stay unsent
            if digest is not None:
                self._sent_digest[channel] = digest
        ids = [row_id for row_id, _ in rows]
        session.execute(update(PushOutbox).where(PushOutbox.id.in_(ids)).values(sent_at=now))
        session.commit()
        self.published += len(planned)
        log.info("event=push_published rows=%s messages=%s", len(rows), len(planned))
        return len(planned)


class Runner:
    """Keeps a publisher going: wake, send, keep failures logged once."""

    def __init__(
        self,
        publisher: Publisher,
        session_factory: Callable[[], Session],
        now: Callable[[], datetime],
        *,
        poll_s: float = 1.0,
    ) -> None:
        self.publisher = publisher
        self.session_factory = session_factory
        self.now = now
        self.poll_s = poll_s
        self.stop_event = threading.Event()
        self._failing = False

    def step(self) -> int:
        session = self.session_factory()
        try:
            sent = self.publisher.run_once(session, self.now())
        except (PublishFailed, Exception) as exc:  # never die: the rows wait in the outbox
            session.rollback()
            if not self._failing:
                log.warning("event=push_failed error=%s detail=%s", type(exc).__name__, exc)
            self._failing = True
            return -1
        finally:
            session.close()
        if self._failing:
            log.info("event=push_recovered")
        self._failing = False
        return sent

    def run_local(self) -> None:
        """Thread mode: wake on this process's commits (server.push.wakeup)."""
        while not self.stop_event.is_set():
            wakeup.clear()
            result = self.step()
            if result < 0:
                self.stop_event.wait(self.poll_s)
            elif result == 0:
                wakeup.wait(self.poll_s)

    def run_postgres(self, conninfo: str) -> None:
        """Process mode on PostgreSQL: hold the advisory lock, wake on NOTIFY."""
        import psycopg

        while not self.stop_event.is_set():
            try:
                with psycopg.connect(conninfo, autocommit=True) as conn:
                    self._hold_lock(conn)
                    conn.execute(f"LISTEN {notify.CHANNEL}")
                    log.info("event=push_publisher_active")
                    self._serve(conn)
            except psycopg.Error as exc:
                log.warning("event=push_listen_failed error=%s", type(exc).__name__)
                self.stop_event.wait(self.poll_s)

    def _hold_lock(self, conn: Any) -> None:
        while not self.stop_event.is_set():
            got = conn.execute("SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,)).fetchone()
            if got and got[0]:
                return
            self.stop_event.wait(self.poll_s)

    def _serve(self, conn: Any) -> None:
        while not self.stop_event.is_set():
            result = self.step()
            if result > 0:
                continue
            timeout = self.poll_s if result == 0 else self.poll_s * 2
            for _ in conn.notifies(timeout=timeout, stop_after=1):
                break
