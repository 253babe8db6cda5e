"""``python -m bench --only push,push2,storm,push10k[,fanout]``: protocol v2 (bench/push.py)
and, in the same run on the same displays, the v1 long-poll (bench/players.py) as ratios."""

from __future__ import annotations

import asyncio
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import harness, players, push, report
from .sim import SimPlayer, enrol_all, new_session


def _ratio(a: float | None, b: float | None) -> str:
    if not a or not b:
        return "–"
    return f"{a / b:.1f}×"


def side_by_side(v1: Any, v2: push.PushRun) -> list[str]:
    r1, r2 = report.summary(v1.received), report.summary(v2.received)
    a1, a2 = report.summary(v1.acked), report.summary(v2.shown)
    rows = [
        ("received p50", r1.get("p50"), r2.get("p50")),
        ("received p99", r1.get("p99"), r2.get("p99")),
        ("received max", r1.get("max"), r2.get("max")),
        ("last acknowledgement stored, p99", a1.get("p99"), a2.get("p99")),
    ]
    lines = [
        "| | v1 long-poll (1 gevent process) | v2 nchan, one edge | Ratio v1 / v2 |",
        "| --- | ---: | ---: | ---: |",
    ]
    for name, one, two in rows:
        lines.append(f"| {name} | {report.ms(one)} | {report.ms(two)} | {_ratio(one, two)} |")
    lines.append(
        f"| server CPU idle ({v2.idle_seconds:.0f} s) | {v1.idle_cpu:.2f} % | {v2.idle_cpu:.2f} % "
        f"| {_ratio(v1.idle_cpu, v2.idle_cpu)} |"
    )
    lines.append(
        f"| server CPU during the fan-out | {v1.server_cpu_during:.0f} % | "
        f"{v2.server_cpu_during:.0f} % | {_ratio(v1.server_cpu_during, v2.server_cpu_during)} |"
    )
    return lines


def blocks(info: dict[str, str], args: Any, results: dict[str, Any], load: str):
    head = players.run_line(info, args) + f" Load average after the run: {load}."
    out = []
    fan = [results[k] for k in ("push", "push2", "push10k") if k in results]
    if fan:
        body = [head, "", *push.table(fan)]
        body += [
            "",
            "Times from just before `POST /api/v1/alerts` (to the app) to the SSE message "
            "carrying the warning (*received*; the player draws from it), and to the 200 "
            "answers of the delivered and the shown acknowledgement (each row committed by "
            "group commit before its answer). *Stored* counts `display_alert_delivery` rows "
            "(and those with `shown_at`) afterwards. Server side: nginx + nchan edge(s), "
            "`aushang serve` (1 gevent worker), `aushang publisher`, `aushang scheduler` and "
            "the PostgreSQL backends of the benchmark database; the simulator (one asyncio "
            "process) shares the same 2 cores.",
        ]
        out.append(("push:fanout", "Protocol v2: fan-out through nginx + nchan", "\n".join(body)))
    idle = [results[k] for k in ("push", "push2", "push10k") if k in results]
    if idle:
        body = [head, "", *push.idle_table(idle)]
        body += [
            "",
            "Idle: every player holds its stream and sends a heartbeat every 60 s "
            "(`POST /api/player/v1/heartbeat` through the edge). CPU read from "
            "`/proc/<pid>/stat` of all server-side processes named above.",
        ]
        out.append(("push:idle", "Protocol v2: idle cost", "\n".join(body)))
    if "storm" in results:
        body = [head, "", *push.storm_lines(results["storm"])]
        body += [
            "",
            "The edge is killed (SIGKILL) and started again on the same ports while every "
            "player holds its stream; players reconnect with full-jitter backoff (1 s base) "
            "and `Last-Event-ID`, and fetch their snapshot within 5 s. Pool time-outs are "
            "counted in the app's log; afterwards a warning is sent to all of them.",
        ]
        out.append(("push:storm", "Protocol v2: reconnect storm", "\n".join(body)))
    if "fanout" in results and "push" in results:
        body = [head, "", *side_by_side(results["fanout"], results["push"])]
        body += [
            "",
            "Both on the same displays, database and machine in the same run; v1 as the "
            "`fanout` section above (the simulator acknowledges once, delivered and shown "
            "together), v2 with two acknowledgements per player.",
        ]
        out.append(("push:ratio", "Protocol v1 and v2 side by side", "\n".join(body)))
    return out


async def _run(args: Any) -> dict[str, Any]:
    results: dict[str, Any] = {}
    only = set(args.only)
    total = max(args.players, 10_000 if "push10k" in only else 0)
    with harness.private_database(args.database_url) as db_url:
        instance = Path(tempfile.mkdtemp(prefix="aushang-bench-"))
        started = time.perf_counter()
        world = players.seed(db_url, instance)
        entry = harness.start_server(db_url, instance, workers=1, threads=64)
        try:
            over_http = min(total, players.HTTP_ENROLMENTS)
            async with new_session() as session:
                sims = await enrol_all(session, entry.base, world.provisioning_token, over_http)
        finally:
            entry.stop()
        for token, display_id in players.enrol_direct(world, over_http, total - over_http):
            sims.append(SimPlayer(n=len(sims), token=token, display_id=display_id))
        print(f"  enrolled {len(sims)} players in {time.perf_counter() - started:.1f} s")
        pairs = [(p.token, p.display_id) for p in sims]
        if "fanout" in only:
            results["fanout"] = await players.section_fanout(world, sims[: args.players], args)
        results.update(await push.run(args, world, pairs))
    return results


def main(args: Any) -> int:
    info = harness.machine()
    print(f"== bench.push: {args.players} players, sections {', '.join(args.only)}")
    results = asyncio.run(_run(args))
    load = harness.machine()["load"]
    if not args.no_write:
        report.write_blocks(blocks(info, args, results, load))
        print(f"  written to {report.DOC.relative_to(report.ROOT)} at {datetime.now(UTC):%H:%M}")
    return 0
