"""Sample feed input: a tenant feed with a notice corrected twice and tricky text."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest

from feeds import Enclosure, FeedEntry, FeedMeta, feed_tag, notice_tag, version_tag

HOST = "aushang.beispielstadt.de"
BASE = f"https://{HOST}"
NASTY = 'Satzung <script>alert("x")</script> & \'Zitat\' – Ä Ö Ü ä ö ü ß 🎉 > < "ok"'


@pytest.fixture
def meta() -> FeedMeta:
    return FeedMeta(
        title="Beispielstadt – Amtliche Bekanntmachungen",
        subtitle="Bekanntmachungen der Stadt Beispielstadt",
        self_url=f"{BASE}/beispielstadt/feeds/notices.rss",
        html_url=f"{BASE}/beispielstadt/",
        feed_id=feed_tag(HOST, date(2026, 1, 1), "beispielstadt/feeds/notices"),
        updated=datetime(2026, 3, 10, 9, 30, tzinfo=UTC),
        author_name="Stadt Beispielstadt",
        author_url=f"{BASE}/beispielstadt/",
        docs_url=f"{BASE}/feeds",
        category_scheme=f"{BASE}/beispielstadt/kategorien",
    )


@pytest.fixture
def make_entry() -> Callable[..., FeedEntry]:
    def make(number: str = "2026-0007", version: int = 1, **overrides: object) -> FeedEntry:
        notice_uri = notice_tag(BASE, date(2026, 3, 2), "beispielstadt", number)
        released = datetime(2026, 3, 2, 8, 0, tzinfo=UTC) + timedelta(days=version - 1)
        values: dict[str, object] = dict(
            id=version_tag(notice_uri, version),
            notice_uri=notice_uri,
            notice_number=number,
            version=version,
            title=f"Haushaltssatzung 2026 (Fassung {version})",
            summary="Die Haushaltssatzung liegt öffentlich aus.",
            content_html="<p>Die Haushaltssatzung <strong>liegt aus</strong>.</p>",
            link=f"{BASE}/beispielstadt/bekanntmachungen/{number}/v{version}",
            provided_on=date(2026, 3, 2),
            category="Satzungen",
            category_slug="satzungen",
            file_number="20.1-0815/2026",
            issuing_office="Stadt Beispielstadt – Kämmerei",
            content_hash=f"{version:064x}",
            published=released,
            updated=released,
            posting_start=date(2026, 3, 2),
            posting_end=date(2026, 3, 16),
            corrects_id=version_tag(notice_uri, version - 1) if version > 1 else "",
            enclosures=(
                Enclosure(
                    url=f"{BASE}/dateien/{'e' * 64}.pdf",
                    media_type="application/pdf",
                    length=82930,
                    sha256="e" * 64,
                    title="Haushaltsplan",
                ),
                Enclosure(
                    url=f"{BASE}/dateien/{'f' * 64}.pdf",
                    media_type="application/pdf",
                    length=1234,
                    sha256="f" * 64,
                    title="Anlage 2",
                ),
            ),
        )
        values.update(overrides)
        return FeedEntry(**values)  # type: ignore[arg-type]

    return make


@pytest.fixture
def nasty_entry(make_entry: Callable[..., FeedEntry]) -> FeedEntry:
    return make_entry(
        "2026-0099",
        title=NASTY,
        summary=NASTY,
        content_html="<p>Text mit &lt;script&gt; &amp; „Anführung“ 🎉 äöü</p>",
        file_number="Az. 1/2026; A,B \\ C",
        category="Öffentliche Zustellungen & Sonstiges",
        enclosures=(
            Enclosure(
                url=f"{BASE}/dateien/x.pdf?a=1&b=2",
                media_type="application/pdf",
                length=10,
                sha256="0" * 64,
                title=NASTY,
            ),
        ),
    )


@pytest.fixture
def three_versions(make_entry: Callable[..., FeedEntry]) -> list[FeedEntry]:
    return [make_entry(version=n) for n in (1, 2, 3)]
