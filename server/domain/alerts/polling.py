"""One NINA dashboard poll as a pure step (W2, W3, W6).

The scheduled job fetches ``/dashboard/{key}.json``, asks :func:`entries_to_fetch`
which warnings need their details, fetches ``/warnings/{id}.json`` for those and then
calls :func:`poll_step` with everything it got and ``now``. The step returns the new
state of this feed and the changes; the job stores and announces them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from .lifecycle import (
    Change,
    LifecycleConfig,
    LifecycleState,
    observe_presence,
    prune,
    receive,
    tick,
)
from .model import Alert
from .policy import source_from_nina_id


@dataclass(frozen=True)
class DashboardEntry:
    """One item of a NINA dashboard: id plus what tells us it changed."""

    id: str
    version: int
    hash: str | None = None
    msg_type: str | None = None
    sent: str | None = None

    @property
    def fingerprint(self) -> tuple[int, str | None]:
        return (self.version, self.hash)


@dataclass(frozen=True)
class DashboardOk:
    """A successful dashboard request (``not_modified`` for an HTTP 304)."""

    entries: tuple[DashboardEntry, ...] = ()
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False


@dataclass(frozen=True)
class DashboardFailed:
    """A failed request: HTTP error, HTML instead of JSON, timeout, broken JSON."""

    error: str


DashboardResult = DashboardOk | DashboardFailed


@dataclass(frozen=True)
class PollConfig:
    stale_after: timedelta = timedelta(minutes=3)
    lifecycle: LifecycleConfig = field(default_factory=LifecycleConfig)
    forget_ended_after: timedelta = timedelta(days=1)
    # A warning whose details fail is asked for again after 30 s, 60 s, 120 s, … (cap).
    detail_retry_first: timedelta = timedelta(seconds=30)
    detail_retry_cap: timedelta = timedelta(minutes=10)


@dataclass(frozen=True)
class DetailFailure:
    """A listed warning whose details could not be fetched (W2: a disturbance)."""

    error: str
    attempts: int
    first_failed_at: datetime
    next_attempt_at: datetime

    def failed_again(self, error: str, now: datetime, config: PollConfig) -> DetailFailure:
        return replace(
            self,
            error=error,
            attempts=self.attempts + 1,
            next_attempt_at=now + retry_delay(self.attempts + 1, config),
        )


def retry_delay(attempts: int, config: PollConfig) -> timedelta:
    """Exponential backoff after ``attempts`` failures, capped."""
    delay: timedelta = config.detail_retry_first * 2 ** max(attempts - 1, 0)
    return min(delay, config.detail_retry_cap)


@dataclass(frozen=True)
class FeedHealth:
    """How well a feed is doing (W3)."""

    watching_since: datetime | None = None
    last_attempt_at: datetime | None = None
    last_success_at: datetime | None = None
    consecutive_failures: int = 0
    last_error: str | None = None
    # Listed warnings whose details could not be fetched: id -> error (W2).
    failing: Mapping[str, str] = field(default_factory=dict)

    def is_disturbed(self, now: datetime, stale_after: timedelta = timedelta(minutes=3)) -> bool:
        """Stale, or a listed warning that cannot be shown because its details fail."""
        return self.is_stale(now, stale_after) or bool(self.failing)

    def failing_text(self) -> str:
        """German: which warnings cannot be fetched, and why."""
        if not self.failing:
            return ""
        names = "; ".join(f"{k} ({v})" for k, v in sorted(self.failing.items()))
        count = len(self.failing)
        noun = "Warnung" if count == 1 else "Warnungen"
        return f"{count} gemeldete {noun} nicht abrufbar: {names}"

    def data_age(self, now: datetime) -> timedelta | None:
        """Age of the last good data; ``None`` if there never was any."""
        return None if self.last_success_at is None else now - self.last_success_at

    def is_stale(self, now: datetime, stale_after: timedelta = timedelta(minutes=3)) -> bool:
        """No successful poll for ``stale_after`` (counted from the first attempt if
        there never was a success)."""
        reference = self.last_success_at or self.watching_since
        if reference is None:
            return False
        return now - reference > stale_after

    def status_text(self, now: datetime, stale_after: timedelta = timedelta(minutes=3)) -> str:
        """A German one-liner for the dashboard and the alert page."""
        age = self.data_age(now)
        if age is None:
            base = "Noch keine erfolgreiche Abfrage"
        else:
            seconds = int(age.total_seconds())
            base = (
                f"Letzte erfolgreiche Abfrage vor {seconds} s"
                if seconds < 120
                else f"Letzte erfolgreiche Abfrage vor {seconds // 60} min"
            )
        if self.is_stale(now, stale_after):
            base = f"STÖRUNG: {base}" + (f" ({self.last_error})" if self.last_error else "")
            return base + (f". {self.failing_text()}" if self.failing else "")
        if self.failing:
            return f"STÖRUNG: {self.failing_text()}. {base}"
        return base


@dataclass(frozen=True)
class FeedState:
    """Everything we remember about one NINA dashboard between polls."""

    key: str
    # What we have processed, and what the last good dashboard listed: id -> (version, hash).
    seen: Mapping[str, tuple[int, str | None]] = field(default_factory=dict)
    present: Mapping[str, tuple[int, str | None]] = field(default_factory=dict)
    lifecycle: LifecycleState = field(default_factory=LifecycleState)
    health: FeedHealth = field(default_factory=FeedHealth)
    etag: str | None = None
    last_modified: str | None = None
    detail_failures: Mapping[str, DetailFailure] = field(default_factory=dict)


def entries_to_fetch(
    state: FeedState, result: DashboardResult, now: datetime | None = None
) -> tuple[str, ...]:
    """Ids whose details are needed: new entries and entries with a new version or hash.

    An entry whose details failed before waits for its backoff (``now`` given)."""
    if not isinstance(result, DashboardOk):
        return ()
    if result.not_modified:
        wanted = [i for i, fp in sorted(state.present.items()) if state.seen.get(i) != fp]
    else:
        wanted = [e.id for e in result.entries if state.seen.get(e.id) != e.fingerprint]
    if now is None:
        return tuple(wanted)
    waiting = {k for k, f in state.detail_failures.items() if f.next_attempt_at > now}
    return tuple(i for i in wanted if i not in waiting)


def _failures_after(
    state: FeedState,
    pending: list[str],
    details: Mapping[str, Alert],
    errors: Mapping[str, str],
    now: datetime,
    config: PollConfig,
) -> dict[str, DetailFailure]:
    """Failures still open after this poll: the pending entries we could not fetch."""
    failures: dict[str, DetailFailure] = {}
    for entry_id in pending:
        if entry_id in details:
            continue
        before = state.detail_failures.get(entry_id)
        error = errors.get(entry_id)
        if error is None:  # not asked this time (backoff): the failure stands
            if before is not None:
                failures[entry_id] = before
            continue
        failures[entry_id] = (
            before.failed_again(error, now, config)
            if before is not None
            else DetailFailure(error, 1, now, now + retry_delay(1, config))
        )
    return failures


def poll_step(
    state: FeedState,
    result: DashboardResult,
    details: Mapping[str, Alert],
    now: datetime,
    config: PollConfig | None = None,
    errors: Mapping[str, str] | None = None,
) -> tuple[FeedState, tuple[Change, ...]]:
    """Fold one poll into the feed state.

    A failure only counts against the feed's health (and time still passes: expired
    warnings end); it is never read as "no warnings". Entries whose details are missing
    stay unseen; those whose request failed (``errors``: id -> German reason) are
    disturbances, named in the feed's health and asked for again with backoff.
    """
    config = config or PollConfig()
    health = replace(
        state.health,
        watching_since=state.health.watching_since or now,
        last_attempt_at=now,
    )
    changes: list[Change] = []
    lifecycle = state.lifecycle

    if isinstance(result, DashboardFailed):
        health = replace(
            health,
            consecutive_failures=health.consecutive_failures + 1,
            last_error=result.error,
        )
        lifecycle, ticked = tick(lifecycle, now, config.lifecycle)
        return replace(state, health=health, lifecycle=lifecycle), ticked

    if result.not_modified:
        present = dict(state.present)
        ordered = sorted(present)
    else:
        present = {e.id: e.fingerprint for e in result.entries}
        ordered = [e.id for e in sorted(result.entries, key=lambda e: (e.sent or "", e.id))]
    fingerprints = {i: fp for i, fp in present.items() if state.seen.get(i) == fp}
    pending = [(i, present[i]) for i in ordered if i not in fingerprints]

    for entry_id, fingerprint in pending:
        alert = details.get(entry_id)
        if alert is None:
            continue  # fetch failed: try again next poll
        lifecycle, received = receive(
            lifecycle,
            alert,
            now,
            source=source_from_nina_id(entry_id),
            key=entry_id,
            config=config.lifecycle,
            version=fingerprint[0],
        )
        changes.extend(received)
        fingerprints[entry_id] = fingerprint

    lifecycle, gone = observe_presence(lifecycle, present, now, config.lifecycle)
    changes.extend(gone)
    lifecycle, ticked = tick(lifecycle, now, config.lifecycle)
    changes.extend(ticked)
    lifecycle = prune(lifecycle, now, keep=present, older_than=config.forget_ended_after)

    failures = _failures_after(state, [i for i, _fp in pending], details, errors or {}, now, config)
    health = replace(
        health,
        last_success_at=now,
        consecutive_failures=0,
        last_error=None,
        failing={k: f.error for k, f in failures.items()},
    )
    new_state = FeedState(
        key=state.key,
        seen=fingerprints,
        present=present,
        lifecycle=lifecycle,
        health=health,
        etag=result.etag if result.etag is not None else state.etag,
        last_modified=result.last_modified
        if result.last_modified is not None
        else state.last_modified,
        detail_failures=failures,
    )
    return new_state, tuple(changes)
