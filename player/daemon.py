"""The player daemon: one pass = long-poll → verify and store → choose → tell the kiosk page.

``Player`` only orchestrates. Each responsibility is its own small class behind a
``Protocol`` — enrolment (``player.enrolment``), content sync (``player.sync``), the outbox of
proof of play and acks (``player.outbox``), screen power (``player.screenpower``) and the
heartbeat (``player.heartbeat``) — and the outside world comes in as ``client``, ``cache``,
``kiosk``, ``clock`` and ``screen``, so the tests drive the real logic with fakes instead of
patches.
"""

from __future__ import annotations

import logging
import math
import socket
import threading
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any, Protocol

from player import __version__
from player.backoff import Backoff
from player.cache import Cache, CacheError
from player.client import ManifestAnswer, ServerError, Unauthorized
from player.clock import Clock, TimeBase, isoformat_z
from player.enrolment import Enrolment
from player.heartbeat import Heartbeat
from player.localserver import PageEvents
from player.manifest import Alert, Item, Manifest
from player.outbox import Outbox
from player.protocol import ProtocolError
from player.screenpower import Screen, ScreenPower
from player.status import ErrorReport, Status, kv
from player.sync import ContentSync
from player.systemd import sd_notify
from player.view import Content, build_view, current_alert, next_change, takeover_active, zone

log = logging.getLogger("player")


class Client(Protocol):
    token: str | None
    last_date: datetime | None

    def enroll(self, body: dict[str, Any]) -> dict[str, Any]: ...
    def poll_enrollment(self, code: str, claim_secret: str) -> dict[str, Any]: ...
    def manifest(self, etag: str | None, wait: int) -> ManifestAnswer: ...
    def asset(self, sha256: str) -> AbstractContextManager[Any]: ...
    def heartbeat(self, body: dict[str, Any]) -> dict[str, Any]: ...
    def events(self, body: dict[str, Any]) -> dict[str, Any]: ...
    def ack(self, alert_id: str, body: dict[str, Any]) -> dict[str, Any]: ...


class Kiosk(Protocol):
    def bind(self, events: PageEvents) -> None: ...
    def publish(self, view: dict[str, Any], media_types: Mapping[str, str]) -> None: ...
    def last_ping_age(self) -> float | None: ...
    def showing(self) -> str | None: ...


# -- the collaborators as the Player uses them (tests/player/player_fakes.py has a fake each) --


class EnrolmentPort(Protocol):
    @property
    def enrolled(self) -> bool: ...
    @property
    def pairing_code(self) -> str | None: ...
    def load(self) -> None: ...
    def step(self) -> float: ...


class SyncPort(Protocol):
    @property
    def manifest(self) -> Manifest | None: ...
    @property
    def etag(self) -> str | None: ...
    @property
    def warnings(self) -> tuple[Alert, ...]: ...
    def load(self) -> None: ...
    def forget(self) -> None: ...
    def content(self) -> Content: ...
    def display_id(self) -> str | None: ...
    def media_types(self) -> dict[str, str]: ...
    def needs_files(self) -> bool: ...
    def receive(self, answer: ManifestAnswer) -> bool: ...
    def fetch_missing(self, on_visible: Callable[[], None]) -> None: ...
    def commit_pending(self) -> bool: ...
    def prune(self) -> None: ...


class OutboxPort(Protocol):
    def load(self) -> None: ...
    def played(self, item: Item, at: str) -> None: ...
    def error(self, report: ErrorReport) -> None: ...
    def send_events(self) -> None: ...
    def keep_events(self) -> None: ...
    def note_deliveries(self, current: set[str], at: str) -> None: ...
    def alert_shown(self, alert_id: str, at: str) -> bool: ...
    def send_acks(self, display_id: str | None) -> None: ...
    def ack_retry_in(self) -> float | None: ...


class HeartbeatPort(Protocol):
    interval_s: float

    def due_in(self) -> float: ...
    def due_now(self) -> None: ...
    def beat(self, body: Callable[[], dict[str, Any]], horizon: float = 0.0) -> datetime | None: ...


class ScreenPowerPort(Protocol):
    def update(self, schedule: list[Any], tz: str, now: datetime, takeover: bool) -> str | None: ...
    def state_json(self) -> dict[str, Any] | None: ...


class Player:
    def __init__(
        self,
        client: Client,
        cache: Cache,
        kiosk: Kiosk,
        clock: Clock,
        screen: Screen,
        *,
        provisioning_token: str = "",
        device_key: str = "",
        stale_after_s: float = 300,
        poll_wait_s: int = 55,
        heartbeat_s: float = 60,
        backoff: Backoff | None = None,
        hostname: str | None = None,
        notify: Callable[[str], Any] = sd_notify,
        enrolment: EnrolmentPort | None = None,
        sync: SyncPort | None = None,
        outbox: OutboxPort | None = None,
        heartbeat: HeartbeatPort | None = None,
        screen_power: ScreenPowerPort | None = None,
    ) -> None:
        self.client, self.cache, self.kiosk, self.clock = client, cache, kiosk, clock
        self.stale_after_s = stale_after_s
        self.poll_wait_s = poll_wait_s
        self.notify = notify
        self._lock = threading.RLock()
        self._started_mono = clock.monotonic()
        self._started = False
        self._poll_ran_out = False
        self._view: dict[str, Any] | None = None
        self.time = TimeBase(clock, cache.read_json("clock.json"))
        self.status = Status(self.time, backoff or Backoff(), on_error=self._error_changed)
        self.heartbeat = heartbeat or Heartbeat(client, clock, heartbeat_s)
        ack_backoff = Backoff(self.backoff.base, self.backoff.cap, self.backoff.rng)
        self.outbox = outbox or Outbox(
            client, cache, clock, on_cache_error=self.status.set_error, ack_backoff=ack_backoff
        )
        self.enrolment = enrolment or Enrolment(
            client,
            cache,
            self.time,
            self.status,
            hostname=hostname or socket.gethostname(),
            provisioning_token=provisioning_token,
            device_key=device_key,
        )
        self.sync = sync or ContentSync(client, cache, self.time)
        self.screen = screen_power or ScreenPower(screen, clock, self.heartbeat.interval_s)
        kiosk.bind(self)

    # -- what the tests and the kiosk server read ----------------------------------------

    @property
    def enrolled(self) -> bool:
        return self.enrolment.enrolled

    @property
    def backoff(self) -> Backoff:
        return self.status.backoff

    @property
    def last_contact(self) -> datetime | None:
        return self.status.last_contact

    @property
    def last_error(self) -> dict[str, str] | None:
        return self.status.last_error_json()

    # -- start-up ------------------------------------------------------------------------

    def start(self) -> None:
        """Load and show the cached state; no network yet."""
        self._started = True
        removed = self.cache.remove_temp_files()
        if removed:
            log.info(kv(event="cache_cleanup", temp_files=removed))
        self.enrolment.load()
        self.sync.load()
        self.outbox.load()
        manifest = self.sync.manifest
        log.info(
            kv(
                event="started",
                version=__version__,
                enrolled=self.enrolled,
                cached_items=len(manifest.items) if manifest else 0,
                cached_warnings=len(self.sync.warnings),
            )
        )
        self.refresh()

    # -- one pass ------------------------------------------------------------------------

    def run_once(self) -> float:
        """One pass; returns the seconds to wait before the next one."""
        if not self._started:
            self.start()
        delay = self._content_step() if self.enrolled else self.enrolment.step()
        self.refresh()
        until_change = self._seconds_to_next_change()
        if until_change is not None:
            delay = min(delay, until_change)
        return max(0.0, delay)

    def run_forever(self, stop: threading.Event) -> None:
        while not stop.is_set():
            delay = self.run_once()
            self.notify("WATCHDOG=1")
            if not stop.is_set():
                self.clock.sleep(delay)

    def _poll_wait(self) -> int | None:
        """Seconds the long-poll may wait; None when the token was rejected meanwhile."""
        wait = 0 if self.sync.needs_files() else self.poll_wait_s
        if self.status.reachable and wait and self._poll_ran_out:
            # Idle: a heartbeat due while the long-poll waits goes out now, not by
            # cutting the long-poll short, so a cycle is one heartbeat and one manifest
            # request, each heartbeat at most heartbeat_s after the one before. Not right
            # after a change: every display would send its heartbeat in the same second.
            if not self._beat(horizon=wait):
                return None
        ack_retry = self.outbox.ack_retry_in()
        limits = [
            wait,
            self.heartbeat.due_in(),
            self._seconds_to_next_change(),
            # Rounded up: a long-poll of 0 s would make the wait for the retry a tight loop.
            None if ack_retry is None else math.ceil(ack_retry),
        ]
        return int(max(0, min(x for x in limits if x is not None)))

    def _content_step(self) -> float:
        wait = self._poll_wait()
        if wait is None:
            return 0.0
        try:
            answer = self.client.manifest(self.sync.etag, wait)
        except Unauthorized:
            return self._token_rejected()
        except ServerError as exc:
            backoff = self.status.offline(exc)
            self.outbox.keep_events()
            return backoff
        self.status.contact(answer.server_date or self.client.last_date)
        self._poll_ran_out = wait > 0 and not answer.changed
        applied = self._apply(answer)
        if applied is None:
            return 0.0
        if self.status.reachable:
            self._send_reports()
        return applied

    def _apply(self, answer: ManifestAnswer) -> float | None:
        """Take in the answer; the delay, or None when the token was rejected."""
        try:
            if answer.changed and self.sync.receive(answer):
                self._warnings_changed()
            self.sync.fetch_missing(on_visible=self.refresh)
            if self.sync.commit_pending():
                self.refresh()
                self.sync.prune()
            self.status.healthy()
        except Unauthorized:
            self._token_rejected()
            return None
        except ServerError as exc:
            return self.status.offline(exc)
        except (CacheError, ProtocolError) as exc:
            return self.status.content_error(exc)
        return 0.0

    def _warnings_changed(self) -> None:
        # Draw first, acknowledge after: no network call stands between receiving a
        # warning and the kiosk page drawing it (the delivered time is taken on receipt).
        current = {w.id for w in self.sync.warnings}
        self.outbox.note_deliveries(current, isoformat_z(self.time.now()))
        self.refresh()
        self._send_acks()

    def _send_reports(self) -> None:
        if not self._beat():
            return
        self._send_acks()
        self.outbox.send_events()

    def _beat(self, horizon: float = 0.0) -> bool:
        """The heartbeat, if due; False when the token was rejected."""
        try:
            server_time = self.heartbeat.beat(self.heartbeat_body, horizon=horizon)
        except Unauthorized:
            self._token_rejected()
            return False
        if server_time is not None:
            self.status.contact(server_time)
        return True

    def _send_acks(self) -> None:
        self.outbox.send_acks(self.sync.display_id() if self.enrolled else None)

    def _token_rejected(self) -> float:
        log.warning(kv(event="token_rejected", detail="Token ungültig oder widerrufen"))
        self.client.token = None
        self.cache.remove_token()
        self.sync.forget()
        self.status.set_error("unauthorized", "Token abgelehnt; neue Kopplung nötig")
        return 0.0

    def _error_changed(self, report: ErrorReport, queue: bool) -> None:
        self.heartbeat.due_now()  # staff see a new fault with the next report
        if queue:
            self.outbox.error(report)

    # -- state shown ---------------------------------------------------------------------

    def view(self) -> dict[str, Any]:
        return build_view(
            content=self.sync.content(),
            now=self.time.now(),
            has_file=self.cache.has,
            enrolled=self.enrolled,
            pairing_code=self.enrolment.pairing_code,
            last_contact=self.status.last_contact,
            stale_after_s=self.stale_after_s,
        )

    def refresh(self) -> None:
        """Recompute what the screen shows; tell the kiosk page and the screen on change."""
        with self._lock:
            view = self.view()
            if view != self._view:
                self._view = view
                self.kiosk.publish(view, self.sync.media_types())
            self._update_screen(view)
            state = self.time.to_persist()
            if state is not None:
                try:
                    self.cache.write_json("clock.json", state)
                except CacheError as exc:
                    self.status.set_error(exc.code, str(exc))

    def _update_screen(self, view: dict[str, Any]) -> None:
        manifest = self.sync.manifest
        schedule = list(manifest.screen.schedule) if manifest else []
        tz = str(zone(manifest.screen.timezone if manifest else None).key)
        error = self.screen.update(schedule, tz, self.time.now(), takeover_active(view))
        if error is not None:
            self.status.set_error("screen_error", error)

    def _seconds_to_next_change(self) -> float | None:
        now = self.time.now()
        content = self.sync.content()
        moments = []
        change = next_change(content.items, content.warnings, now)
        if change is not None:
            moments.append(change)
        if self.status.last_contact is not None:
            stale_at = self.status.last_contact + timedelta(seconds=self.stale_after_s)
            if stale_at > now:
                moments.append(stale_at)
        if not moments:
            return None
        return max(0.0, (min(moments) - now).total_seconds()) + 0.05

    # -- kiosk callbacks (called from the kiosk server's threads) --------------------------

    def on_played(self, item_id: str) -> None:
        """The kiosk page has drawn an item: proof of play (D1)."""
        with self._lock:
            manifest = self.sync.manifest
            item = manifest.item(item_id) if manifest else None
            if item is not None:
                self.outbox.played(item, isoformat_z(self.time.now()))

    def on_alert_shown(self, alert_id: str) -> None:
        """The kiosk page has drawn a warning: acknowledge at once, not batched."""
        with self._lock:
            if not any(w.id == alert_id for w in self.sync.warnings):
                return
            if not self.outbox.alert_shown(alert_id, isoformat_z(self.time.now())):
                return
        self._send_acks()

    def health(self) -> dict[str, Any]:
        return {
            "ok": True,
            "enrolled": self.enrolled,
            "kiosk_last_ping_age_s": self.kiosk.last_ping_age(),
            "server_reachable": self.status.reachable,
            "last_server_contact": isoformat_z(self.last_contact) if self.last_contact else None,
        }

    def heartbeat_body(self) -> dict[str, Any]:
        now = self.time.now()
        return {
            "player_version": __version__,
            "uptime_s": round(self.clock.monotonic() - self._started_mono, 1),
            "sent_at": isoformat_z(now),
            "local_time": isoformat_z(self.clock.wall()),
            "clock_skew_s": self.time.skew_s(),
            "clock_synced": self.time.synced,
            "current_item": self.kiosk.showing(),
            "current_alert": current_alert(self.sync.warnings, now),
            "manifest_etag": self.sync.etag,
            "free_disk_bytes": max(0, self.cache.free_bytes()),
            "screen": self.screen.state_json(),
            "last_error": self.last_error,
            "kiosk_last_ping_age_s": self.kiosk.last_ping_age(),
        }


def notify_ready(notify: Callable[[str], Any] = sd_notify) -> None:
    notify("READY=1\nSTATUS=Kioskseite bereit")
