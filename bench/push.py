"""Protocol v2 in production shape: nginx + nchan edges (bench/edge.py, the shipped
configuration), ``aushang serve`` (gevent) for the app, ``aushang publisher`` and
``aushang scheduler``, PostgreSQL. Simulated players act like the daemon
(player/stream.py, player/outbox.py): the snapshot, one SSE stream for their channels, the
delivered acknowledgement right after the warning is drawn and the shown one after the
kiosk page confirms it (100–300 ms later, on the same kept-alive connection), a heartbeat
every 60 s, the snapshot again within ``fetch_within_s`` after a message.

Sections: ``push`` (one edge, idle and fan-out), ``push2`` (two edges sharing Redis,
players spread over both), ``push10k`` (10,000 players), ``storm`` (every player
reconnecting at once after an edge restart).
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from . import harness, report
from .push_stack import Stack, db_deliveries, start_stack
from .sim import iso_now, new_session, trigger_alert

V1 = "/api/player/v1"
V2 = "/api/player/v2"
HEARTBEAT_S = 60.0
KIOSK_DELAY = (0.1, 0.3)
SECTIONS = ("push", "push2", "push10k", "storm")


@dataclass(eq=False)
class StreamPlayer:
    n: int
    token: str
    display_id: str
    base: str = ""
    etag: str | None = None
    channels: str = ""
    last_id: str | None = None
    connected: bool = False
    connects: int = 0
    received: dict[str, float] = field(default_factory=dict)
    delivered_ack: dict[str, float] = field(default_factory=dict)
    shown_ack: dict[str, float] = field(default_factory=dict)
    requests: int = 0
    errors: int = 0
    timeouts: int = 0
    last_error: str = ""
    connected_at: float = 0.0

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class Fleet:
    def __init__(self, session: aiohttp.ClientSession, players: list[StreamPlayer]) -> None:
        self.session = session
        self.players = players
        self.tasks: list[asyncio.Task] = []
        self.side: set[asyncio.Task] = set()
        self.stopping = False

    def _spawn(self, coro) -> None:
        task = asyncio.create_task(coro)
        self.side.add(task)
        task.add_done_callback(self.side.discard)

    async def state(self, p: StreamPlayer) -> None:
        headers = p.headers
        if p.etag:
            headers["If-None-Match"] = f'"{p.etag}"'
        async with self.session.get(f"{p.base}{V2}/state", headers=headers) as r:
            p.requests += 1
            await r.read()
            if r.status not in (200, 304):
                raise RuntimeError(f"state {r.status}")
            p.channels = r.headers.get("Aushang-Channels", p.channels)
            if r.status == 200:
                p.etag = r.headers.get("ETag", "").strip('W/"') or p.etag

    async def ack(self, p: StreamPlayer, alert_id: str, delivered: str, shown: str | None):
        body = {
            "alert_id": alert_id,
            "display_id": p.display_id,
            "delivered_at": delivered,
            "shown_at": shown,
        }
        delay = 1.0
        for _ in range(8):
            try:
                async with self.session.post(
                    f"{p.base}{V1}/alerts/{alert_id}/ack",
                    json=body,
                    headers=p.headers,
                    timeout=aiohttp.ClientTimeout(total=5),
                ) as r:
                    await r.read()
                    p.requests += 1
                    if r.status == 200:
                        (p.shown_ack if shown else p.delivered_ack)[alert_id] = time.perf_counter()
                        return
                    p.last_error = f"ack {r.status}"
            except TimeoutError:
                p.timeouts += 1
                p.last_error = "ack timeout"
            except aiohttp.ClientError as exc:
                p.last_error = f"ack {exc!r}"
            p.errors += 1
            await asyncio.sleep(delay * random.random())  # jittered backoff, as the daemon
            delay = min(delay * 2, 30)

    async def acks(self, p: StreamPlayer, alert_id: str) -> None:
        delivered = iso_now()
        await self.ack(p, alert_id, delivered, None)
        await asyncio.sleep(random.uniform(*KIOSK_DELAY))  # the kiosk page confirms
        await self.ack(p, alert_id, delivered, iso_now())

    async def snapshot_later(self, p: StreamPlayer, within: float) -> None:
        await asyncio.sleep(within * random.random())
        try:
            await self.state(p)
        except (aiohttp.ClientError, TimeoutError, RuntimeError) as exc:
            p.errors += 1
            p.last_error = f"state {exc!r}"

    def on_message(self, p: StreamPlayer, data: dict[str, Any], at: float) -> None:
        if data.get("type") == "warnings":
            for warning in data.get("warnings") or []:
                alert_id = str(warning["id"])
                if alert_id not in p.received:
                    p.received[alert_id] = at  # drawn now; acknowledged after
                    self._spawn(self.acks(p, alert_id))
        self._spawn(self.snapshot_later(p, float(data.get("fetch_within_s") or 5)))

    async def stream_once(self, p: StreamPlayer) -> None:
        headers = {**p.headers, "Accept": "text/event-stream"}
        if p.last_id:
            headers["Last-Event-ID"] = p.last_id
        async with self.session.get(
            f"{p.base}{V2}/stream?c={p.channels}",
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=None, sock_read=70),
        ) as r:
            p.requests += 1
            if r.status != 200:
                raise RuntimeError(f"stream {r.status}")
            p.connected, p.connects = True, p.connects + 1
            p.connected_at = time.perf_counter()
            data: list[str] = []
            event_id = None
            async for raw in r.content:
                line = raw.decode().rstrip("\r\n")
                if line:
                    if line.startswith("data:"):
                        data.append(line[5:].lstrip())
                    elif line.startswith("id:"):
                        event_id = line[3:].strip()
                    continue
                if event_id:
                    p.last_id = event_id
                if data:
                    at = time.perf_counter()
                    self.on_message(p, json.loads("\n".join(data)), at)
                data, event_id = [], None

    async def run_player(self, p: StreamPlayer, stagger: float) -> None:
        await asyncio.sleep(stagger)
        backoff = 1.0
        while not self.stopping:
            try:
                if not p.channels:
                    await self.state(p)
                await self.stream_once(p)
                backoff = 1.0
            except (aiohttp.ClientError, TimeoutError, RuntimeError, ValueError) as exc:
                p.errors += 1
                p.last_error = f"stream {exc!r}"
            p.connected = False
            if self.stopping:
                return
            await asyncio.sleep(backoff * random.random())  # full jitter, as the daemon
            backoff = min(backoff * 2, 30)

    async def heartbeats(self, p: StreamPlayer) -> None:
        await asyncio.sleep(random.uniform(0, HEARTBEAT_S))
        while not self.stopping:
            try:
                async with self.session.post(
                    f"{p.base}{V1}/heartbeat",
                    json={"player_version": "bench", "sent_at": iso_now()},
                    headers=p.headers,
                ) as r:
                    await r.read()
                    p.requests += 1
            except (aiohttp.ClientError, TimeoutError) as exc:
                p.errors += 1
                p.last_error = f"heartbeat {exc!r}"
            await asyncio.sleep(HEARTBEAT_S)

    def start(self, ramp_s: float) -> None:
        for p in self.players:
            stagger = ramp_s * p.n / max(1, len(self.players))
            self.tasks.append(asyncio.create_task(self.run_player(p, stagger)))
            self.tasks.append(asyncio.create_task(self.heartbeats(p)))

    async def all_connected(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(p.connected for p in self.players):
                return True
            await asyncio.sleep(0.2)
        return False

    async def all_acked(self, alert_id: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(alert_id in p.shown_ack for p in self.players):
                return True
            await asyncio.sleep(0.05)
        return False

    async def stop(self) -> None:
        self.stopping = True
        for task in self.tasks + list(self.side):
            task.cancel()
        await asyncio.gather(*self.tasks, *self.side, return_exceptions=True)


@dataclass
class PushRun:
    label: str
    players: int
    edges: int
    received: list[float] = field(default_factory=list)
    delivered: list[float] = field(default_factory=list)
    shown: list[float] = field(default_factory=list)
    acks_in_db: int = 0
    shown_in_db: int = 0
    idle_cpu: float | None = None
    idle_seconds: float = 0.0
    idle_requests: int = 0
    client_cpu: float | None = None
    server_cpu_during: float | None = None
    errors: int = 0
    timeouts: int = 0
    last_error: str = ""
    storm_connected_s: float | None = None
    storm_pool_timeouts: int = 0
    storm_lost: int = 0
    trigger_answer_s: float = 0.0
    idle_parts: dict[str, float] = field(default_factory=dict)


async def fan_out(fleet: Fleet, stack: Stack, world, run: PushRun, label: str, timeout: float):
    async with new_session() as trigger:
        with harness.Meter(stack.pids, every=0.25) as during:
            alert_id, started, answered = await trigger_alert(
                trigger, stack.web.base, world.api_token, label
            )
            done = await fleet.all_acked(alert_id, timeout)
    run.trigger_answer_s = answered - started
    run.server_cpu_during = during.cpu_percent
    if not done:
        print(f"  warning: not every player acknowledged within {timeout:.0f} s")
    for p in fleet.players:
        if alert_id in p.received:
            run.received.append(p.received[alert_id] - started)
        if alert_id in p.delivered_ack:
            run.delivered.append(p.delivered_ack[alert_id] - started)
        if alert_id in p.shown_ack:
            run.shown.append(p.shown_ack[alert_id] - started)
    await asyncio.sleep(1.5)  # the group commit's last batch
    run.acks_in_db, run.shown_in_db = db_deliveries(world.database_url, alert_id)
    return alert_id


async def section(world, players, args, *, label: str, edges: int, storm: bool = False):
    stack = start_stack(world, len(players), edges)
    run = PushRun(label=label, players=len(players), edges=edges)
    fleet_players = [
        StreamPlayer(n=i, token=t, display_id=d, base=stack.edges[i % edges].url)
        for i, (t, d) in enumerate(players)
    ]
    try:
        async with new_session() as session:
            fleet = Fleet(session, fleet_players)
            # Displays that boot at different times: 100 new ones per second (the
            # reconnect storm section measures all of them at once).
            fleet.start(ramp_s=min(len(players) / 100, 40.0))
            if not await fleet.all_connected(args.settle_timeout):
                print("  warning: not every player connected")
            await asyncio.sleep(2.0)
            requests_before = sum(p.requests for p in fleet_players)
            client_before = time.process_time()
            print(f"  {label}: connected, idle window of {args.duration:.0f} s", flush=True)
            stack.forget_pids()
            parts = stack.components()
            before = {k: harness.cpu_seconds(v) for k, v in parts.items()}
            with harness.Meter(stack.pids) as idle:
                await asyncio.sleep(args.duration)
            run.idle_cpu, run.idle_seconds = idle.cpu_percent, idle.seconds
            run.idle_parts = {
                k: 100 * (harness.cpu_seconds(v) - before[k]) / max(idle.seconds, 1e-9)
                for k, v in parts.items()
            }
            stack.forget_pids()
            run.idle_requests = sum(p.requests for p in fleet_players) - requests_before
            run.client_cpu = 100 * (time.process_time() - client_before) / max(idle.seconds, 1)
            if storm:
                await reconnect_storm(fleet, stack, run)
            await fan_out(fleet, stack, world, run, label, args.deliver_timeout)
            await fleet.stop()
    finally:
        stack.stop()
    for p in fleet_players:
        run.errors += p.errors
        run.timeouts += p.timeouts
        run.last_error = p.last_error or run.last_error
    s = report.summary(run.received)
    a = report.summary(run.shown)
    print(
        f"  {label}: received {len(run.received)}/{len(players)} p50 {report.ms(s.get('p50'))}"
        f" p99 {report.ms(s.get('p99'))} max {report.ms(s.get('max'))}; shown acks p99 "
        f"{report.ms(a.get('p99'))}; stored {run.acks_in_db} / shown {run.shown_in_db}; idle "
        f"{run.idle_cpu:.2f} % of a core ("
        + ", ".join(f"{k} {v:.2f}" for k, v in run.idle_parts.items())
        + f"); during {run.server_cpu_during:.0f} %; errors "
        f"{run.errors} timeouts {run.timeouts} {run.last_error}; trigger answered after "
        f"{report.ms(run.trigger_answer_s)}",
        flush=True,
    )
    return run


async def reconnect_storm(fleet: Fleet, stack: Stack, run: PushRun) -> None:
    """Kill the edge: every stream drops at once; restart it; all reconnect."""

    # A pool time-out is logged as a 503 (database_unavailable) or a heartbeat not stored.
    def pool_timeouts() -> int:
        text = stack.app.log_path.read_text()
        return text.count("error=TimeoutError")

    log_before = pool_timeouts()
    edge = stack.edges[0]
    before = {p.n: p.connects for p in fleet.players}
    started = time.perf_counter()
    edge.kill()
    edge.start()
    # Back means a new stream: its connection count went up (not a flag that has not
    # noticed the drop yet).
    deadline = time.monotonic() + 120.0
    while time.monotonic() < deadline:
        if all(p.connects > before[p.n] and p.connected for p in fleet.players):
            break
        await asyncio.sleep(0.05)
    run.storm_connected_s = time.perf_counter() - started
    run.storm_lost = sum(1 for p in fleet.players if p.connects <= before[p.n])
    ok = run.storm_lost == 0
    run.storm_pool_timeouts = pool_timeouts() - log_before
    print(
        f"  storm: {'all' if ok else 'NOT all'} reconnected after "
        f"{run.storm_connected_s:.1f} s; pool time-outs {run.storm_pool_timeouts}",
        flush=True,
    )
    await asyncio.sleep(8.0)  # the spread snapshots of the reconnect are through


# --- report -------------------------------------------------------------------------------


def table(runs: list[PushRun]) -> list[str]:
    lines = [
        "| Setup | Players | Received | p50 | p99 | max | Delivered acks p99 | Shown acks p99 "
        "| Stored (delivered / shown) | Time-outs | Server CPU during |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in runs:
        s, d, a = report.summary(r.received), report.summary(r.delivered), report.summary(r.shown)
        lines.append(
            f"| {r.label} | {r.players} | {len(r.received)} | {report.ms(s.get('p50'))} | "
            f"{report.ms(s.get('p99'))} | {report.ms(s.get('max'))} | {report.ms(d.get('p99'))}"
            f" | {report.ms(a.get('p99'))} | {r.acks_in_db} / {r.shown_in_db} | {r.timeouts} | "
            f"{r.server_cpu_during:.0f} % |"
        )
    return lines


def idle_table(runs: list[PushRun]) -> list[str]:
    lines = [
        "| Setup | Players | Window | Server side CPU (% of one core) | Requests | Simulator CPU |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in runs:
        lines.append(
            f"| {r.label} | {r.players} | {r.idle_seconds:.0f} s | {r.idle_cpu:.2f} % | "
            f"{r.idle_requests} | {r.client_cpu:.0f} % |"
        )
    return lines


def storm_lines(r: PushRun) -> list[str]:
    return [
        "| Players | All reconnected after | Not reconnected | Pool time-outs | Then: received | p99 |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
        f"| {r.players} | {r.storm_connected_s:.1f} s | {r.storm_lost} | {r.storm_pool_timeouts} "
        f"| {len(r.received)} | {report.ms(report.summary(r.received).get('p99'))} |",
    ]


async def run(args, world, players) -> dict[str, PushRun]:
    results: dict[str, PushRun] = {}
    only = set(args.only)
    base = players[: args.players]
    if "push" in only:
        results["push"] = await section(world, base, args, label="v2, one edge", edges=1)
    if "push2" in only:
        results["push2"] = await section(
            world, base, args, label="v2, two edges sharing Redis", edges=2
        )
    if "storm" in only:
        results["storm"] = await section(
            world, base, args, label="v2, after a reconnect storm", edges=1, storm=True
        )
    if "push10k" in only and len(players) > len(base):
        results["push10k"] = await section(world, players, args, label="v2, one edge", edges=1)
    return results
