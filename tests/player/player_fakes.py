"""Fakes for the player's collaborators: a server, a clock, a kiosk page, a screen, and one
for each of the Player's own parts (enrolment, content sync, outbox, heartbeat, screen
power), so the orchestration can be tested on its own."""

from __future__ import annotations

import hashlib
import json
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from player.backoff import Backoff
from player.cache import Cache
from player.client import ManifestAnswer, NotFound, Unauthorized, Unreachable
from player.clock import isoformat_z
from player.daemon import Player
from player.manifest import Alert, Item, Manifest, parse_manifest
from player.status import ErrorReport
from player.view import Content

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class FakeClock:
    """True time advances with sleep(); the device's wall clock may be off by ``error``."""

    def __init__(self, true_now: datetime = T0, error: timedelta = timedelta(0)) -> None:
        self.true_now = true_now
        self.error = error
        self.mono = 1000.0
        self.slept: list[float] = []

    def wall(self) -> datetime:
        return self.true_now + self.error

    def monotonic(self) -> float:
        return self.mono

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        self.true_now += timedelta(seconds=seconds)
        self.mono += seconds


def blob(data: bytes, media_type: str = "text/html") -> dict[str, Any]:
    return {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data), "media_type": media_type}


def slide_html(title: str, text: str = "") -> bytes:
    return (
        '<!doctype html><html lang="de"><head><meta charset="utf-8"><title>'
        f"{title}</title></head><body><h1>{title}</h1><div data-paged>{text}</div></body></html>"
    ).encode()


def notice_item(
    item_id: str,
    data: bytes,
    valid_from: datetime = T0 - timedelta(days=1),
    valid_until: datetime | None = T0 + timedelta(days=14),
    assets: list[bytes] = (),  # type: ignore[assignment]
) -> dict[str, Any]:
    return {
        "id": item_id,
        "kind": "notice",
        "title": f"Bekanntmachung {item_id}",
        "notice_id": f"n{item_id}",
        "version_hash": hashlib.sha256(b"version" + data).hexdigest(),
        "slide": blob(data),
        "duration_s": 10,
        "valid_from": isoformat_z(valid_from),
        "valid_until": isoformat_z(valid_until) if valid_until else None,
        "assets": [blob(a, "image/png") for a in assets],
    }


def warning(
    alert_id: str = "a1",
    behaviour: str = "takeover",
    status: str = "Actual",
    expires: datetime | None = T0 + timedelta(hours=6),
    msg_type: str = "Alert",
    entwarnung_until: datetime | None = None,
) -> dict[str, Any]:
    return {
        "id": alert_id,
        "identifier": f"DE-NW-{alert_id}",
        "msg_type": msg_type,
        "status": status,
        "behaviour": behaviour,
        "severity": "Severe",
        "headline": "Hochwasser an der Lahn",
        "description": "Der Pegel steigt weiter.",
        "instruction": "Meiden Sie die Uferbereiche.",
        "sender": "Kreis Marburg-Biedenkopf",
        "source": "MoWaS",
        "sent": isoformat_z(T0),
        "expires": isoformat_z(expires) if expires else None,
        "languages": [
            {
                "language": "de",
                "headline": "Hochwasser an der Lahn",
                "description": "Der Pegel steigt weiter.",
            },
            {
                "language": "en",
                "headline": "Flooding on the Lahn",
                "description": "Water is rising.",
            },
        ],
        "qr": None,
        "slide": None,
        "entwarnung_until": isoformat_z(entwarnung_until) if entwarnung_until else None,
    }


class FakeClient:
    """Speaks protocol v1 like the server would, in memory."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.token: str | None = None
        self.online = True
        self.display = {"id": "7", "name": "Rathaus Foyer"}
        self.items: list[dict[str, Any]] = []
        self.warnings: list[dict[str, Any]] = []
        self.screen = {"timezone": "Europe/Berlin", "schedule": []}
        self.files: dict[str, bytes] = {}
        self.revision = 0
        self.heartbeats: list[dict[str, Any]] = []
        self.event_batches: list[dict[str, Any]] = []
        self.acks: list[dict[str, Any]] = []
        self.ack_requests = 0
        self.manifest_waits: list[int] = []
        self.unknown_alerts: set[str] = set()  # acks answered 404, as for a foreign alert
        self.enrolls: list[dict[str, Any]] = []
        self.valid_tokens = {"tok-" + "x" * 40}
        self.paired = False
        self.downloads: list[str] = []
        self.corrupt: set[str] = set()
        self.last_date: datetime | None = None

    # server-side helpers
    def publish(self, items: list[dict[str, Any]] | None = None, warnings=None, files=()) -> None:
        if items is not None:
            self.items = items
        if warnings is not None:
            self.warnings = warnings
        for data in files:
            self.files[hashlib.sha256(data).hexdigest()] = data
        self.revision += 1

    @property
    def etag(self) -> str:
        return f"r{self.revision}"

    def manifest_body(self) -> dict[str, Any]:
        return {
            "protocol": 1,
            "server_time": isoformat_z(self.clock.true_now),
            "display": self.display,
            "etag": self.etag,
            "revision": self.revision,
            "items": json.loads(json.dumps(self.items)),
            "warnings": json.loads(json.dumps(self.warnings)),
            "screen": self.screen,
        }

    def _check(self, auth: bool = True) -> None:
        if not self.online:
            raise Unreachable("ConnectionError: refused")
        self.last_date = self.clock.true_now.replace(microsecond=0)
        if auth and self.token not in self.valid_tokens:
            raise Unauthorized("HTTP 401", 401)

    # protocol
    def enroll(self, body: dict[str, Any]) -> dict[str, Any]:
        self._check(auth=False)
        self.enrolls.append(body)
        if "provisioning_token" in body:
            return {
                "status": "paired",
                "token": sorted(self.valid_tokens)[0],
                "display": self.display,
            }
        return {
            "status": "pending",
            "pairing_code": "K7Q-4XM",
            "claim_secret": "s" * 32,
            "expires_at": isoformat_z(self.clock.true_now + timedelta(minutes=30)),
            "poll_after_s": 5,
        }

    def poll_enrollment(self, code: str, claim_secret: str) -> dict[str, Any]:
        self._check(auth=False)
        if code != "K7Q-4XM":
            raise NotFound("HTTP 404", 404)
        if not self.paired:
            return {"status": "pending", "poll_after_s": 5}
        return {"status": "paired", "token": sorted(self.valid_tokens)[0], "display": self.display}

    def manifest(self, etag: str | None, wait: int) -> ManifestAnswer:
        self._check()
        self.manifest_waits.append(wait)
        if etag == self.etag:
            self.clock.advance(wait)  # the long-poll ran out
            self.last_date = self.clock.true_now.replace(microsecond=0)
            return ManifestAnswer(False, None, etag, self.last_date)
        return ManifestAnswer(True, self.manifest_body(), self.etag, self.last_date)

    @contextmanager
    def asset(self, sha256: str):
        self._check()
        if sha256 not in self.files:
            raise NotFound("HTTP 404", 404)
        self.downloads.append(sha256)
        data = self.files[sha256]
        if sha256 in self.corrupt:
            data = data[:-1] + b"!"
        yield iter([data[: len(data) // 2], data[len(data) // 2 :]])

    def heartbeat(self, body: dict[str, Any]) -> dict[str, Any]:
        self._check()
        self.heartbeats.append(body)
        return {"server_time": isoformat_z(self.clock.true_now)}

    def events(self, body: dict[str, Any]) -> dict[str, Any]:
        self._check()
        self.event_batches.append(body)
        return {"accepted": len(body["events"])}

    def ack(self, alert_id: str, body: dict[str, Any]) -> dict[str, Any]:
        self._check()
        self.ack_requests += 1
        if alert_id in self.unknown_alerts:
            raise NotFound("HTTP 404", 404)
        self.acks.append(body)
        return {"alert_id": alert_id, "status": "recorded"}


class FakeKiosk:
    def __init__(self) -> None:
        self.views: list[dict[str, Any]] = []
        self.player: Player | None = None
        self.ping_age: float | None = 3.0
        self.current: str | None = None

    def bind(self, player) -> None:
        self.player = player

    def publish(self, view: dict[str, Any], media_types=None) -> None:
        self.views.append(view)

    @property
    def view(self) -> dict[str, Any]:
        return self.views[-1]

    def item_ids(self) -> list[str]:
        return [i["id"] for i in self.view["items"]]

    def last_ping_age(self) -> float | None:
        return self.ping_age

    def showing(self) -> str | None:
        return self.current


@dataclass
class FakeScreenState:
    desired: str
    actual: str
    method: str = "cec"
    mismatch: bool = False


class FakeScreen:
    def __init__(self) -> None:
        self.applied: list[bool] = []
        self.wants: list[tuple] = []

    def want(self, schedule, tz, now_utc, warning_active) -> bool:
        self.wants.append((tuple(map(str, schedule)), tz, now_utc, warning_active))
        return True

    def apply(self, want_on: bool) -> FakeScreenState:
        self.applied.append(want_on)
        state = "on" if want_on else "off"
        return FakeScreenState(desired=state, actual=state)


class World:
    """One device: state dir, clock and fakes; ``player()`` builds a fresh process."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.clock = FakeClock()
        self.client = FakeClient(self.clock)
        self.kiosk = FakeKiosk()
        self.screen = FakeScreen()
        self.free = 10**10

    def cache(self) -> Cache:
        return Cache(self.state_dir, disk_free=lambda p: self.free, min_free_bytes=1000)

    def player(self, rng=lambda: 0.5, **kwargs: Any) -> Player:
        """A new process on the same device (same disk, same clock, fresh memory)."""
        self.kiosk = FakeKiosk()
        self.client.token = None
        return Player(
            self.client,
            self.cache(),
            self.kiosk,
            self.clock,
            self.screen,
            backoff=Backoff(base=1, cap=60, rng=rng),
            hostname="pi-test",
            notify=lambda msg: None,
            **kwargs,
        )

    def enrolled_player(self, **kwargs: Any) -> Player:
        self.cache().write_token(sorted(self.client.valid_tokens)[0])
        return self.player(**kwargs)


# -- the Player's own parts ------------------------------------------------------------------


class FakeEnrolment:
    def __init__(self, enrolled: bool = True, delay: float = 5.0) -> None:
        self.enrolled = enrolled
        self.delay = delay
        self.steps = 0

    @property
    def pairing_code(self) -> str | None:
        return None if self.enrolled else "K7Q-4XM"

    def load(self) -> None:
        pass

    def step(self) -> float:
        self.steps += 1
        return self.delay


class FakeSync:
    """Holds a manifest given as the server's JSON; records what the Player asked of it."""

    def __init__(self, body: dict[str, Any] | None = None) -> None:
        self.manifest: Manifest | None = parse_manifest(body) if body else None
        self.etag: str | None = self.manifest.etag if self.manifest else None
        self.warnings: tuple[Alert, ...] = self.manifest.warnings if self.manifest else ()
        self.pending: Manifest | None = None
        self.calls: list[str] = []

    def load(self) -> None:
        self.calls.append("load")

    def forget(self) -> None:
        self.calls.append("forget")
        self.manifest, self.etag, self.warnings = None, None, ()

    def content(self) -> Content:
        m = self.manifest
        return Content(
            items=m.items if m else (),
            warnings=self.warnings,
            timezone=m.screen.timezone if m else None,
            display_name=m.display_name if m else None,
            present=m is not None or bool(self.warnings),
        )

    def display_id(self) -> str | None:
        m = self.manifest or self.pending
        return m.display_id if m else None

    def media_types(self) -> dict[str, str]:
        return {}

    def needs_files(self) -> bool:
        return self.pending is not None

    def receive(self, answer: ManifestAnswer) -> bool:
        self.calls.append("receive")
        self.pending = parse_manifest(answer.manifest)
        changed = [w.raw for w in self.pending.warnings] != [w.raw for w in self.warnings]
        self.warnings = self.pending.warnings
        return changed

    def fetch_missing(self, on_visible) -> None:
        self.calls.append("fetch_missing")

    def commit_pending(self) -> bool:
        if self.pending is None:
            return False
        self.calls.append("commit")
        self.manifest, self.etag, self.pending = self.pending, self.pending.etag, None
        return True

    def prune(self) -> None:
        self.calls.append("prune")


class FakeOutbox:
    """Records what would be sent; ``on_send_acks`` runs when acks go out (to see what the
    kiosk page had been told by then)."""

    def __init__(self) -> None:
        self.played_items: list[str] = []
        self.errors: list[ErrorReport] = []
        self.deliveries: list[set[str]] = []
        self.shown: list[str] = []
        self.ack_sends: list[str | None] = []
        self.events_sent = 0
        self.events_kept = 0
        self.on_send_acks = lambda: None

    def load(self) -> None:
        pass

    def played(self, item: Item, at: str) -> None:
        self.played_items.append(item.id)

    def error(self, report: ErrorReport) -> None:
        self.errors.append(report)

    def send_events(self) -> None:
        self.events_sent += 1

    def keep_events(self) -> None:
        self.events_kept += 1

    def note_deliveries(self, current: set[str], at: str) -> None:
        self.deliveries.append(set(current))

    def alert_shown(self, alert_id: str, at: str) -> bool:
        if alert_id in self.shown:
            return False
        self.shown.append(alert_id)
        return True

    def send_acks(self, display_id: str | None) -> None:
        self.ack_sends.append(display_id)
        self.on_send_acks()

    def ack_retry_in(self) -> float | None:
        return None


class FakeHeartbeat:
    def __init__(self, interval_s: float = 60.0) -> None:
        self.interval_s = interval_s
        self.due = True
        self.bodies: list[dict[str, Any]] = []
        self.made_due = 0
        self.reject = False

    def due_in(self) -> float:
        return 0.0 if self.due else self.interval_s

    def due_now(self) -> None:
        self.made_due += 1
        self.due = True

    def beat(self, body, horizon: float = 0.0) -> datetime | None:
        if not self.due:
            return None
        if self.reject:
            raise Unauthorized("HTTP 401", 401)
        self.bodies.append(body())
        self.due = False
        return None


class FakeScreenPower:
    def __init__(self) -> None:
        self.updates: list[tuple[str, bool]] = []
        self.error: str | None = None

    def update(self, schedule, tz: str, now: datetime, takeover: bool) -> str | None:
        self.updates.append((tz, takeover))
        return self.error

    def state_json(self) -> dict[str, Any] | None:
        return None


class Parts:
    """One fake for each of the Player's parts, and a Player built from them."""

    def __init__(self, world: World, body: dict[str, Any] | None = None) -> None:
        self.world = world
        self.enrolment = FakeEnrolment()
        self.sync = FakeSync(body)
        self.outbox = FakeOutbox()
        self.heartbeat = FakeHeartbeat()
        self.screen_power = FakeScreenPower()

    def player(self, **kwargs: Any) -> Player:
        return self.world.player(
            enrolment=self.enrolment,
            sync=self.sync,
            outbox=self.outbox,
            heartbeat=self.heartbeat,
            screen_power=self.screen_power,
            **kwargs,
        )
