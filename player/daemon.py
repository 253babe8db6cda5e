"""The player daemon: one pass = long-poll → verify and store → choose → tell the kiosk page.

Collaborators are passed in (``client``, ``cache``, ``kiosk``, ``clock``, ``screen``), so the
tests drive the real logic with fakes instead of patches.
"""

from __future__ import annotations

import logging
import socket
import threading
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Protocol

from player import __version__
from player.backoff import Backoff
from player.cache import Cache, CacheError
from player.client import ManifestAnswer, NotFound, Rejected, ServerError, Unauthorized
from player.clock import Clock, TimeBase, isoformat_z, parse_utc
from player.protocol import ProtocolError, check_manifest, manifest_blobs
from player.systemd import sd_notify
from player.view import build_view, next_change, takeover_active, warning_is_active, zone

log = logging.getLogger("player")

MAX_QUEUED_EVENTS = 20_000
EVENTS_BATCH = 500
EVENTS_EVERY_S = 30.0


class Client(Protocol):
    token: str | None

    def enroll(self, body: dict[str, Any]) -> dict[str, Any]: ...
    def poll_enrollment(self, code: str, claim_secret: str) -> dict[str, Any]: ...
    def manifest(self, etag: str | None, wait: int) -> ManifestAnswer: ...
    def asset(self, sha256: str) -> Any: ...
    def heartbeat(self, body: dict[str, Any]) -> dict[str, Any]: ...
    def events(self, body: dict[str, Any]) -> dict[str, Any]: ...
    def ack(self, alert_id: str, body: dict[str, Any]) -> dict[str, Any]: ...


class Kiosk(Protocol):
    def bind(self, player: Player) -> None: ...
    def publish(self, view: dict[str, Any]) -> None: ...
    def last_ping_age(self) -> float | None: ...
    def showing(self) -> str | None: ...


class Screen(Protocol):
    def want(
        self, schedule: list[dict[str, Any]], tz: str, now_utc: datetime, warning_active: bool
    ) -> bool: ...
    def apply(self, want_on: bool) -> Any: ...


def _kv(**fields: Any) -> str:
    parts = []
    for key, value in fields.items():
        text = str(value)
        if not text or any(c in text for c in ' ="'):
            text = '"' + text.replace('"', "'") + '"'
        parts.append(f"{key}={text}")
    return " ".join(parts)


def _screen_dict(state: Any) -> dict[str, Any] | None:
    if state is None:
        return None
    return {
        "desired": state.desired,
        "actual": state.actual,
        "method": state.method,
        "mismatch": bool(state.mismatch),
    }


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
        stale_after_s: float = 300,
        poll_wait_s: int = 55,
        heartbeat_s: float = 60,
        backoff: Backoff | None = None,
        hostname: str | None = None,
        notify: Callable[[str], Any] = sd_notify,
    ) -> None:
        self.client, self.cache, self.kiosk, self.clock, self.screen = (
            client,
            cache,
            kiosk,
            clock,
            screen,
        )
        self.provisioning_token = provisioning_token
        self.stale_after_s = stale_after_s
        self.poll_wait_s = poll_wait_s
        self.heartbeat_s = min(heartbeat_s, 60)
        self.backoff = backoff or Backoff()
        self.hostname = hostname or socket.gethostname()
        self.notify = notify
        self._lock = threading.RLock()
        self._started_mono = clock.monotonic()
        self._started = False
        self.time = TimeBase(clock, cache.read_json("clock.json"))
        self.manifest: dict[str, Any] | None = None
        self.etag: str | None = None
        self.warnings: list[dict[str, Any]] = []
        self.pairing: dict[str, Any] | None = None
        self.last_contact: datetime | None = self.time.last_server_time()
        self.reachable = False
        self.last_error: dict[str, Any] | None = None
        self._condition = "starting"
        self._condition_since: datetime | None = None
        self._events: list[dict[str, Any]] = []
        self._events_dirty = False
        self._acks: dict[str, dict[str, Any]] = {}
        self._next_heartbeat = 0.0
        self._poll_ran_out = False
        self._next_events = 0.0
        self._view: dict[str, Any] | None = None
        self._screen_state: Any = None
        self._screen_want: bool | None = None
        self._screen_checked = -1e18
        kiosk.bind(self)

    # -- start-up ------------------------------------------------------------------------

    @property
    def enrolled(self) -> bool:
        return bool(self.client.token)

    def start(self) -> None:
        """Load and show the cached state; no network yet."""
        self._started = True
        removed = self.cache.remove_temp_files()
        if removed:
            log.info(_kv(event="cache_cleanup", temp_files=removed))
        self.client.token = self.cache.read_token()
        self.pairing = self.cache.read_json("pairing.json")
        stored = self.cache.load_manifest()
        if stored and isinstance(stored.get("manifest"), dict):
            try:
                self.manifest = check_manifest(stored["manifest"])
                self.etag = stored.get("etag") or self.manifest.get("etag")
            except ProtocolError as exc:
                log.warning(_kv(event="cache_manifest_invalid", error=exc))
        warnings = self.cache.read_json("warnings.json")
        if isinstance(warnings, dict) and isinstance(warnings.get("warnings"), list):
            self.warnings = warnings["warnings"]
        elif self.manifest:
            self.warnings = list(self.manifest.get("warnings", []))
        events = self.cache.read_json("events.json")
        if isinstance(events, list):
            self._events = events[-MAX_QUEUED_EVENTS:]
        acks = self.cache.read_json("acks.json")
        if isinstance(acks, dict):
            self._acks = acks
        if self.manifest:
            # Damaged files are deleted here and fetched again in the next pass.
            missing = [s for s in manifest_blobs(self.manifest) if not self.cache.verify(s)]
            if missing:
                log.warning(_kv(event="cache_files_missing", count=len(missing)))
        log.info(
            _kv(
                event="started",
                version=__version__,
                enrolled=self.enrolled,
                cached_items=len((self.manifest or {}).get("items", [])),
                cached_warnings=len(self.warnings),
            )
        )
        self.refresh()

    # -- one pass ------------------------------------------------------------------------

    def run_once(self) -> float:
        """One pass; returns the seconds to wait before the next one."""
        if not self._started:
            self.start()
        if not self.enrolled:
            delay = self._enrol_step()
        else:
            delay = self._content_step()
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

    def _content_step(self) -> float:
        wait = self.poll_wait_s
        if self._needs_files():
            wait = 0
        if self.reachable and wait and self._poll_ran_out:
            # Idle: a heartbeat due while the long-poll waits goes out now, not by
            # cutting the long-poll short, so a cycle is one heartbeat and one manifest
            # request, each heartbeat at most heartbeat_s after the one before. Not right
            # after a change: every display would send its heartbeat in the same second.
            if not self._heartbeat(horizon=wait):
                return 0.0
        heartbeat_in = self._next_heartbeat - self.clock.monotonic()
        wait = int(max(0, min(wait, heartbeat_in)))
        until_change = self._seconds_to_next_change()
        if until_change is not None:
            wait = int(max(0, min(wait, until_change)))
        try:
            answer = self.client.manifest(self.etag, wait)
        except Unauthorized:
            self._token_rejected()
            return 0.0
        except ServerError as exc:
            self._offline(exc)
            self._keep_events()
            return self.backoff.next_delay()
        self._contact(answer.server_date)
        self._poll_ran_out = wait > 0 and not answer.changed
        delay = 0.0
        try:
            if answer.changed:
                self._receive(answer)
            self._fetch_missing()
            if self._pending is not None:
                self._commit_pending()
            self._healthy()
        except Unauthorized:
            self._token_rejected()
            return 0.0
        except ServerError as exc:
            self._offline(exc)
            delay = self.backoff.next_delay()
        except (CacheError, ProtocolError) as exc:
            self._content_error(exc)
            delay = self.backoff.next_delay()
        if self.reachable:
            self._send_reports()
        return delay

    def _keep_events(self) -> None:
        """Offline: keep proof of play on disk (at most every EVENTS_EVERY_S) until sent."""
        mono = self.clock.monotonic()
        if mono >= self._next_events:
            self._flush_events(send=False)
            self._next_events = mono + EVENTS_EVERY_S

    # -- enrolment -----------------------------------------------------------------------

    def _enrol_step(self) -> float:
        body: dict[str, Any] = {"player_version": __version__, "hostname": self.hostname}
        try:
            if self.provisioning_token:
                body["provisioning_token"] = self.provisioning_token
                answer = self.client.enroll(body)
                self._contact(None)
                return self._paired(answer)
            if self.pairing and not self._pairing_expired():
                try:
                    answer = self.client.poll_enrollment(
                        self.pairing["pairing_code"], self.pairing["claim_secret"]
                    )
                except NotFound:
                    log.info(_kv(event="pairing_expired", code=self.pairing["pairing_code"]))
                    self.pairing = None
                    self.cache.remove("pairing.json")
                    return 0.0
                self._contact(None)
                if answer.get("status") == "paired":
                    return self._paired(answer)
                self._healthy()
                return float(answer.get("poll_after_s", 5))
            answer = self.client.enroll(body)
            self._contact(None)
            self.pairing = {
                k: answer[k] for k in ("pairing_code", "claim_secret", "expires_at", "poll_after_s")
            }
            self._write_json("pairing.json", self.pairing)
            log.info(_kv(event="pairing_code", code=self.pairing["pairing_code"]))
            self._healthy()
            return float(answer.get("poll_after_s", 5))
        except Rejected as exc:
            self._content_error(exc)
            return self.backoff.next_delay()
        except ServerError as exc:
            self._offline(exc)
            return self.backoff.next_delay()
        except (KeyError, TypeError) as exc:
            self._content_error(ProtocolError(f"Antwort unvollständig: {exc}"))
            return self.backoff.next_delay()
        except CacheError as exc:
            self._content_error(exc)
            return self.backoff.next_delay()

    def _pairing_expired(self) -> bool:
        try:
            return self.time.now() >= parse_utc(str(self.pairing["expires_at"]))  # type: ignore[index]
        except (KeyError, TypeError, ValueError):
            return True

    def _paired(self, answer: dict[str, Any]) -> float:
        token = answer["token"]
        self.cache.write_token(token)
        self.client.token = token
        self.pairing = None
        self.cache.remove("pairing.json")
        display = answer.get("display") or {}
        log.info(_kv(event="enrolled", display=display.get("id"), name=display.get("name", "")))
        self._healthy()
        return 0.0

    def _token_rejected(self) -> None:
        log.warning(_kv(event="token_rejected", detail="Token ungültig oder widerrufen"))
        self.client.token = None
        self.cache.remove_token()
        # A revoked device shows nothing but a new pairing code.
        self.cache.remove("manifest.json")
        self.cache.remove("warnings.json")
        self.manifest, self.etag, self.warnings, self._pending = None, None, [], None
        self._set_error("unauthorized", "Token abgelehnt; neue Kopplung nötig")

    # -- content -------------------------------------------------------------------------

    _pending: dict[str, Any] | None = None
    _pending_etag: str | None = None

    def _receive(self, answer: ManifestAnswer) -> None:
        manifest = check_manifest(answer.manifest)
        self.time.observe(parse_utc(manifest["server_time"]))
        self._pending, self._pending_etag = manifest, answer.etag or manifest["etag"]
        # Warnings need no download: take them over at once, persist them at once.
        if manifest["warnings"] != self.warnings:
            self.warnings = list(manifest["warnings"])
            self._write_json("warnings.json", {"warnings": self.warnings})
            self._note_deliveries()
            self.refresh()

    def _needs_files(self) -> bool:
        if self._pending is not None:
            return True
        return bool(self.manifest) and any(
            not self.cache.has(s) for s in manifest_blobs(self.manifest or {})
        )

    def _fetch_missing(self) -> None:
        for manifest in (self.manifest, self._pending):
            if not manifest:
                continue
            blobs = manifest_blobs(manifest)
            # Files of warnings first: they are on screen within the second.
            order = sorted(blobs.values(), key=lambda b: 0 if self._is_warning_blob(b) else 1)
            for blob in order:
                if self.cache.has(blob["sha256"]):
                    continue
                with self.client.asset(blob["sha256"]) as chunks:
                    self.cache.store_asset(blob["sha256"], blob["size"], chunks)
                log.debug(_kv(event="asset_stored", sha256=blob["sha256"][:12]))
                if manifest is self.manifest or self._is_warning_blob(blob):
                    self.refresh()

    def _is_warning_blob(self, blob: dict[str, Any]) -> bool:
        for warning in self.warnings:
            qr = warning.get("qr") or {}
            if blob in (warning.get("slide"), qr.get("image")):
                return True
        return False

    def _commit_pending(self) -> None:
        manifest, etag = self._pending, self._pending_etag
        assert manifest is not None
        self.cache.save_manifest({"etag": etag, "manifest": manifest})  # manifest last
        self.manifest, self.etag = manifest, etag
        self._pending = None
        log.info(
            _kv(
                event="manifest_applied",
                revision=manifest.get("revision"),
                items=len(manifest["items"]),
                warnings=len(manifest["warnings"]),
            )
        )
        self.refresh()
        removed = self.cache.remove_unused(set(manifest_blobs(manifest)))
        if removed:
            log.info(_kv(event="cache_pruned", files=len(removed)))

    # -- state shown ---------------------------------------------------------------------

    def view(self) -> dict[str, Any]:
        now = self.time.now()
        manifest = None
        if self.manifest is not None or self.warnings:
            manifest = dict(self.manifest or {"items": [], "screen": {}})
            manifest["warnings"] = self.warnings
        return build_view(
            manifest=manifest,
            now=now,
            has_file=self.cache.has,
            enrolled=self.enrolled,
            pairing_code=(self.pairing or {}).get("pairing_code"),
            last_contact=self.last_contact,
            stale_after_s=self.stale_after_s,
        )

    def refresh(self) -> None:
        """Recompute what the screen shows; tell the kiosk page and the screen on change."""
        with self._lock:
            view = self.view()
            if view != self._view:
                self._view = view
                self.kiosk.publish(view)
            self._update_screen(view)
            state = self.time.to_persist()
            if state is not None:
                try:
                    self._write_json("clock.json", state)
                except CacheError as exc:
                    self._set_error(exc.code, str(exc))

    def _seconds_to_next_change(self) -> float | None:
        now = self.time.now()
        manifest = dict(self.manifest or {})
        manifest["warnings"] = self.warnings
        moments = []
        change = next_change(manifest, now)
        if change is not None:
            moments.append(change)
        if self.last_contact is not None:
            stale_at = self.last_contact + timedelta(seconds=self.stale_after_s)
            if stale_at > now:
                moments.append(stale_at)
        if not moments:
            return None
        return max(0.0, (min(moments) - now).total_seconds()) + 0.05

    def _update_screen(self, view: dict[str, Any]) -> None:
        screen_hours = (self.manifest or {}).get("screen") or {}
        try:
            want = self.screen.want(
                screen_hours.get("schedule", []),
                str(zone(self.manifest).key),
                self.time.now(),
                takeover_active(view),
            )
            mono = self.clock.monotonic()
            if want == self._screen_want and mono - self._screen_checked < self.heartbeat_s:
                return
            self._screen_checked = mono
            state = self.screen.apply(want)
        except Exception as exc:  # a screen tool failing must never stop the content
            self._set_error("screen_error", f"{type(exc).__name__}: {exc}")
            return
        before = _screen_dict(self._screen_state)
        self._screen_want, self._screen_state = want, state
        if _screen_dict(state) != before:
            log.info(_kv(event="screen", **(_screen_dict(state) or {})))

    # -- conditions and their log lines ---------------------------------------------------

    def _contact(self, server_date: datetime | None) -> None:
        if server_date is None:
            server_date = getattr(self.client, "last_date", None)
        if server_date is not None and not (
            self.time.synced and abs((self.time.now() - server_date).total_seconds()) < 1.5
        ):
            # The Date header has whole seconds: only correct a clearly wrong estimate.
            self.time.observe(server_date)
        self.last_contact = self.time.now()
        self.reachable = True

    def _enter(self, condition: str, line: str) -> bool:
        if condition == self._condition:
            return False
        self._condition = condition
        log.warning(line) if condition != "ok" else log.info(line)
        return True

    def _healthy(self) -> None:
        if self._condition != "ok" and self._condition != "starting":
            self._enter("ok", _kv(event="recovered", after=self._condition))
        else:
            self._condition = "ok"
        self.backoff.reset()

    def _offline(self, exc: ServerError) -> None:
        self.reachable = False
        self._enter("offline", _kv(event="server_unreachable", error=exc))
        self._set_error("server_unreachable", str(exc), queue=False)

    def _content_error(self, exc: Exception) -> None:
        code = getattr(exc, "code", "error")
        if isinstance(exc, ProtocolError):
            code = "manifest_invalid"
        if self._enter(code, _kv(event="content_error", code=code, error=exc)):
            self._set_error(code, str(exc))

    def _set_error(self, code: str, message: str, queue: bool = True) -> None:
        at = isoformat_z(self.time.now())
        changed = (self.last_error or {}).get("code") != code
        self.last_error = {"code": code, "message": message[:500], "at": at}
        if changed:
            self._next_heartbeat = 0.0  # staff see a new fault with the next report
        if queue and changed:
            self._queue_event(
                {
                    "type": "error",
                    "id": str(uuid.uuid4()),
                    "code": code,
                    "message": message[:500],
                    "at": at,
                }
            )

    # -- kiosk callbacks (called from the kiosk server's threads) --------------------------

    def on_played(self, item_id: str) -> None:
        """The kiosk page has drawn an item: proof of play (D1)."""
        with self._lock:
            item = next(
                (i for i in (self.manifest or {}).get("items", []) if i["id"] == item_id), None
            )
            if item is None:
                return
            self._queue_event(
                {
                    "type": "play",
                    "id": str(uuid.uuid4()),
                    "item_id": item_id,
                    "notice_id": item.get("notice_id"),
                    "version_hash": item.get("version_hash"),
                    "shown_at": isoformat_z(self.time.now()),
                }
            )

    def on_alert_shown(self, alert_id: str) -> None:
        """The kiosk page has drawn a warning: acknowledge at once, not batched."""
        with self._lock:
            if not any(w["id"] == alert_id for w in self.warnings):
                return
            entry = self._acks.setdefault(
                alert_id, {"delivered_at": isoformat_z(self.time.now()), "confirmed": "none"}
            )
            if entry.get("shown_at"):
                return
            entry["shown_at"] = isoformat_z(self.time.now())
            log.info(_kv(event="alert_shown", alert=alert_id))
            self._persist_acks()
        self._send_acks()

    def health(self) -> dict[str, Any]:
        return {
            "ok": True,
            "enrolled": self.enrolled,
            "kiosk_last_ping_age_s": self.kiosk.last_ping_age(),
            "server_reachable": self.reachable,
            "last_server_contact": isoformat_z(self.last_contact) if self.last_contact else None,
        }

    # -- reports -------------------------------------------------------------------------

    def _queue_event(self, event: dict[str, Any]) -> None:
        with self._lock:
            self._events.append(event)
            if len(self._events) > MAX_QUEUED_EVENTS:
                del self._events[: len(self._events) - MAX_QUEUED_EVENTS]
            self._events_dirty = True

    def _note_deliveries(self) -> None:
        now = isoformat_z(self.time.now())
        with self._lock:
            current = {w["id"] for w in self.warnings}
            for alert_id in current:
                self._acks.setdefault(alert_id, {"delivered_at": now, "confirmed": "none"})
            for alert_id in [a for a in self._acks if a not in current]:
                del self._acks[alert_id]
            self._persist_acks()
        self._send_acks()

    def _persist_acks(self) -> None:
        try:
            self._write_json("acks.json", self._acks)
        except CacheError as exc:
            self._set_error(exc.code, str(exc))

    def _send_acks(self) -> None:
        display_id = ((self.manifest or self._pending or {}).get("display") or {}).get("id")
        if display_id is None or not self.enrolled:
            return
        with self._lock:
            pending = [
                (alert_id, dict(entry))
                for alert_id, entry in self._acks.items()
                if entry["confirmed"] == "none"
                or (entry.get("shown_at") and entry["confirmed"] == "delivered")
            ]
        for alert_id, entry in pending:
            body = {
                "alert_id": alert_id,
                "display_id": display_id,
                "delivered_at": entry["delivered_at"],
                "shown_at": entry.get("shown_at"),
            }
            try:
                self.client.ack(alert_id, body)
            except Unauthorized:
                return  # the next manifest request handles a revoked token
            except Rejected as exc:
                # The server will never take this one (it no longer knows the warning, or
                # it was never meant for this display): asking again every pass only
                # loads the server. The warning itself stays as the manifest says.
                log.warning(_kv(event="ack_rejected", alert=alert_id, error=exc))
                with self._lock:
                    if alert_id in self._acks:
                        self._acks[alert_id]["confirmed"] = "rejected"
                        self._persist_acks()
                continue
            except ServerError as exc:
                log.debug(_kv(event="ack_deferred", alert=alert_id, error=exc))
                return
            with self._lock:
                if alert_id in self._acks:
                    self._acks[alert_id]["confirmed"] = "shown" if body["shown_at"] else "delivered"
                    self._persist_acks()
            log.info(_kv(event="alert_acknowledged", alert=alert_id, shown=bool(body["shown_at"])))

    def _heartbeat(self, horizon: float = 0.0) -> bool:
        """Send the heartbeat if it is due within ``horizon`` seconds; False when the
        token was rejected."""
        mono = self.clock.monotonic()
        if mono + horizon < self._next_heartbeat:
            return True
        try:
            answer = self.client.heartbeat(self.heartbeat_body())
            if "server_time" in answer:
                self._contact(parse_utc(answer["server_time"]))
            self._next_heartbeat = mono + self.heartbeat_s
        except Unauthorized:
            self._token_rejected()
            return False
        except ServerError as exc:
            log.debug(_kv(event="heartbeat_failed", error=exc))
            self._next_heartbeat = mono + 5
        return True

    def _send_reports(self) -> None:
        mono = self.clock.monotonic()
        if not self._heartbeat():
            return
        self._send_acks()
        if mono >= self._next_events:
            self._flush_events()
            self._next_events = mono + EVENTS_EVERY_S

    def _flush_events(self, send: bool = True) -> None:
        while send:
            with self._lock:
                batch = list(self._events[:EVENTS_BATCH])
            if not batch:
                break
            try:
                self.client.events({"events": batch})
            except ServerError as exc:
                log.debug(_kv(event="events_deferred", queued=len(self._events), error=exc))
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
                    self._write_json("events.json", self._events)
                else:
                    self.cache.remove("events.json")
                self._events_dirty = False
            except CacheError:
                pass  # already reported through last_error when the disk is full

    def heartbeat_body(self) -> dict[str, Any]:
        return {
            "player_version": __version__,
            "uptime_s": round(self.clock.monotonic() - self._started_mono, 1),
            "sent_at": isoformat_z(self.time.now()),
            "local_time": isoformat_z(self.clock.wall()),
            "clock_skew_s": self.time.skew_s(),
            "clock_synced": self.time.synced,
            "current_item": self.kiosk.showing(),
            "current_alert": next(
                (w["id"] for w in self.warnings if warning_is_active(w, self.time.now())), None
            ),
            "manifest_etag": self.etag,
            "free_disk_bytes": max(0, self.cache.free_bytes()),
            "screen": _screen_dict(self._screen_state),
            "last_error": self.last_error,
            "kiosk_last_ping_age_s": self.kiosk.last_ping_age(),
        }

    def _write_json(self, name: str, value: Any) -> None:
        self.cache.write_json(name, value)


def notify_ready(notify: Callable[[str], Any] = sd_notify) -> None:
    notify("READY=1\nSTATUS=Kioskseite bereit")
