"""Fakes for the player's collaborators: a server, a clock, a kiosk page, a screen."""

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
