"""Footprint of a real player daemon (``python -m player``): resident memory and CPU while
idle (enrolled, long-polling, heartbeats) and while syncing 100 new slides."""

from __future__ import annotations

import hashlib
import json
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from . import harness

SLIDES = 100


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def add_notices(world, count: int) -> None:
    """``count`` released notices of the tenant, in their window now: each becomes a
    slide on every display of the tenant."""
    from server import create_app
    from server.config import load_settings
    from server.extensions import db
    from server.models import Category, Notice, NoticeVersion, PublicationChannel, Tenant

    from .players import settings_env

    now = datetime.now(UTC)
    app = create_app(settings=load_settings(settings_env(world.database_url, world.instance)))
    with app.app_context():
        tenant = db.session.get(Tenant, world.tenant_id)
        channel = PublicationChannel(kind="internet", name="Internet", location="https://x.example")
        tenant.channels.append(channel)
        category = Category(name="Satzungen", slug=f"satzungen-{time.time_ns()}", min_days=7)
        category.binding_channels = [channel]
        tenant.categories.append(category)
        db.session.flush()
        start = now.date() - timedelta(days=1)
        run = secrets.token_hex(4)  # several runs against one database stay distinct
        notices = []
        for i in range(count):
            notice = Notice(
                tenant_id=tenant.id,
                number=f"B-{run}-{i:03d}",  # Notice.number is at most 20 characters
                category_id=category.id,
                status="released",
                posting_start=start,
                posting_end=start + timedelta(days=14),
                starts_at=datetime.combine(start, datetime.min.time(), UTC),
                ends_at=datetime.combine(start + timedelta(days=15), datetime.min.time(), UTC),
                provided_at=now - timedelta(days=2),
                provided_on=(now - timedelta(days=2)).date(),
                created_at=now,
                updated_at=now,
                source="bench",
            )
            version = NoticeVersion(
                number=1,
                status="released",
                title=f"Bekanntmachung Nr. {i} über die Änderung der Satzung",
                summary="Kurzfassung der Bekanntmachung mit Umlauten: ä ö ü ß.",
                body_md="Text",
                body_html="<p>Der Stadtrat hat in seiner Sitzung folgende Satzung beschlossen.</p>"
                * 5,
                issuing_office="Stadt Benchstadt – Hauptamt",
                file_number=f"10-{i}/2026",
                signed_on=date(2026, 1, 1),
                created_at=now,
                released_at=now - timedelta(days=2),
                content_hash=hashlib.sha256(f"{i}-{time.time_ns()}".encode()).hexdigest(),
            )
            notice.versions.append(version)
            db.session.add(notice)
            notices.append(notice)
        db.session.flush()
        for notice in notices:
            notice.current_version_id = notice.versions[0].id
        db.session.commit()
        db.engine.dispose()


def synced_items(state_dir: Path) -> int:
    """Items of the player's committed manifest whose slide is in its cache."""
    try:
        stored = json.loads((state_dir / "manifest.json").read_text())
    except (OSError, ValueError):
        return 0
    manifest = stored.get("manifest") or {}  # the player keeps {"etag", "manifest"}
    assets = state_dir / "assets"
    return sum(
        1
        for item in manifest.get("items", [])
        if item.get("slide") and (assets / item["slide"]["sha256"]).is_file()
    )


def measure_player(world, args) -> str:
    server = harness.start_server(world.database_url, world.instance, workers=1, threads=64)
    tmp = Path(tempfile.mkdtemp(prefix="aushang-bench-player-"))
    state = tmp / "state"
    config = tmp / "player.ini"
    config.write_text(
        "[server]\n"
        f"url = {server.base}\n"
        f"provisioning_token = {world.provisioning_token}\n"
        "[player]\n"
        f"state_dir = {state}\n"
        "kiosk_host = 127.0.0.1\n"
        f"kiosk_port = {free_port()}\n"
        "[screen]\n"
        "control = none\n"
    )
    log = (tmp / "player.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "player", "--config", str(config)],
        cwd=harness.ROOT,
        stdout=log,
        stderr=log,
    )
    idle_seconds = args.duration
    slides = 10 if args.quick else SLIDES
    try:
        deadline = time.monotonic() + 60
        while not (state / "manifest.json").exists() and time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError((tmp / "player.log").read_text()[-2000:])
            time.sleep(0.2)
        time.sleep(2.0)  # past start-up: imports, first heartbeat
        with harness.Meter(lambda: [proc.pid]) as idle:
            time.sleep(idle_seconds)
        before = synced_items(state)
        started = time.monotonic()
        with harness.Meter(lambda: [proc.pid], every=0.1) as sync:
            add_notices(world, slides)
            deadline = time.monotonic() + 300
            while synced_items(state) < before + slides and time.monotonic() < deadline:
                time.sleep(0.1)
        took = time.monotonic() - started
        done = synced_items(state) - before
        with harness.Meter(lambda: [proc.pid]) as after:
            time.sleep(max(3.0, idle_seconds / 4))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        server.stop()
    cache = sum(f.stat().st_size for f in (state / "assets").glob("*") if f.is_file())
    print(
        f"  player: idle {idle.rss_peak / 1e6:.1f} MB, {idle.cpu_percent:.2f} % CPU; sync of "
        f"{done}/{slides} slides in {took:.1f} s, peak {sync.rss_peak / 1e6:.1f} MB, "
        f"{sync.cpu_percent:.0f} % CPU"
    )
    return "\n".join(
        [
            "| Phase | Duration | RSS (peak) | CPU (% of one core, average) |",
            "| --- | ---: | ---: | ---: |",
            f"| idle, enrolled, long-polling | {idle.seconds:.0f} s | "
            f"{idle.rss_peak / 1e6:.1f} MB | {idle.cpu_percent:.2f} % |",
            f"| syncing {done} of {slides} new slides (server renders them on the first "
            f"manifest) | {took:.1f} s | {sync.rss_peak / 1e6:.1f} MB | {sync.cpu_percent:.1f} % |",
            f"| idle after the sync | {after.seconds:.0f} s | {after.rss_peak / 1e6:.1f} MB | "
            f"{after.cpu_percent:.2f} % |",
            "",
            f"A real `python -m player` process (the kiosk page's HTTP server included, no "
            f"browser, screen control off) against `aushang serve` on 127.0.0.1; the cache "
            f"holds {cache / 1e6:.1f} MB afterwards. Read from `/proc/<pid>/stat` and "
            "`status`; the sync time includes the server rendering the slides.",
        ]
    )
