"""RSS 2.0 and Atom 1.0 read back with feedparser, a real feed client."""

from __future__ import annotations

import html
from dataclasses import replace

import defusedxml.ElementTree as DET
import feedparser
import pytest

from feeds import AUSHANG_NS, build_atom, build_rss
from feeds.model import FeedEntry, FeedMeta

BUILDERS = {"rss": build_rss, "atom": build_atom}


def parse(fmt: str, meta: FeedMeta, entries: list[FeedEntry]) -> feedparser.FeedParserDict:
    doc = feedparser.parse(BUILDERS[fmt](meta, entries))
    assert not doc.bozo, doc.get("bozo_exception")
    return doc


@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_feed_level_fields(fmt, meta, make_entry):
    doc = parse(fmt, meta, [make_entry()])
    assert doc.version == {"rss": "rss20", "atom": "atom10"}[fmt]
    assert doc.feed.title == meta.title
    assert doc.feed.link == meta.html_url
    assert doc.feed.language == "de"
    self_links = [link.href for link in doc.feed.links if link.rel == "self"]
    assert self_links == [meta.self_url]
    assert doc.feed.updated_parsed[:5] == (2026, 3, 10, 9, 30)


@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_entry_carries_legal_metadata(fmt, meta, make_entry):
    entry = make_entry()
    item = parse(fmt, meta, [entry]).entries[0]
    assert (
        item.id == entry.id == "tag:aushang.beispielstadt.de,2026-03-02:beispielstadt/2026-0007/v1"
    )
    assert item.title == entry.title
    assert item.link == entry.link
    assert item.published_parsed[:4] == (2026, 3, 2, 8)
    assert item.aushang_providedon == "2026-03-02"
    assert item.aushang_postingstart == "2026-03-02"
    assert item.aushang_postingend == "2026-03-16"
    assert item.aushang_category == "Satzungen"
    assert item.aushang_categoryslug == "satzungen"
    assert item.aushang_filenumber == "20.1-0815/2026"
    assert item.aushang_contenthash == entry.content_hash
    assert item.aushang_version == "1"
    assert item.aushang_notice == "2026-0007"
    assert item.aushang_noticeuri == entry.notice_uri
    assert [tag.label or tag.term for tag in item.tags] == ["Satzungen"]
    assert all(tag.scheme == meta.category_scheme for tag in item.tags)
    # The metadata is also in the HTML content, so plain feed readers show it.
    content = item.content[0].value
    assert "Bereitgestellt am" in content and "02.03.2026" in content
    assert "20.1-0815/2026" in content and entry.content_hash in content


def test_rss_has_one_enclosure_and_all_attachments_in_extension(meta, make_entry):
    entry = make_entry()
    item = parse("rss", meta, [entry]).entries[0]
    assert [(e.href, e.type, e.length) for e in item.enclosures] == [
        (entry.enclosures[0].url, "application/pdf", "82930")
    ]
    root = DET.fromstring(build_rss(meta, [entry]))
    attachments = root.findall(f"channel/item/{{{AUSHANG_NS}}}attachment")
    assert [(a.get("url"), a.get("length"), a.get("sha256")) for a in attachments] == [
        (enc.url, str(enc.length), enc.sha256) for enc in entry.enclosures
    ]


def test_atom_lists_every_attachment_as_enclosure(meta, make_entry):
    entry = make_entry()
    item = parse("atom", meta, [entry]).entries[0]
    assert [(e.href, e.type, e.length) for e in item.enclosures] == [
        (enc.url, enc.media_type, str(enc.length)) for enc in entry.enclosures
    ]
    alternates = [link.href for link in item.links if link.rel == "alternate"]
    assert alternates == [entry.link]


@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_tricky_text_survives(fmt, meta, nasty_entry):
    raw = BUILDERS[fmt](meta, [nasty_entry])
    assert b"<script>" not in raw  # only ever escaped
    item = parse(fmt, meta, [nasty_entry]).entries[0]
    assert item.title == nasty_entry.title
    if fmt == "atom":
        assert item.summary == nasty_entry.title  # type="text": no HTML interpretation
    else:
        # RSS descriptions are HTML: the text arrives as escaped HTML, no live markup.
        assert "<script>" not in item.summary
        assert html.unescape(item.summary) == nasty_entry.title
    assert item.aushang_filenumber == "Az. 1/2026; A,B \\ C"
    assert item.aushang_category == "Öffentliche Zustellungen & Sonstiges"
    assert "&lt;script&gt; &amp; „Anführung“ 🎉 äöü" in item.content[0].value


@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_output_is_deterministic(fmt, meta, three_versions):
    first = BUILDERS[fmt](meta, three_versions)
    assert first == BUILDERS[fmt](meta, list(reversed(three_versions)))
    assert b"python-feedgen" not in first


@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_three_versions_three_stable_ids(fmt, meta, three_versions, make_entry):
    ids = [item.id for item in parse(fmt, meta, three_versions).entries]
    assert len(set(ids)) == 3
    assert ids[0].endswith("/v3")  # newest first
    rebuilt = [make_entry(version=n) for n in (1, 2, 3)]
    later = replace(meta, updated=meta.updated.replace(year=2027))
    assert [item.id for item in parse(fmt, later, rebuilt).entries] == ids
    corrects = {item.id: item.get("aushang_corrects") for item in parse(fmt, meta, rebuilt).entries}
    assert corrects[ids[0]] == ids[1]


@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_control_characters_do_not_break_xml(fmt, meta, make_entry):
    entry = make_entry(title="Titel\x00 mit\x0b Steuerzeichen", summary="a\x1fb")
    item = parse(fmt, meta, [entry]).entries[0]
    assert item.title == "Titel mit Steuerzeichen"


@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_empty_feed_is_valid(fmt, meta):
    doc = parse(fmt, meta, [])
    assert doc.entries == []
