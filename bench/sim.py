"""Simulated players in one process: aiohttp on asyncio, the real protocol, each player
with its own token (contract/README.md).

Times are ``time.perf_counter()`` of this process; a player's "received" time is taken
when the answer's headers are in, before its JSON is parsed, so the simulator's own
event-loop delay is part of every number (and reported as such)."""

from __future__ import annotations

import asyncio
import json
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

import aiohttp

API = "/api/player/v1"


def iso_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(eq=False)
class SimPlayer:
    n: int
    token: str
    display_id: str
    etag: str | None = None
    in_flight: bool = False
    polls: int = 0
    not_modified: int = 0
    errors: int = 0
    last_error: str = ""
    received: dict[str, float] = field(default_factory=dict)
    acked: dict[str, float] = field(default_factory=dict)
    next_heartbeat: float = 0.0  # time.monotonic()
    started: float = 0.0
    ran_out: bool = False  # the last long-poll ended with 304 after its full wait

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def new_session(limit: int = 0) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(limit=limit, keepalive_timeout=90, ttl_dns_cache=None)
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=30, sock_read=120)
    return aiohttp.ClientSession(connector=connector, timeout=timeout)


async def enrol(
    session: aiohttp.ClientSession, base: str, provisioning_token: str, n: int
) -> SimPlayer:
    body = {
        "player_version": "bench",
        "hostname": f"bench-player-{n:05d}",
        "provisioning_token": provisioning_token,
    }
    async with session.post(f"{base}{API}/enroll", json=body) as r:
        data = await r.json(content_type=None)
        if r.status != 201:
            raise RuntimeError(f"enrol {n}: {r.status} {data}")
    return SimPlayer(n=n, token=data["token"], display_id=str(data["display"]["id"]))


async def enrol_all(
    session: aiohttp.ClientSession, base: str, provisioning_token: str, count: int
) -> list[SimPlayer]:
    gate = asyncio.Semaphore(32)

    async def one(n: int) -> SimPlayer:
        async with gate:
            return await enrol(session, base, provisioning_token, n)

    return list(await asyncio.gather(*(one(n) for n in range(count))))


class Swarm:
    """Runs the players against one server: long-poll or fixed-interval polling."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base: str,
        players: list[SimPlayer],
        *,
        wait: int = 55,
        poll_interval: float | None = None,
        heartbeat_s: float | None = 60.0,
    ) -> None:
        self.session = session
        self.base = base
        self.players = players
        self.wait = wait
        self.poll_interval = poll_interval
        self.heartbeat_s = heartbeat_s
        self.tasks: list[asyncio.Task] = []
        self.ack_tasks: set[asyncio.Task] = set()
        self.stopping = False

    # --- one manifest request ---------------------------------------------------------

    async def fetch(self, p: SimPlayer, wait: int) -> None:
        headers = p.headers
        if p.etag:
            headers["If-None-Match"] = f'"{p.etag}"'
        p.in_flight = True
        try:
            async with self.session.get(
                f"{self.base}{API}/manifest", params={"wait": str(wait)}, headers=headers
            ) as r:
                at = time.perf_counter()
                p.polls += 1
                p.ran_out = r.status == 304 and wait > 0
                if r.status == 304:
                    p.not_modified += 1
                    await r.read()
                    return
                raw = await r.read()
                if r.status != 200:
                    p.errors += 1
                    p.last_error = f"manifest {r.status} {raw[:200]!r}"
                    await asyncio.sleep(1)
                    return
                manifest = json.loads(raw)
                p.etag = r.headers.get("ETag", "").removeprefix("W/").strip('"') or manifest.get(
                    "etag"
                )
                for warning in manifest.get("warnings") or []:
                    alert_id = str(warning["id"])
                    if alert_id not in p.received:
                        p.received[alert_id] = at
                        task = asyncio.create_task(self.ack(p, alert_id))
                        self.ack_tasks.add(task)
                        task.add_done_callback(self.ack_tasks.discard)
        finally:
            p.in_flight = False

    async def ack(self, p: SimPlayer, alert_id: str) -> None:
        now = iso_now()
        body = {
            "alert_id": alert_id,
            "display_id": p.display_id,
            "delivered_at": now,
            "shown_at": now,
        }
        for _attempt in range(5):
            try:
                async with self.session.post(
                    f"{self.base}{API}/alerts/{alert_id}/ack", json=body, headers=p.headers
                ) as r:
                    await r.read()
                    if r.status == 200:
                        p.acked[alert_id] = time.perf_counter()
                        return
                    p.last_error = f"ack {r.status}"
            except (aiohttp.ClientError, TimeoutError) as exc:
                p.last_error = f"ack {exc!r}"
            p.errors += 1
            await asyncio.sleep(0.2)

    # --- loops ------------------------------------------------------------------------

    async def _long_poll(self, p: SimPlayer) -> None:
        # Players boot at different times: the first long-poll after the manifest waits a
        # random part of the wait, so that the swarm reaches its steady state (requests
        # spread evenly) at once instead of returning all together every `wait` seconds.
        first = True
        while not self.stopping:
            wait = self.wait if p.etag else 0
            if wait and first:
                wait, first = random.randint(1, self.wait), False
            try:
                if p.ran_out:  # idle: the heartbeat due during the wait goes out first
                    await self._heartbeat_if_due(p, horizon=wait)
                else:  # right after a change: cut the wait at the heartbeat instead
                    await self._heartbeat_if_due(p, horizon=0)
                    if wait and p.next_heartbeat:
                        due_in = p.next_heartbeat - time.monotonic()
                        wait = max(1, min(wait, int(due_in)))
                await self.fetch(p, wait)
            except (aiohttp.ClientError, TimeoutError) as exc:
                p.errors += 1
                p.last_error = repr(exc)
                await asyncio.sleep(1 + random.random())

    async def _poll(self, p: SimPlayer) -> None:
        assert self.poll_interval
        await asyncio.sleep(random.uniform(0, self.poll_interval))
        while not self.stopping:
            started = time.perf_counter()
            try:
                await self._heartbeat_if_due(p, horizon=0)
                await self.fetch(p, 0)
            except (aiohttp.ClientError, TimeoutError) as exc:
                p.errors += 1
                p.last_error = repr(exc)
            await asyncio.sleep(max(0.0, self.poll_interval - (time.perf_counter() - started)))

    async def _heartbeat_if_due(self, p: SimPlayer, horizon: float) -> None:
        """As the player daemon: in the same loop as the manifest requests (so on the same
        connection), sent early rather than cutting a long-poll short."""
        if not self.heartbeat_s:
            return
        now = time.monotonic()
        if not p.started:
            p.started = now
            p.next_heartbeat = now + random.uniform(0, self.heartbeat_s)
        if now + horizon < p.next_heartbeat:
            return
        p.next_heartbeat = now + self.heartbeat_s
        body = {
            "player_version": "bench",
            "uptime_s": round(now - p.started, 1),
            "sent_at": iso_now(),
            "local_time": iso_now(),
            "clock_skew_s": 0.0,
            "clock_synced": True,
            "current_item": None,
            "current_alert": None,
            "manifest_etag": p.etag,
            "free_disk_bytes": 5_000_000_000,
            "screen": {"desired": "on", "actual": "on", "method": "none", "mismatch": False},
            "last_error": None,
            "kiosk_last_ping_age_s": 1.0,
        }
        async with self.session.post(
            f"{self.base}{API}/heartbeat", json=body, headers=p.headers
        ) as r:
            await r.read()
            if r.status != 200:
                p.errors += 1
                p.last_error = f"heartbeat {r.status}"

    def start(self) -> None:
        loop = self._poll if self.poll_interval else self._long_poll
        for p in self.players:
            self.tasks.append(asyncio.create_task(loop(p)))

    async def settled(self, timeout: float) -> bool:
        """Every player has its manifest and (long-poll) a request waiting."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            ready = all(p.etag for p in self.players) and (
                self.poll_interval is not None or all(p.in_flight for p in self.players)
            )
            if ready:
                return True
            await asyncio.sleep(0.1)
        return False

    async def wait_for(self, alert_id: str, timeout: float) -> bool:
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if all(alert_id in p.acked for p in self.players):
                return True
            await asyncio.sleep(0.05)
        return False

    async def stop(self) -> None:
        self.stopping = True
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, *self.ack_tasks, return_exceptions=True)


async def trigger_alert(
    session: aiohttp.ClientSession, base: str, api_token: str, label: str
) -> tuple[str, float, float]:
    """POST a CAP-as-JSON alert to the control-centre API; returns (alert id, time
    before sending, time of the answer)."""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    body = {
        "identifier": f"bench-{label}-{time.time_ns()}",
        "sender": "leitstelle@bench.example",
        "sent": now,
        "status": "Actual",
        "msgType": "Alert",
        "scope": "Public",
        "info": [
            {
                "language": "de-DE",
                "category": ["Safety"],
                "event": "Gefahrstoff",
                "urgency": "Immediate",
                "severity": "Extreme",
                "certainty": "Observed",
                "headline": f"Benchmark {label}: Gefahrstoffaustritt",
                "description": "Messung der Zustellzeit an alle Anzeigen.",
                "instruction": "Fenster und Türen schließen.",
                "area": [{"areaDesc": "Benchstadt"}],
            }
        ],
    }
    started = time.perf_counter()
    async with session.post(
        f"{base}/api/v1/alerts",
        data=json.dumps(body),
        headers={"Authorization": f"Bearer {api_token}", "Content-Type": "application/json"},
    ) as r:
        data = await r.json(content_type=None)
        answered = time.perf_counter()
        if r.status not in (200, 201):
            raise RuntimeError(f"alert trigger: {r.status} {data}")
    return str(data["id"]), started, answered


async def hammer(
    base: str, path: str, clients: list[dict[str, str]], seconds: float, expect: int
) -> tuple[int, int, float]:
    """``len(clients)`` concurrent loops sending GET ``path`` with their headers for
    ``seconds``; returns (answers with status ``expect``, other answers, elapsed)."""
    ok = other = 0
    async with new_session(limit=len(clients)) as session:
        deadline = time.perf_counter() + seconds

        async def loop(headers: dict[str, str]) -> None:
            nonlocal ok, other
            while time.perf_counter() < deadline:
                async with session.get(base + path, headers=headers) as r:
                    await r.read()
                    if r.status == expect:
                        ok += 1
                    else:
                        other += 1

        started = time.perf_counter()
        await asyncio.gather(*(loop(h) for h in clients))
        elapsed = time.perf_counter() - started
    return ok, other, elapsed
