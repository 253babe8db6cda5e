"""Plain input values for the feed builders.

The server maps its database rows to these dataclasses; the builders never see a model,
a request or the clock. Everything that ends up in a feed (including the feed's own
``updated`` time) comes from here, which is what makes the output deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime


def _require_aware(name: str, value: datetime | None) -> None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise ValueError(f"{name} must be timezone-aware, got {value!r}")


@dataclass(frozen=True)
class FeedMeta:
    """Channel-level data of one feed (a tenant, a category of a tenant, or the Land).

    ``self_url`` is the URL of the document being built (it differs per format); the
    other ``*_url`` fields let every format point to its siblings.
    """

    title: str
    self_url: str
    html_url: str
    feed_id: str
    updated: datetime
    subtitle: str = ""
    language: str = "de"
    author_name: str = ""
    author_url: str = ""
    docs_url: str = ""
    category_scheme: str = ""
    rss_url: str = ""
    atom_url: str = ""
    json_url: str = ""
    ics_url: str = ""
    generator: str = "Aushang"

    def __post_init__(self) -> None:
        _require_aware("FeedMeta.updated", self.updated)


@dataclass(frozen=True)
class Enclosure:
    """An attachment of a notice version (usually a PDF)."""

    url: str
    media_type: str
    length: int
    sha256: str
    title: str = ""


@dataclass(frozen=True)
class FeedEntry:
    """One released version of a notice.

    ``id`` identifies this version forever (see :func:`feeds.ids.version_tag`);
    ``notice_uri`` identifies the notice across its versions (used as the calendar UID so a
    correction updates the event instead of adding a second one).
    """

    id: str
    notice_uri: str
    notice_number: str
    version: int
    title: str
    summary: str
    content_html: str
    link: str
    provided_on: date
    category: str
    file_number: str
    content_hash: str
    published: datetime
    updated: datetime
    posting_start: date | None = None
    posting_end: date | None = None
    category_slug: str = ""
    issuing_office: str = ""
    tenant_name: str = ""
    corrects_id: str = ""
    enclosures: tuple[Enclosure, ...] = field(default_factory=tuple)
    # "released", or "withdrawn" / "ended_early": a withdrawn notice stays in the feed
    # under the same id, as a withdrawal (``updated`` is the time of the withdrawal).
    status: str = "released"
    withdrawn_on: date | None = None
    withdrawal_reason: str = ""

    @property
    def withdrawn(self) -> bool:
        return self.status != "released"

    def __post_init__(self) -> None:
        _require_aware("FeedEntry.published", self.published)
        _require_aware("FeedEntry.updated", self.updated)
        if self.posting_start and self.posting_end and self.posting_end < self.posting_start:
            raise ValueError("posting_end lies before posting_start")


MEETING_STATUSES = ("CONFIRMED", "CANCELLED", "TENTATIVE")


@dataclass(frozen=True)
class MeetingEvent:
    """A council meeting with a time and a place, for the iCalendar feed."""

    uid: str
    summary: str
    start: datetime
    end: datetime | None = None
    location: str = ""
    description: str = ""
    url: str = ""
    status: str = "CONFIRMED"
    sequence: int = 0
    last_modified: datetime | None = None

    def __post_init__(self) -> None:
        _require_aware("MeetingEvent.start", self.start)
        _require_aware("MeetingEvent.end", self.end)
        _require_aware("MeetingEvent.last_modified", self.last_modified)
        if self.status not in MEETING_STATUSES:
            raise ValueError(f"unknown meeting status {self.status!r}")
        if self.end is not None and self.end < self.start:
            raise ValueError("meeting ends before it starts")
