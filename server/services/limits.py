"""Rate limits shared by every worker process: counted attempts live in the database.

A limit is "at most ``max_events`` counted attempts of one key within ``window``" (a
sliding window). What counts is up to the caller: failed logins, refused pairing
codes, every enrolment request. Keys are HMACs of their parts (client address,
account), so the table stores neither addresses nor e-mail addresses in the clear,
and one key's events never touch another's.

Checking and counting are two statements, so two processes racing may each let one
more attempt through than the limit: a limit is a brake, not an exact quota.
Like every service, this module adds and flushes; the view commits.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from ..models import LimitEvent


@dataclass(frozen=True)
class Limit:
    scope: str
    max_events: int
    window: timedelta


def key_for(secret: str | bytes, *parts: str) -> str:
    """The stored key of ``parts`` (e.g. ``"address", "203.0.113.7"``)."""
    raw = "\x1f".join(parts).encode("utf-8", "surrogatepass")
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    return hmac.new(key, raw, hashlib.sha256).hexdigest()


def count(session: Session, limit: Limit, key: str, now: datetime) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(LimitEvent)
            .where(
                LimitEvent.scope == limit.scope,
                LimitEvent.key == key,
                LimitEvent.at > now - limit.window,
            )
        )
        or 0
    )


def exceeded(session: Session, limit: Limit, key: str, now: datetime) -> bool:
    """Whether ``key`` has used up its attempts (checking counts nothing)."""
    return count(session, limit, key, now) >= limit.max_events


def record(session: Session, limit: Limit, key: str, now: datetime) -> None:
    """Count one attempt of ``key``; events of the scope older than the window go."""
    session.execute(
        delete(LimitEvent).where(
            LimitEvent.scope == limit.scope, LimitEvent.at <= now - limit.window
        )
    )
    session.add(LimitEvent(scope=limit.scope, key=key, at=now))
    session.flush()


def hit(session: Session, limit: Limit, key: str, now: datetime) -> bool:
    """Count one attempt unless the key is over its limit; False when it is (then
    nothing is counted, so a flood does not grow the table)."""
    if exceeded(session, limit, key, now):
        return False
    record(session, limit, key, now)
    return True


def clear(session: Session, limit: Limit, key: str) -> None:
    """Forget the attempts of ``key`` (after a successful login, for instance)."""
    session.execute(
        delete(LimitEvent).where(LimitEvent.scope == limit.scope, LimitEvent.key == key)
    )


class MemoryLimiter:
    """Attempts per key in a sliding window, in this process only. For limits where a
    per-process count is good enough (public feedback); security limits use the
    database functions above."""

    def __init__(self, limit: int = 20, window_s: float = 300.0) -> None:
        self.limit = limit
        self.window_s = window_s
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _window(self, key: str, now: float) -> deque[float]:
        q = self._hits.setdefault(key, deque())
        while q and now - q[0] > self.window_s:
            q.popleft()
        return q

    def hit(self, key: str) -> bool:
        """Count one attempt; False when the key is over its limit (not counted then)."""
        now = time.monotonic()
        with self._lock:
            q = self._window(key, now)
            if len(q) >= self.limit:
                return False
            q.append(now)
            return True

    def allowed(self, key: str) -> bool:
        with self._lock:
            return len(self._window(key, time.monotonic())) < self.limit

    def reset(self) -> None:
        with self._lock:
            self._hits.clear()


class AuditThrottle:
    """At most one audit row per client, reason and minute: a flood of forged requests
    is logged, but cannot flood the hash-chained audit log."""

    def __init__(self, every_s: float = 60.0) -> None:
        self.every_s = every_s
        self._last: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()

    def allow(self, key: tuple[str, str]) -> bool:
        now = time.monotonic()
        with self._lock:
            if len(self._last) > 10_000:
                self._last.clear()
            last = self._last.get(key)
            if last is not None and now - last < self.every_s:
                return False
            self._last[key] = now
            return True

    def reset(self) -> None:
        with self._lock:
            self._last.clear()
