"""Feed builders: plain data in, bytes out (RSS 2.0, Atom 1.0, JSON Feed 1.1, iCalendar).

Pure: no Flask, no database, no clock. The server maps notices to :class:`FeedEntry`
values and caches the bytes; see docs/feeds.md for the published format.
"""

from .ical import build_ical
from .ids import feed_tag, notice_tag, tag_authority, version_tag
from .jsonfeed import build_json_feed
from .model import Enclosure, FeedEntry, FeedMeta, MeetingEvent
from .syndication import AUSHANG_NS, build_atom, build_rss

CONTENT_TYPES = {
    "rss": "application/rss+xml; charset=utf-8",
    "atom": "application/atom+xml; charset=utf-8",
    "json": "application/feed+json; charset=utf-8",
    "ics": "text/calendar; charset=utf-8",
}

__all__ = [
    "AUSHANG_NS",
    "CONTENT_TYPES",
    "Enclosure",
    "FeedEntry",
    "FeedMeta",
    "MeetingEvent",
    "build_atom",
    "build_ical",
    "build_json_feed",
    "build_rss",
    "feed_tag",
    "notice_tag",
    "tag_authority",
    "version_tag",
]
