"""What the player owes the server: proof of play and error events (D1), warning acks.

Both are kept on disk until the server has taken them, so a restart or an outage loses
nothing. The kiosk page's callbacks arrive on the kiosk server's threads, hence the lock.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from player.backoff import Backoff
from player.cache import Cache, CacheError
from player.client import Rejected, ServerError, Unauthorized
from player.clock import Clock
from player.manifest import Item
from player.status import ErrorReport, kv

log = logging.getLogger("player")

MAX_QUEUED_EVENTS = 20_000
EVENTS_BATCH = 500
EVENTS_EVERY_S = 30.0


class OutboxClient(Protocol):
    def events(self, body: dict[str, Any]) -> dict[str, Any]: ...
    def ack(self, alert_id: str, body: dict[str, Any]) -> dict[str, Any]: ...


@dataclass
class Ack:
    """Where the acknowledgement of one warning stands: confirmed is none, delivered,
    shown or rejected (the server will never take it)."""

    delivered_at: str
    confirmed: str = "none"
    shown_at: str | None = None

    @property
    def owed(self) -> bool:
        return self.confirmed == "none" or bool(self.shown_at and self.confirmed == "delivered")

    def to_json(self) -> dict[str, str]:
        data = {"delivered_at": self.delivered_at, "confirmed": self.confirmed}
        if self.shown_at:
            data["shown_at"] = self.shown_at
        return data

    @classmethod
    def from_json(cls, data: Any) -> Ack | None:
        if not isinstance(data, dict) or not isinstance(data.get("delivered_at"), str):
            return None
        shown_at = data.get("shown_at")
        return cls(
            delivered_at=data["delivered_at"],
            confirmed=str(data.get("confirmed", "none")),
            shown_at=shown_at if isinstance(shown_at, str) else None,
        )


class Outbox:
    def __init__(
        self,
        client: OutboxClient,
        cache: Cache,
        clock: Clock,
        on_cache_error: Callable[[str, str], None],
        ack_backoff: Backoff | None = None,
    ) -> None:
        self.client = client
        self.cache = cache
        self.clock = clock
        self.on_cache_error = on_cache_error
        # Failed acks wait a jittered, growing delay: never a tight loop against a server
        # that is struggling, and never all displays at once when it is back.
        self.ack_backoff = ack_backoff or Backoff()
        self._acks_retry_at = 0.0
        self._lock = threading.RLock()
        self._events: list[dict[str, Any]] = []
        self._events_dirty = False
        self._acks: dict[str, Ack] = {}
        self._next_events = 0.0

    def load(self) -> None:
        events = self.cache.read_json("events.json")
        if isinstance(events, list):
            self._events = events[-MAX_QUEUED_EVENTS:]
        acks = self.cache.read_json("acks.json")
        if isinstance(acks, dict):
            loaded = {k: Ack.from_json(v) for k, v in acks.items()}
            self._acks = {k: v for k, v in loaded.items() if v is not None}

    # -- events --------------------------------------------------------------------------

    def queue(self, event: dict[str, Any]) -> None:
        with self._lock:
            self._events.append(event)
            if len(self._events) > MAX_QUEUED_EVENTS:
                del self._events[: len(self._events) - MAX_QUEUED_EVENTS]
            self._events_dirty = True

    def played(self, item: Item, at: str) -> None:
        """The kiosk page has drawn ``item``: proof of play (D1)."""
        self.queue(
            {
                "type": "play",
                "id": str(uuid.uuid4()),
                "item_id": item.id,
                "notice_id": item.notice_id,
                "version_hash": item.version_hash,
                "shown_at": at,
            }
        )

    def error(self, report: ErrorReport) -> None:
        self.queue({"type": "error", "id": str(uuid.uuid4()), **report.to_json()})

    def queued(self) -> int:
        return len(self._events)

    def send_events(self) -> None:
        """Send the queue (at most every EVENTS_EVERY_S)."""
        if self._events_due():
            self._flush_events(send=True)

    def keep_events(self) -> None:
        """Offline: keep proof of play on disk (at most every EVENTS_EVERY_S) until sent."""
        if self._events_due():
            self._flush_events(send=False)

    def _events_due(self) -> bool:
        mono = self.clock.monotonic()
        if mono < self._next_events:
            return False
        self._next_events = mono + EVENTS_EVERY_S
        return True

    def _flush_events(self, send: bool) -> None:
        while send:
            with self._lock:
                batch = list(self._events[:EVENTS_BATCH])
            if not batch:
                break
            try:
                self.client.events({"events": batch})
            except ServerError as exc:
                log.debug(kv(event="events_deferred", queued=len(self._events), error=exc))
                break
            with self._lock:
                sent = {e["id"] for e in batch}
                self._events = [e for e in self._events if e["id"] not in sent]
                self._events_dirty = True
        with self._lock:
            if not self._events_dirty:
                return
            try:
                if self._events:
                    self.cache.write_json("events.json", self._events)
                else:
                    self.cache.remove("events.json")
                self._events_dirty = False
            except CacheError:
                pass  # already reported through last_error when the disk is full

    # -- acknowledgements ----------------------------------------------------------------

    def note_deliveries(self, current: set[str], at: str) -> None:
        """The warnings now in force: each is owed a "delivered" ack; others are forgotten."""
        with self._lock:
            for alert_id in current:
                self._acks.setdefault(alert_id, Ack(delivered_at=at))
            for alert_id in [a for a in self._acks if a not in current]:
                del self._acks[alert_id]
            self._persist_acks()

    def alert_shown(self, alert_id: str, at: str) -> bool:
        """The kiosk page has drawn the warning; False when that was known already."""
        with self._lock:
            entry = self._acks.setdefault(alert_id, Ack(delivered_at=at))
            if entry.shown_at:
                return False
            entry.shown_at = at
            self._persist_acks()
        log.info(kv(event="alert_shown", alert=alert_id))
        return True

    def ack_state(self, alert_id: str) -> Ack | None:
        with self._lock:
            return self._acks.get(alert_id)

    def _persist_acks(self) -> None:
        try:
            self.cache.write_json("acks.json", {k: v.to_json() for k, v in self._acks.items()})
        except CacheError as exc:
            self.on_cache_error(exc.code, str(exc))

    def _confirm(self, alert_id: str, confirmed: str) -> None:
        with self._lock:
            if alert_id in self._acks:
                self._acks[alert_id].confirmed = confirmed
                self._persist_acks()

    def ack_retry_in(self) -> float | None:
        """Seconds until the retry of a failed ack; None when none is waiting for one."""
        wait = self._acks_retry_at - self.clock.monotonic()
        with self._lock:
            if wait <= 0 or not any(e.owed for e in self._acks.values()):
                return None
        return wait

    def send_acks(self, display_id: str | None) -> None:
        """Send what is owed; after a failure, nothing until the backoff delay has passed."""
        mono = self.clock.monotonic()
        if display_id is None or mono < self._acks_retry_at:
            return
        with self._lock:
            owed = [(a, Ack(**vars(e))) for a, e in self._acks.items() if e.owed]
        for alert_id, entry in owed:
            body = {
                "alert_id": alert_id,
                "display_id": display_id,
                "delivered_at": entry.delivered_at,
                "shown_at": entry.shown_at,
            }
            try:
                self.client.ack(alert_id, body)
            except Unauthorized:
                return  # the next manifest request handles a revoked token
            except Rejected as exc:
                # The server will never take this one (it no longer knows the warning, or
                # it was never meant for this display): asking again every pass only
                # loads the server. The warning itself stays as the manifest says.
                log.warning(kv(event="ack_rejected", alert=alert_id, error=exc))
                self._confirm(alert_id, "rejected")
                continue
            except ServerError as exc:
                delay = self.ack_backoff.next_delay()
                self._acks_retry_at = self.clock.monotonic() + delay
                log.debug(kv(event="ack_deferred", alert=alert_id, error=exc, retry_s=delay))
                return
            self.ack_backoff.reset()
            self._confirm(alert_id, "shown" if entry.shown_at else "delivered")
            log.info(kv(event="alert_acknowledged", alert=alert_id, shown=bool(entry.shown_at)))
