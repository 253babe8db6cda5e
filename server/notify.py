"""Wake waiting players when what a display shows changes.

Three parts:

* :class:`ChangeHub` — in-process: a generation counter per change *scope*
  (``tenant:<id>`` for notices and display configuration, ``alerts`` for warnings) and
  the long-polls waiting on them. A waiter registers its own Event on its scopes before
  it looks at the manifest, so a change between looking and waiting is never missed;
  waking costs one ``Event.set`` per waiter of that scope, not a thundering herd.
* Session tracking — SQLAlchemy events note which scopes a transaction touched, bump a
  revision row per scope (``display_change``) inside the transaction and, on PostgreSQL,
  queue ``pg_notify`` there too. A NOTIFY sent inside the transaction is delivered by
  PostgreSQL exactly when the commit becomes visible and never for rolled-back work,
  which is what an after-commit NOTIFY on a second connection would only approximate.
  After the commit the local hub is advanced at once.
* :class:`Listener` — one thread per process: ``LISTEN`` on its own psycopg connection
  (reconnecting, re-reading the revision table after each connect so nothing is lost
  while disconnected). On SQLite, where several worker processes may share one file, it
  reads the revision table every ``poll_s`` seconds instead.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session

log = logging.getLogger("aushang.notify")

CHANNEL = "aushang_display"
ALERTS = "alerts"
_PENDING = "aushang_notify_scopes"
_BUMPED = "aushang_notify_bumped"


def tenant_scope(tenant_id: int) -> str:
    return f"tenant:{tenant_id}"


class ChangeHub:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._gens: dict[str, int] = {}
        self._revs: dict[str, int] = {}
        self._waiters: dict[str, set[threading.Event]] = {}
        self.changes = 0  # global change counter (all scopes)
        # Woken long-polls that have not answered yet (see ``subscribe``).
        self._delivering = 0
        self._drained = threading.Event()
        self._drained.set()
        self._fresh: set[str] = set()  # manifests answered since the last wake-up

    def generation(self, scope: str) -> int:
        return self._gens.get(scope, 0)

    def advance(self, scope: str, revision: int | None = None, *, local: bool = False) -> bool:
        """Note a change of ``scope``; ``revision`` (from the database) lets repeated
        reports of the same change (a local commit, then its NOTIFY) count once. A
        local commit always counts: it is known to be new."""
        with self._lock:
            if revision is not None:
                if self._revs.get(scope) == revision and not local:
                    return False
                self._revs[scope] = revision
            self._gens[scope] = self._gens.get(scope, 0) + 1
            self.changes += 1
            waiters = self._waiters.pop(scope, set())
            woken = [w for w in waiters if not w.is_set()]  # one waiter, several scopes
            if woken:
                if not self._delivering:
                    self._fresh = set()
                self._delivering += len(woken)
                self._drained.clear()
            for waiter in woken:
                waiter.set()
        return True

    def wait_delivered(self, timeout: float) -> bool:
        """Wait until every woken long-poll has answered, at most ``timeout`` seconds.

        Bookkeeping requests (heartbeats, acknowledgements) call this first: when a
        warning wakes 2,000 long-polls, the warning reaches the screens before the
        server spends its CPU on storing that it did."""
        return self._drained.wait(timeout)

    def delivered_etag(self, etag: str) -> None:
        """A woken long-poll answered with this manifest version."""
        if len(self._fresh) < 100_000:
            self._fresh.add(etag)

    def is_delivered_etag(self, etag: str) -> bool:
        return etag in self._fresh

    def delivering(self) -> int:
        """Woken long-polls still on their way to an answer."""
        return self._delivering

    @contextmanager
    def subscribe(self, scopes: Iterable[str]) -> Iterator[threading.Event]:
        """Register before reading state; ``wait`` on the yielded event afterwards.

        A waiter woken by a change counts as "delivering" until its block ends, which is
        when the long-poll has its answer (or found nothing new and subscribes again)."""
        waiter = threading.Event()
        keys = list(scopes)
        with self._lock:
            for key in keys:
                self._waiters.setdefault(key, set()).add(waiter)
        try:
            yield waiter
        finally:
            with self._lock:
                for key in keys:
                    bucket = self._waiters.get(key)
                    if bucket is not None:
                        bucket.discard(waiter)
                        if not bucket:
                            del self._waiters[key]
                if waiter.is_set():  # set and counted under this lock, by ``advance``
                    self._delivering = max(0, self._delivering - 1)
                    if not self._delivering:
                        self._drained.set()

    def waiting(self) -> int:
        with self._lock:
            return len({id(w) for bucket in self._waiters.values() for w in bucket})


hub = ChangeHub()


# --- which transactions change what displays show -------------------------------------


def mark_changed(session: Session, scope: str) -> None:
    """Services may name a scope explicitly (the model events below catch the rest)."""
    session.info.setdefault(_PENDING, set()).add(scope)


# Display columns that change the manifest or the token check; heartbeat columns do not.
_DISPLAY_FIELDS = (
    "name",
    "orientation",
    "ars",
    "test_display",
    "all_categories",
    "notice_duration_s",
    "screen_schedule",
    "token_hash",
    "revoked_at",
    "tenant_id",
    "groups",
    "categories",
    "legal_board",
    "resolution_w",
    "resolution_h",
    "cycle_limit_s",
    "max_pages",
)


def _changed(obj: Any, fields: Iterable[str]) -> bool:
    state = inspect(obj)
    return any(state.attrs[f].history.has_changes() for f in fields)


def _scopes_of(obj: Any, is_new: bool) -> set[str]:
    from .models import (
        AlertRecord,
        AlertTarget,
        Category,
        ContentItem,
        Display,
        DisplayGroup,
        Notice,
        NoticeVersion,
        Tenant,
    )

    if isinstance(obj, AlertRecord | AlertTarget):
        return {ALERTS}
    if isinstance(obj, Notice):
        if obj.status in ("released", "withdrawn") or _changed(obj, ("status",)):
            return {tenant_scope(obj.tenant_id)} if obj.tenant_id else set()
        return set()
    if isinstance(obj, NoticeVersion):
        if obj.status == "released" and (is_new or _changed(obj, ("status",))):
            notice = obj.notice
            return {tenant_scope(notice.tenant_id)} if notice and notice.tenant_id else set()
        return set()
    if isinstance(obj, Display):
        if is_new or _changed(obj, _DISPLAY_FIELDS):
            return {tenant_scope(obj.tenant_id)} if obj.tenant_id else set()
        return set()
    if isinstance(obj, DisplayGroup | ContentItem | Category):
        return {tenant_scope(obj.tenant_id)} if obj.tenant_id else set()
    if isinstance(obj, Tenant) and obj.id is not None:
        return {tenant_scope(obj.id)}
    return set()


def _collect(session: Session, flush_context: Any, instances: Any) -> None:
    found: set[str] = set()
    for obj in session.new:
        found |= _scopes_of(obj, True)
    for obj in session.dirty:
        if session.is_modified(obj):
            found |= _scopes_of(obj, False)
    for obj in session.deleted:
        found |= _scopes_of(obj, True)
    if found:
        session.info.setdefault(_PENDING, set()).update(found)


def _bump(session: Session) -> None:
    session.flush()  # so the final flush's changes are collected too
    scopes = sorted(session.info.pop(_PENDING, set()))
    if not scopes:
        return
    from .domain.posting import utcnow
    from .models import DisplayChange, PushOutbox

    bind = session.get_bind()
    dialect = bind.dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    now = utcnow()
    bumped: list[tuple[str, int]] = []
    table = DisplayChange.__table__
    # The push outbox (server.push): written here, so it commits or rolls back with the
    # change itself; the publisher sends it after the commit, however late.
    session.execute(
        PushOutbox.__table__.insert(), [{"scope": s, "created_at": now} for s in scopes]
    )
    for scope in scopes:  # sorted: the same lock order in every transaction
        stmt = insert(table).values(scope=scope, revision=1, changed_at=now)
        stmt = stmt.on_conflict_do_update(
            index_elements=[table.c.scope],
            set_={"revision": table.c.revision + 1, "changed_at": now},
        )
        session.execute(stmt)
        revision = session.execute(
            select(table.c.revision).where(table.c.scope == scope)
        ).scalar_one()
        bumped.append((scope, int(revision)))
        if dialect == "postgresql":
            from sqlalchemy import text

            session.execute(
                text("SELECT pg_notify(:c, :p)"), {"c": CHANNEL, "p": f"{scope}:{revision}"}
            )
    session.info.setdefault(_BUMPED, []).extend(bumped)


def _after_commit(session: Session) -> None:
    bumped = session.info.pop(_BUMPED, [])
    for scope, revision in bumped:
        hub.advance(scope, revision, local=True)
    if bumped:
        from .push import wakeup

        wakeup.set()  # the in-process publisher sends the new outbox rows


def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)
    session.info.pop(_BUMPED, None)


_installed = False


def install() -> None:
    """Listen on every SQLAlchemy session (idempotent)."""
    global _installed
    if _installed:
        return
    event.listen(Session, "before_flush", _collect)
    event.listen(Session, "before_commit", _bump)
    event.listen(Session, "after_commit", _after_commit)
    event.listen(Session, "after_rollback", _after_rollback)
    _installed = True


# --- other processes -------------------------------------------------------------------


class Listener:
    """Brings changes committed by other processes into this process's hub."""

    def __init__(self, engine: Any, poll_s: float = 1.0, resync_s: float = 30.0) -> None:
        self.engine = engine
        self.poll_s = poll_s
        self.resync_s = resync_s
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, name="aushang-notify", daemon=True)
        self.connected = threading.Event()

    def start(self) -> Listener:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stop_event.set()

    def sync(self) -> int:
        """Read the revision table; returns how many scopes changed."""
        from .models import DisplayChange

        table = DisplayChange.__table__
        with self.engine.connect() as conn:
            rows = conn.execute(select(table.c.scope, table.c.revision)).all()
        return sum(1 for scope, rev in rows if hub.advance(scope, int(rev)))

    def _run(self) -> None:
        if self.engine.dialect.name == "postgresql":
            self._run_postgres()
        else:
            self._run_polling()

    def _run_polling(self) -> None:
        failing = False
        while not self.stop_event.is_set():
            try:
                self.sync()
                self.connected.set()
                if failing:
                    log.info("event=notify_recovered mode=poll")
                failing = False
            except Exception as exc:  # keep the thread alive whatever the database does
                if not failing:
                    log.warning("event=notify_failed mode=poll error=%s", type(exc).__name__)
                failing = True
            self.stop_event.wait(self.poll_s)

    def _run_postgres(self) -> None:
        import psycopg

        url = self.engine.url.set(drivername="postgresql")
        conninfo = url.render_as_string(hide_password=False)
        failing = False
        while not self.stop_event.is_set():
            try:
                with psycopg.connect(conninfo, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self.sync()  # whatever happened while we were not listening
                    self.connected.set()
                    if failing:
                        log.info("event=notify_recovered mode=listen")
                    failing = False
                    while not self.stop_event.is_set():
                        for note in conn.notifies(timeout=self.resync_s):
                            scope, _, rev = note.payload.rpartition(":")
                            try:
                                hub.advance(scope, int(rev))
                            except ValueError:
                                hub.advance(note.payload)
                            if self.stop_event.is_set():
                                return
                        self.sync()
            except Exception as exc:
                self.connected.clear()
                if not failing:
                    log.warning("event=notify_failed mode=listen error=%s", type(exc).__name__)
                failing = True
                self.stop_event.wait(min(5.0, self.poll_s * 2))


_listener: Listener | None = None
_listener_pid: int | None = None
_listener_lock = threading.Lock()


def ensure_listener(engine: Any, poll_s: float) -> Listener:
    """One listener per process; started lazily, so forked workers get their own."""
    global _listener, _listener_pid
    with _listener_lock:
        if _listener is None or _listener_pid != os.getpid() or _listener.engine is not engine:
            if _listener is not None and _listener_pid == os.getpid():
                _listener.stop()
            _listener = Listener(engine, poll_s=poll_s).start()
            _listener_pid = os.getpid()
        return _listener


def stop_listener() -> None:
    """Stop this process's listener (tests: a listener of another test's database would
    feed that database's revisions into this process's hub)."""
    global _listener, _listener_pid
    with _listener_lock:
        if _listener is not None:
            _listener.stop()
        _listener, _listener_pid = None, None
