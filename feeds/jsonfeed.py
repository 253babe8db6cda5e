"""JSON Feed 1.1 (https://jsonfeed.org/version/1.1), written by hand with ``json``.

Legal metadata travels in an ``_aushang`` extension object on the feed and on every
item (extension keys start with an underscore, as the spec asks; readers that do not
know it ignore it). See docs/feeds.md.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

from .model import FeedEntry, FeedMeta
from .text import clean, full_content_html, metadata_text

JSONFEED_VERSION = "https://jsonfeed.org/version/1.1"
EXTENSION_VERSION = 1


def _ts(value: datetime) -> str:
    """RFC 3339 in UTC with a ``Z``: one spelling for every instant, whatever the input zone."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _item(entry: FeedEntry, meta: FeedMeta) -> dict[str, Any]:
    summary = clean(entry.summary or entry.title)
    item: dict[str, Any] = {
        "id": entry.id,
        "url": entry.link,
        "title": clean(entry.title),
        "summary": summary,
        "content_html": full_content_html(entry),
        "content_text": summary + "\n\n" + metadata_text(entry),
        "date_published": _ts(entry.published),
        "date_modified": _ts(entry.updated),
        "tags": [clean(entry.category)],
        "language": meta.language,
    }
    if entry.enclosures:
        item["attachments"] = [
            {
                "url": enc.url,
                "mime_type": enc.media_type,
                **({"title": clean(enc.title)} if enc.title else {}),
                "size_in_bytes": enc.length,
            }
            for enc in entry.enclosures
        ]
    extension: dict[str, Any] = {
        "notice": entry.notice_number,
        "notice_uri": entry.notice_uri,
        "version": entry.version,
        "corrects": entry.corrects_id or None,
        "provided_on": _day(entry.provided_on),
        "posting_start": _day(entry.posting_start),
        "posting_end": _day(entry.posting_end),
        "category": clean(entry.category),
        "category_slug": entry.category_slug,
        "file_number": clean(entry.file_number),
        "issuing_office": clean(entry.issuing_office),
        "content_hash": {"algorithm": "sha256", "value": entry.content_hash},
        "status": entry.status,
        "withdrawn_on": _day(entry.withdrawn_on),
        "withdrawal_reason": clean(entry.withdrawal_reason) or None,
        "attachments": [
            {
                "url": enc.url,
                "mime_type": enc.media_type,
                "size_in_bytes": enc.length,
                "sha256": enc.sha256,
            }
            for enc in entry.enclosures
        ],
    }
    if meta.docs_url:
        extension = {"about": meta.docs_url, **extension}
    item["_aushang"] = extension
    return item


def build_json_feed(meta: FeedMeta, entries: list[FeedEntry]) -> bytes:
    """Return a JSON Feed 1.1 document (UTF-8 bytes) listing ``entries``, newest first."""
    feed: dict[str, Any] = {
        "version": JSONFEED_VERSION,
        "title": clean(meta.title),
        "home_page_url": meta.html_url,
        "feed_url": meta.self_url,
    }
    if meta.subtitle:
        feed["description"] = clean(meta.subtitle)
    feed["language"] = meta.language
    feed["authors"] = [
        {
            "name": clean(meta.author_name or meta.title),
            **({"url": meta.author_url} if meta.author_url else {}),
        }
    ]
    extension: dict[str, Any] = {"version": EXTENSION_VERSION, "updated": _ts(meta.updated)}
    if meta.docs_url:
        extension = {"about": meta.docs_url, **extension}
    feed["_aushang"] = extension
    ordered = sorted(entries, key=lambda e: (e.published, e.id), reverse=True)
    feed["items"] = [_item(entry, meta) for entry in ordered]
    # ensure_ascii=False keeps umlauts readable; json escapes quotes and control characters.
    return (json.dumps(feed, ensure_ascii=False, indent=1) + "\n").encode("utf-8")
