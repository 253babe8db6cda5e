"""Feed benchmark: 10,000 released notices in one tenant.

Measures the first build of each feed format (cold cache) and requests per second for
cached 200 answers and for 304 answers, through the Flask test client (no network), on
a throw-away SQLite database unless BENCH_DATABASE_URL is set. Writes the table into
docs/performance.md between the ``bench:feeds`` markers.

    python -m bench.feeds [--notices 10000] [--requests 300]
"""

from __future__ import annotations

import argparse
import hashlib
import platform
import re
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "performance.md"
START, END = "<!-- bench:feeds:start -->", "<!-- bench:feeds:end -->"
NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


def seed(session, count: int) -> str:
    from server.models import Category, Notice, NoticeVersion, PublicationChannel
    from server.services import people

    tenant = people.create_tenant(
        session, name="Benchstadt", slug="benchstadt", ars="150855555555", now=NOW, actor="bench"
    )
    channel = PublicationChannel(kind="internet", name="Internet", location="https://x.example")
    tenant.channels.append(channel)
    category = Category(name="Satzungen", slug="satzungen", min_days=7)
    category.binding_channels = [channel]
    tenant.categories.append(category)
    session.flush()
    for i in range(count):
        released = NOW - timedelta(hours=count - i)
        start = (released + timedelta(hours=1)).date()
        notice = Notice(
            tenant_id=tenant.id,
            number=f"{start.year}-{i:05d}",
            category_id=category.id,
            status="released",
            posting_start=start,
            posting_end=start + timedelta(days=14),
            starts_at=datetime.combine(start, datetime.min.time(), UTC),
            ends_at=datetime.combine(start + timedelta(days=15), datetime.min.time(), UTC),
            provided_at=released,
            provided_on=released.date(),
            created_at=released,
            updated_at=released,
            source="bench",
        )
        version = NoticeVersion(
            number=1,
            status="released",
            title=f"Bekanntmachung Nr. {i} über die Änderung der Satzung",
            summary="Kurzfassung der Bekanntmachung mit Umlauten: ä ö ü ß.",
            body_md="Text",
            body_html="<p>Der Stadtrat hat in seiner Sitzung folgende Satzung beschlossen.</p>" * 5,
            issuing_office="Stadt Benchstadt – Hauptamt",
            file_number=f"10-{i}/2026",
            signed_on=date(2026, 1, 1),
            created_at=released,
            released_at=released,
            content_hash=hashlib.sha256(str(i).encode()).hexdigest(),
        )
        notice.versions.append(version)
        session.add(notice)
        if i % 1000 == 999:
            session.flush()
    session.flush()
    for notice in session.query(Notice).filter(Notice.tenant_id == tenant.id):
        notice.current_version_id = notice.versions[0].id
    return tenant.slug


def measure(client, url: str, requests: int) -> tuple[float, float, float, int]:
    started = time.perf_counter()
    first = client.get(url)
    build = time.perf_counter() - started
    assert first.status_code == 200, first.status_code
    etag = first.headers["ETag"]
    started = time.perf_counter()
    for _ in range(requests):
        assert client.get(url).status_code == 200
    rps_200 = requests / (time.perf_counter() - started)
    started = time.perf_counter()
    for _ in range(requests):
        assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
    rps_304 = requests / (time.perf_counter() - started)
    return build, rps_200, rps_304, len(first.data)


def write_doc(table: str) -> None:
    DOC.parent.mkdir(exist_ok=True)
    text = DOC.read_text("utf-8") if DOC.exists() else "# Performance\n"
    block = f"{START}\n{table}\n{END}"
    if START in text and END in text:
        text = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n## Feeds\n\n" + block + "\n"
    DOC.write_text(text, "utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.feeds")
    parser.add_argument("--notices", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv if argv is not None else sys.argv[1:])

    import os

    from flask_migrate import upgrade

    from server import create_app
    from server.config import load_settings
    from server.extensions import db
    from server.services.feeds import DEFAULT_MAX_NOTICES

    with tempfile.TemporaryDirectory() as tmp:
        url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{tmp}/bench.db"
        settings = load_settings(
            {"AUSHANG_INSTANCE_PATH": tmp, "DATABASE_URL": url, "SECRET_KEY": "bench"}
        )
        app = create_app({"AUSHANG_CLOCK": lambda: NOW}, settings=settings)
        rows = []
        with app.app_context():
            upgrade()
            started = time.perf_counter()
            slug = seed(db.session, args.notices)
            db.session.commit()
            seeded = time.perf_counter() - started
            client = app.test_client()
            for limit in (DEFAULT_MAX_NOTICES, args.notices):
                app.config["AUSHANG_FEED_MAX_NOTICES"] = limit
                for fmt in ("rss", "atom", "json", "ics"):
                    app.extensions["aushang_feed_cache"].clear()
                    feed_url = f"/{slug}/feeds/notices.{fmt}"
                    reqs = (
                        args.requests
                        if limit == DEFAULT_MAX_NOTICES
                        else max(20, args.requests // 10)
                    )
                    build, rps_200, rps_304, size = measure(client, feed_url, reqs)
                    rows.append((fmt, limit, build, rps_200, rps_304, size))
                    print(
                        f"{fmt:5} entries={limit:6} first build {build * 1000:8.0f} ms  "
                        f"200: {rps_200:7.0f}/s  304: {rps_304:7.0f}/s  {size / 1e6:6.2f} MB"
                    )
    table = [
        f"Measured with `python -m bench.feeds` on {platform.python_implementation()} "
        f"{platform.python_version()}, {platform.machine()}, database "
        f"{'PostgreSQL' if 'postgres' in url else 'SQLite'}; {args.notices} released notices in "
        f"one tenant (seeded in {seeded:.1f} s); Flask test client, one thread, no network. "
        "The first build includes the database query; later requests are served from the "
        "per-process cache (one fingerprint query each).",
        "",
        "| Format | Entries in the feed | First build | Cached 200 | 304 | Size |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for fmt, limit, build, rps_200, rps_304, size in rows:
        table.append(
            f"| {fmt} | {limit} | {build * 1000:.0f} ms | {rps_200:.0f} req/s | "
            f"{rps_304:.0f} req/s | {size / 1e6:.2f} MB |"
        )
    table.append("")
    table.append(
        f"Feeds list the newest {DEFAULT_MAX_NOTICES} visible notices by default "
        "(`AUSHANG_FEED_MAX_NOTICES`); the second block shows a feed of all notices."
    )
    if not args.no_write:
        write_doc("\n".join(table))
        print(f"written to {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
