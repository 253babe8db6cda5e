"""Player-protocol benchmark: the production setup driven by simulated players.

Starts ``aushang serve`` (gunicorn) on a private PostgreSQL database on 127.0.0.1,
enrols N players through a provisioning token (each gets its own token), and measures:

* fanout     — N players long-polling one server process; an alert posted to
               ``/api/v1/alerts``; time to each player's manifest with it and to each
               acknowledgement stored (its 200 answer; rows counted in the database).
               Before the trigger, the idle window: server CPU and memory.
* fanout2    — the same with two server processes: players on one, the alert posted to
               the other (the PostgreSQL LISTEN/NOTIFY path).
* baseline   — the same players polling every 5 s without long-poll, as the anchors do.
* conditional— 304 answers per second at 64 concurrent clients, against /healthz.
* workers    — the fan-out and idle cost again under gevent workers (if installed).
* player     — a real ``python -m player`` process: memory and CPU idle and while
               syncing 100 slides.

    python -m bench.players [--players 2000] [--duration 60] [--only fanout,baseline]
                            [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/]
                            [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import harness, report

SECTIONS = ("fanout", "fanout2", "baseline", "conditional", "workers", "player")
DEFAULT_DB = "postgresql+psycopg://postgres@127.0.0.1:5432/"
HTTP_ENROLMENTS = 20  # below the enrolment route's per-address limit
PLAYER_WAIT = 55  # the player daemon's default long-poll (player/config.py)
PLOT = report.ROOT / "docs" / "performance-latency.svg"


@dataclass
class World:
    database_url: str
    instance: Path
    provisioning_token: str
    api_token: str
    tenant_id: int
    tenant_slug: str


@dataclass
class FanOut:
    label: str
    players: int
    received: list[float] = field(default_factory=list)
    acked: list[float] = field(default_factory=list)
    acks_in_db: int = 0
    db_last_ack_s: float | None = None
    trigger_answer_s: float = 0.0
    idle_cpu: float | None = None
    idle_rss: int | None = None
    idle_seconds: float = 0.0
    idle_polls: int = 0
    client_cpu: float | None = None
    errors: int = 0
    last_error: str = ""
    server_cpu_during: float | None = None
    client_cpu_during: float | None = None


def settings_env(world_db: str, instance: Path) -> dict[str, str]:
    return {
        "DATABASE_URL": world_db,
        "AUSHANG_INSTANCE_PATH": str(instance),
        "SECRET_KEY": "bench",
        "AUSHANG_BASE_URL": "http://127.0.0.1",
    }


def seed(database_url: str, instance: Path) -> World:
    """Migrate; a tenant, an admin, a provisioning token and an alert API token."""
    from flask_migrate import upgrade

    from server import create_app
    from server.config import load_settings
    from server.extensions import db
    from server.services import alerts, people

    # isort: split
    from server.services.displays import enrolment

    now = datetime.now(UTC)
    app = create_app(settings=load_settings(settings_env(database_url, instance)))
    with app.app_context():
        upgrade()
        tenant = people.create_tenant(
            db.session,
            name="Benchstadt",
            slug="benchstadt",
            ars="150855555555",
            now=now,
            actor="bench",
        )
        user = people.create_user(
            db.session,
            email="bench@benchstadt.example",
            name="Bench",
            password="Bench-Passwort-2026",
            now=now,
            actor="bench",
            tenant=tenant,
            roles=["admin", "alerter"],
        )
        _, prov = enrolment.create_provisioning_token(db.session, tenant, user, "Benchmark", now)
        _, api = alerts.create_api_token(
            db.session, tenant=tenant, name="Leitstelle Benchmark", user=user, now=now
        )
        db.session.commit()
        world = World(database_url, instance, prov, api, tenant.id, tenant.slug)
        db.engine.dispose()
    return world


def enrol_direct(world: World, start: int, count: int) -> list[tuple[str, str]]:
    """Enrol players through the provisioning service in this process.

    The HTTP enrolment route limits each address to 30 enrolments in 10 minutes (abuse
    protection), so the simulator enrols the first players over HTTP and the rest here:
    the same provisioning token and service, one display and one token each."""
    from server import create_app
    from server.config import load_settings
    from server.extensions import db

    # isort: split
    from server.services.displays import enrolment

    now = datetime.now(UTC)
    app = create_app(settings=load_settings(settings_env(world.database_url, world.instance)))
    out = []
    with app.app_context():
        for n in range(start, start + count):
            issued = enrolment.enrol_with_provisioning(
                db.session,
                provisioning_token=world.provisioning_token,
                player_version="bench",
                hostname=f"bench-player-{n:05d}",
                now=now,
            )
            out.append((issued.token, str(issued.display.id)))
            if n % 200 == 199:
                db.session.commit()
        db.session.commit()
        db.engine.dispose()
    return out


def db_acks(database_url: str, alert_id: str) -> tuple[int, datetime | None]:
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            row = conn.execute(
                text(
                    "SELECT count(*), max(received_at) FROM display_alert_delivery "
                    "WHERE alert_id = :a"
                ),
                {"a": int(alert_id)},
            ).one()
    finally:
        engine.dispose()
    last = row[1]
    if last is not None and last.tzinfo is None:
        last = last.replace(tzinfo=UTC)
    return int(row[0]), last


# --- sections -------------------------------------------------------------------------


async def run_swarm(
    world: World,
    players: list,
    *,
    label: str,
    hold: harness.ServerProcess,
    entry: harness.ServerProcess,
    idle_seconds: float,
    poll_interval: float | None,
    wait: int,
    settle_timeout: float,
    deliver_timeout: float,
) -> FanOut:
    from . import sim

    result = FanOut(label=label, players=len(players))
    async with sim.new_session() as session:
        swarm = sim.Swarm(session, hold.base, players, wait=wait, poll_interval=poll_interval)
        swarm.start()
        settled = await swarm.settled(settle_timeout)
        if not settled:
            print(f"  warning: not every player settled within {settle_timeout:.0f} s")
        await asyncio.sleep(1.0)  # the last waiting requests reach the server
        polls_before = sum(p.polls for p in players)
        client_before = time.process_time()
        print(f"  {label}: settled, idle window of {idle_seconds:.0f} s", flush=True)
        with harness.Meter(hold.pids) as idle:
            await asyncio.sleep(idle_seconds)
        result.idle_cpu, result.idle_rss = idle.cpu_percent, idle.rss_mean
        result.idle_seconds = idle.seconds
        result.idle_polls = sum(p.polls for p in players) - polls_before
        result.client_cpu = 100 * (time.process_time() - client_before) / max(idle.seconds, 1e-9)
        wall_trigger = datetime.now(UTC)
        print(f"  {label}: alert triggered", flush=True)
        client_before = time.process_time()
        with harness.Meter(hold.pids, every=0.25) as during:
            alert_id, started, answered = await sim.trigger_alert(
                session, entry.base, world.api_token, label
            )
            done = await swarm.wait_for(alert_id, deliver_timeout)
        result.server_cpu_during = during.cpu_percent
        result.client_cpu_during = (
            100 * (time.process_time() - client_before) / max(during.seconds, 1e-9)
        )
        result.trigger_answer_s = answered - started
        if not done:
            print(f"  warning: not every player acknowledged within {deliver_timeout:.0f} s")
        await swarm.stop()
    for p in players:
        if alert_id in p.received:
            result.received.append(p.received[alert_id] - started)
        if alert_id in p.acked:
            result.acked.append(p.acked[alert_id] - started)
        result.errors += p.errors
        result.last_error = p.last_error or result.last_error
        p.errors, p.last_error = 0, ""
    result.acks_in_db, last = db_acks(world.database_url, alert_id)
    if last is not None:
        result.db_last_ack_s = (last - wall_trigger).total_seconds()
    stats = report.summary(result.received)
    print(
        f"  {label}: received {len(result.received)}/{len(players)} p50 "
        f"{report.ms(stats.get('p50'))} p99 {report.ms(stats.get('p99'))} max "
        f"{report.ms(stats.get('max'))}; acks stored {result.acks_in_db}; idle server CPU "
        f"{result.idle_cpu:.1f} % of a core; trigger answered after "
        f"{report.ms(result.trigger_answer_s)}; server CPU during the fan-out "
        f"{result.server_cpu_during:.0f} %, simulator {result.client_cpu_during:.0f} %; "
        f"errors {result.errors} {result.last_error}"
    )
    return result


def threads_for(players: int) -> int:
    return players + 64


def connections_for(players: int) -> int:
    """A player holds its long-poll and, while it acknowledges a warning, a second
    connection (the kiosk thread's): two per player at the moment of a fan-out."""
    return 2 * players + 64


async def section_fanout(world, players, args, two: bool = False, worker_class=None):
    worker_class = worker_class or args.worker_class
    hold = harness.start_server(
        world.database_url,
        world.instance,
        workers=1,
        threads=threads_for(len(players)),
        worker_class=worker_class,
        connections=connections_for(len(players)),
    )
    entry = hold
    try:
        if two:
            entry = harness.start_server(world.database_url, world.instance, workers=1, threads=16)
        label = ("fanout2" if two else "fanout") + (
            "" if worker_class == args.worker_class else f"-{worker_class}"
        )
        return await run_swarm(
            world,
            players,
            label=label,
            hold=hold,
            entry=entry,
            idle_seconds=args.duration,
            poll_interval=None,
            wait=PLAYER_WAIT,
            settle_timeout=args.settle_timeout,
            deliver_timeout=args.deliver_timeout,
        )
    finally:
        if entry is not hold:
            entry.stop()
        hold.stop()


async def section_baseline(world, players, args):
    hold = harness.start_server(
        world.database_url, world.instance, workers=1, threads=256, worker_class=args.worker_class
    )
    try:
        return await run_swarm(
            world,
            players,
            label="baseline",
            hold=hold,
            entry=hold,
            idle_seconds=args.duration,
            poll_interval=5.0,
            wait=0,
            settle_timeout=args.settle_timeout,
            deliver_timeout=max(args.deliver_timeout, 15.0),
        )
    finally:
        hold.stop()


async def section_conditional(world, players, args) -> dict[str, Any]:
    from . import sim

    clients = players[:64]
    server = harness.start_server(
        world.database_url, world.instance, workers=2, threads=64, worker_class=args.worker_class
    )
    try:
        async with sim.new_session() as session:
            for p in clients:
                await sim.Swarm(session, server.base, [p]).fetch(p, 0)
        manifest_headers = [dict(p.headers, **{"If-None-Match": f'"{p.etag}"'}) for p in clients]
        out: dict[str, Any] = {
            "clients": len(clients),
            "workers": 2,
            "worker_class": args.worker_class,
        }
        for name, path, headers, expect in (
            ("manifest", "/api/player/v1/manifest?wait=0", manifest_headers, 304),
            ("healthz", "/healthz", [{} for _ in clients], 200),
        ):
            client_before = time.process_time()
            with harness.Meter(server.pids) as meter:
                ok, other, elapsed = await sim.hammer(
                    server.base, path, headers, args.rps_seconds, expect
                )
            out[name] = {
                "rps": ok / elapsed,
                "other": other,
                "server_cpu": meter.cpu_percent,
                "client_cpu": 100 * (time.process_time() - client_before) / elapsed,
            }
            print(
                f"  {name}: {ok / elapsed:,.0f} answers {expect}/s ({other} other), server "
                f"CPU {meter.cpu_percent:.0f} %, client CPU {out[name]['client_cpu']:.0f} %"
            )
        return out
    finally:
        server.stop()


# --- the document ---------------------------------------------------------------------


def run_line(info: dict[str, str], args) -> str:
    return (
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, commit `{info['commit']}`, "
        f"{info['cpu']} ({info['cores']} cores), {info['memory']}, {info['python']}, "
        f"load average at start {info['load']}; {args.players} players"
        f"{' (--quick)' if args.quick else ''}."
    )


def fanout_table(results: list[FanOut]) -> list[str]:
    lines = [
        "| Setup | Players | Received | p50 | p95 | p99 | max | Acks stored (DB) | "
        "ack p50 | ack p99 | ack max | Trigger answered |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        rx, ack = report.summary(r.received), report.summary(r.acked)
        lines.append(
            f"| {r.label} | {r.players} | {len(r.received)} | {report.ms(rx.get('p50'))} | "
            f"{report.ms(rx.get('p95'))} | {report.ms(rx.get('p99'))} | "
            f"{report.ms(rx.get('max'))} | {r.acks_in_db} "
            f"({100 * r.acks_in_db / max(r.players, 1):.0f} %) | {report.ms(ack.get('p50'))} | "
            f"{report.ms(ack.get('p99'))} | {report.ms(ack.get('max'))} | "
            f"{report.ms(r.trigger_answer_s)} |"
        )
    return lines


LABELS = {
    "fanout": "long-poll, 1 process",
    "fanout2": "long-poll, 2 processes (NOTIFY)",
    "baseline": "polling every 5 s",
    "fanout-gevent": "long-poll, 1 process, gevent",
    "fanout-gthread": "long-poll, 1 process, gthread",
}


def build_blocks(info, args, results: dict[str, Any]) -> list[tuple[str, str, str]]:
    blocks = []
    head = run_line(info, args)
    fans = [results[k] for k in ("fanout", "fanout2", "baseline") if k in results]
    for r in fans:
        r.label = LABELS.get(r.label, r.label)
    if "fanout" in results or "fanout2" in results:
        body = [head, "", *fanout_table([r for r in fans if "polling" not in r.label])]
        body += [
            "",
            "Latency is measured in the simulator from just before the `POST /api/v1/alerts` "
            "request to the headers of each player's manifest answer that carries the alert "
            "(*received*) and to the 200 answer of its acknowledgement (*ack*; the row is "
            "committed before the answer). *Acks stored* counts the rows in "
            "`display_alert_delivery` afterwards. The simulator runs on the same cores, so its "
            "own event-loop delay is included.",
            "",
            f"![Latency distributions]({PLOT.name})",
        ]
        blocks.append(("fanout", "Fan-out of a warning", "\n".join(body)))
    if "baseline" in results:
        base = results["baseline"]
        lp = results.get("fanout")
        body = [head, "", *fanout_table([base])]
        if lp:
            lp_rx, b_rx = report.summary(lp.received), report.summary(base.received)
            body += [
                "",
                "| | Long-poll (1 process) | Polling every 5 s | Ratio polling / long-poll |",
                "| --- | ---: | ---: | ---: |",
            ]
            for q in ("p50", "p99", "max"):
                a, b = lp_rx.get(q), b_rx.get(q)
                ratio = f"{b / a:.1f}×" if a and b else "–"
                body.append(f"| latency {q} | {report.ms(a)} | {report.ms(b)} | {ratio} |")
            a, b = lp.idle_cpu, base.idle_cpu
            ratio = f"{b / a:.1f}×" if a and b else "–"
            body.append(
                f"| server CPU, idle window ({args.duration:.0f} s) | {a:.1f} % | {b:.1f} % | "
                f"{ratio} |"
            )
            body.append(
                f"| requests in the idle window | {lp.idle_polls} | {base.idle_polls} | "
                f"{base.idle_polls / max(lp.idle_polls, 1):.1f}× |"
            )
        blocks.append(("baseline", "Baseline: polling every 5 s", "\n".join(body)))
    idle_rows = [r for r in fans if r.idle_cpu is not None and "polling" not in r.label]
    if "workers" in results:
        idle_rows.append(results["workers"])
    if idle_rows:
        body = [
            head,
            "",
            "| Setup | Window | Server CPU (% of one core) | Server RSS | Requests | Simulator CPU |",
            "| --- | ---: | ---: | ---: | ---: | ---: |",
        ]
        for r in idle_rows:
            body.append(
                f"| {LABELS.get(r.label, r.label)} | {r.idle_seconds:.0f} s | {r.idle_cpu:.1f} % | "
                f"{r.idle_rss / 1e6:.0f} MB | {r.idle_polls} | {r.client_cpu:.0f} % |"
            )
        body += [
            "",
            "Idle means every player has its manifest and a long-poll waiting (`wait=55`, as "
            "the player daemon), and sends a heartbeat every 60 s. CPU and RSS are read from "
            "`/proc/<pid>/stat` and `status` of the gunicorn master and workers.",
        ]
        blocks.append(("idle", "Idle cost", "\n".join(body)))
    if "workers" in results and "fanout" in results:
        g, t = results["workers"], results["fanout"]
        tr, gr = report.summary(t.received), report.summary(g.received)
        body = [
            head,
            "",
            "| Worker model | Idle CPU | Idle RSS | Fan-out p50 | p99 | max | Acks stored |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        pairs = ((args.worker_class, t, tr), (g.label.rsplit("-", 1)[-1], g, gr))
        for name, r, s in pairs:
            body.append(
                f"| {name} | {r.idle_cpu:.1f} % | {r.idle_rss / 1e6:.0f} MB | "
                f"{report.ms(s.get('p50'))} | {report.ms(s.get('p99'))} | "
                f"{report.ms(s.get('max'))} | {r.acks_in_db} |"
            )
        blocks.append(("workers", "Worker model, full stack", "\n".join(body)))
    if "conditional" in results:
        c = results["conditional"]
        m, h = c["manifest"], c["healthz"]
        body = [
            head,
            "",
            "| Route | Answers per second | Server CPU | Simulator CPU |",
            "| --- | ---: | ---: | ---: |",
            f"| `GET /api/player/v1/manifest` with `If-None-Match` → 304 | {m['rps']:,.0f} | "
            f"{m['server_cpu']:.0f} % | {m['client_cpu']:.0f} % |",
            f"| `GET /healthz` (trivial route) → 200 | {h['rps']:,.0f} | {h['server_cpu']:.0f} % | "
            f"{h['client_cpu']:.0f} % |",
            "",
            f"Ratio manifest 304 / trivial route: **{m['rps'] / max(h['rps'], 1e-9):.2f}**. "
            f"{c['clients']} concurrent clients with keep-alive, each with its own display token; "
            f"server `aushang serve` with {c['workers']} {c['worker_class']} workers. CPU percentages are of "
            "one core (200 % = both cores of this machine).",
        ]
        blocks.append(("conditional", "Manifest conditional GET", "\n".join(body)))
    if "player" in results:
        blocks.append(("player", "Player daemon footprint", head + "\n\n" + results["player"]))
    return blocks


def write_plot(results: dict[str, Any]) -> None:
    series = []
    for key in ("fanout", "fanout2", "baseline"):
        r = results.get(key)
        if r is None:
            continue
        name = LABELS.get(key, key)
        series.append((f"{name}: received", r.received))
        if key != "baseline":
            series.append((f"{name}: ack stored", r.acked))
    if series:
        PLOT.write_text(report.cdf_svg(series, "Warning fan-out: share of players over time"))


# --- main -----------------------------------------------------------------------------


async def run(args) -> dict[str, Any]:
    from . import sim

    results: dict[str, Any] = {}
    only = set(args.only)
    with harness.private_database(args.database_url) as db_url:
        instance = Path(tempfile.mkdtemp(prefix="aushang-bench-"))
        started = time.perf_counter()
        world = seed(db_url, instance)
        entry = harness.start_server(db_url, instance, workers=1, threads=64)
        try:
            over_http = min(args.players, HTTP_ENROLMENTS)
            async with sim.new_session() as session:
                players = await sim.enrol_all(
                    session, entry.base, world.provisioning_token, over_http
                )
        finally:
            entry.stop()
        for token, display_id in enrol_direct(world, over_http, args.players - over_http):
            players.append(sim.SimPlayer(n=len(players), token=token, display_id=display_id))
        print(f"  enrolled {len(players)} players in {time.perf_counter() - started:.1f} s")
        if "fanout" in only:
            results["fanout"] = await section_fanout(world, players, args)
        if "fanout2" in only:
            results["fanout2"] = await section_fanout(world, players, args, two=True)
        if "baseline" in only:
            results["baseline"] = await section_baseline(world, players, args)
        if "workers" in only:
            other = "gthread" if args.worker_class == "gevent" else "gevent"
            results["workers"] = await section_fanout(world, players, args, worker_class=other)
        if "conditional" in only:
            results["conditional"] = await section_conditional(world, players, args)
        if "player" in only:
            from .player_footprint import measure_player

            results["player"] = measure_player(world, args)
    return results


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.players", description=__doc__)
    parser.add_argument("--players", type=int, default=2000)
    parser.add_argument("--duration", type=float, default=60.0, help="idle window, seconds")
    parser.add_argument("--rps-seconds", type=float, default=10.0)
    parser.add_argument("--settle-timeout", type=float, default=120.0)
    parser.add_argument("--deliver-timeout", type=float, default=30.0)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB),
        help="PostgreSQL server; a private database is created and dropped",
    )
    parser.add_argument("--only", default=",".join(SECTIONS), help="comma list of sections")
    parser.add_argument("--quick", action="store_true", help="small numbers for a smoke run")
    parser.add_argument(
        "--worker-class",
        default="gevent",
        choices=("gevent", "gthread"),
        help="worker model of the server holding the players (production: gevent); the "
        "'workers' section measures the other one",
    )
    parser.add_argument("--no-write", action="store_true", help="print only, keep docs/")
    args = parser.parse_args(argv)
    args.only = [s.strip() for s in args.only.split(",") if s.strip()]
    if args.worker_class == "gevent" or "workers" in args.only:
        try:
            import gevent  # noqa: F401
        except ImportError:
            parser.error("gevent is not installed: pip install -e '.[gevent]' (or make bench)")
    unknown = set(args.only) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
    if args.quick:
        args.players = min(args.players, 20) if "--players" not in " ".join(argv) else args.players
        args.duration = min(args.duration, 3.0)
        args.rps_seconds = min(args.rps_seconds, 2.0)
        args.settle_timeout = min(args.settle_timeout, 30.0)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    soft, hard = harness.raise_file_limit(args.players * 4 + 1024)
    if soft < args.players * 2 + 256:
        print(f"open-file limit {soft} (hard {hard}) is too low for {args.players} players")
        return 2
    info = harness.machine()
    print(f"== bench.players: {args.players} players, sections {', '.join(args.only)}")
    results = asyncio.run(run(args))
    if not args.no_write:
        report.write_blocks(build_blocks(info, args, results))
        write_plot(results)
        print(f"  written to {report.DOC.relative_to(report.ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
