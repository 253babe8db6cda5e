"""RSS 2.0 and Atom 1.0 via feedgen — the only module that imports feedgen.

Besides the standard elements every entry carries an ``aushang:`` namespaced block with
the legal metadata (Bereitstellungstag, window, category, Aktenzeichen, content hash,
attachments with SHA-256); see docs/feeds.md.
"""

from __future__ import annotations

import html
from datetime import date
from typing import Any

from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.feed import FeedGenerator
from feedgen.util import xml_elem

from .model import FeedEntry, FeedMeta
from .text import clean, full_content_html

AUSHANG_NS = "urn:aushang:feed:1"
_EXT = "aushang"


def _q(name: str) -> str:
    return f"{{{AUSHANG_NS}}}{name}"


class _AushangFeedExtension(BaseExtension):  # type: ignore[misc]
    def extend_ns(self) -> dict[str, str]:
        return {"aushang": AUSHANG_NS}


class _AushangEntryExtension(BaseEntryExtension):  # type: ignore[misc]
    """Writes the metadata elements of one entry (same markup in RSS and Atom)."""

    def __init__(self) -> None:
        self.entry: FeedEntry | None = None

    def _extend(self, element: Any) -> Any:
        entry = self.entry
        if entry is None:
            return element

        def add(name: str, text: str | None = None, **attrs: str) -> None:
            node = xml_elem(_q(name), element)
            for key, value in attrs.items():
                node.attrib[key] = clean(value)
            if text is not None:
                node.text = clean(text)

        def day(value: date | None) -> str:
            return value.isoformat() if value else ""

        # Values go into element text, not attributes, where a reader may want them:
        # feedparser, for one, drops the text of elements that carry attributes.
        add("notice", entry.notice_number)
        add("noticeUri", entry.notice_uri)
        add("version", str(entry.version))
        if entry.corrects_id:
            add("corrects", entry.corrects_id)
        add("providedOn", day(entry.provided_on))
        if entry.posting_start:
            add("postingStart", day(entry.posting_start))
        if entry.posting_end:
            add("postingEnd", day(entry.posting_end))
        add("category", entry.category)
        if entry.category_slug:
            add("categorySlug", entry.category_slug)
        add("fileNumber", entry.file_number)
        if entry.issuing_office:
            add("issuingOffice", entry.issuing_office)
        add("contentHash", entry.content_hash)
        add("status", entry.status)
        if entry.withdrawn_on:
            add("withdrawnOn", day(entry.withdrawn_on))
        if entry.withdrawal_reason:
            add("withdrawalReason", entry.withdrawal_reason)
        for enc in entry.enclosures:
            attrs = {"url": enc.url, "type": enc.media_type, "length": str(enc.length)}
            attrs["sha256"] = enc.sha256
            if enc.title:
                attrs["title"] = enc.title
            add("attachment", None, **attrs)
        return element

    def extend_rss(self, element: Any) -> Any:
        return self._extend(element)

    def extend_atom(self, element: Any) -> Any:
        # feedgen 1.0 drops rel/type/length of entry links (it overwrites its loop
        # variable), so the Atom entry links are written here.
        entry = self.entry
        if entry is not None:
            xml_elem("link", element, href=entry.link, rel="alternate", type="text/html")
            for enc in entry.enclosures:
                xml_elem(
                    "link",
                    element,
                    href=enc.url,
                    rel="enclosure",
                    type=enc.media_type,
                    length=str(enc.length),
                )
        return self._extend(element)


def _sorted(entries: list[FeedEntry]) -> list[FeedEntry]:
    # Newest first; the id breaks ties so equal timestamps still give one fixed order.
    return sorted(entries, key=lambda e: (e.published, e.id), reverse=True)


def _generator(meta: FeedMeta, entries: list[FeedEntry], fmt: str) -> FeedGenerator:
    fg = FeedGenerator()
    fg.register_extension(_EXT, _AushangFeedExtension, _AushangEntryExtension)
    fg.id(clean(meta.feed_id))
    fg.title(clean(meta.title))
    fg.subtitle(clean(meta.subtitle or meta.title))  # RSS requires a description
    fg.language(meta.language)
    # Set explicitly: feedgen would otherwise stamp the current time into the document.
    fg.updated(meta.updated)
    fg.lastBuildDate(meta.updated)
    fg.pubDate(meta.updated)
    fg.generator(meta.generator)
    author = {"name": clean(meta.author_name or meta.title)}
    if meta.author_url:
        author["uri"] = meta.author_url
    fg.author(author)
    self_type = "application/rss+xml" if fmt == "rss" else "application/atom+xml"
    fg.link(href=meta.self_url, rel="self", type=self_type)
    # feedgen takes the last link as the RSS <link>: the HTML page goes last.
    fg.link(href=meta.html_url, rel="alternate", type="text/html")
    if meta.docs_url:
        fg.docs(meta.docs_url)
    for entry in _sorted(entries):
        fe = fg.add_entry(order="append")
        fe.id(entry.id)
        fe.title(clean(entry.title))
        fe.published(entry.published)
        fe.updated(entry.updated)
        summary = clean(entry.summary or entry.title)
        if fmt == "rss":
            # <description> is HTML by RSS convention: the plain summary is escaped once
            # here and once more by the XML serializer, so no reader runs its markup.
            fe.description(html.escape(summary, quote=False))
            fe.content(full_content_html(entry))
        else:
            fe.summary(summary, type="text")
            fe.content(full_content_html(entry), type="html")
        category = {"term": clean(entry.category_slug or entry.category)}
        category["label"] = clean(entry.category)
        if meta.category_scheme:
            category["scheme"] = meta.category_scheme
        fe.category(category)
        if fmt == "rss":
            fe.link(href=entry.link, rel="alternate")
            # RSS readers support one <enclosure> per item; the rest are aushang:attachment.
            if entry.enclosures:
                first = entry.enclosures[0]
                fe.enclosure(first.url, str(first.length), first.media_type)
        getattr(fe, _EXT).entry = entry
    return fg


def build_rss(meta: FeedMeta, entries: list[FeedEntry]) -> bytes:
    """Return an RSS 2.0 document (UTF-8 bytes) listing ``entries``, newest first.

    The first attachment is the ``<enclosure>`` (readers support only one); all
    attachments with their SHA-256 are in ``<aushang:attachment>`` elements.
    """
    fg = _generator(meta, entries, "rss")
    return bytes(fg.rss_str(pretty=True, encoding="UTF-8", xml_declaration=True))


def build_atom(meta: FeedMeta, entries: list[FeedEntry]) -> bytes:
    """Return an Atom 1.0 document (UTF-8 bytes) listing ``entries``, newest first.

    Every attachment is a ``<link rel="enclosure">`` with type and length.
    """
    fg = _generator(meta, entries, "atom")
    return bytes(fg.atom_str(pretty=True, encoding="UTF-8", xml_declaration=True))
