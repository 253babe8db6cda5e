"""Small text helpers shared by the builders: XML-safe strings and German date labels."""

from __future__ import annotations

import html
import re
from datetime import date

from .model import FeedEntry

# XML 1.0 forbids most C0 controls; lxml refuses them, iCalendar readers choke on them.
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def clean(text: str) -> str:
    """Remove characters that XML 1.0 cannot carry; keep tabs and newlines."""
    return _INVALID_XML.sub("", text or "")


def de_date(value: date) -> str:
    """``TT.MM.JJJJ`` as shown to people."""
    return value.strftime("%d.%m.%Y")


def window_label(entry: FeedEntry) -> str:
    """Human-readable Aushang window, e.g. ``01.03.2026 – 15.03.2026``."""
    if entry.posting_start and entry.posting_end:
        return f"{de_date(entry.posting_start)} – {de_date(entry.posting_end)}"
    if entry.posting_start:
        return f"ab {de_date(entry.posting_start)}"
    return ""


def metadata_lines(entry: FeedEntry) -> list[tuple[str, str]]:
    """The legally relevant facts of an entry as (German label, value) pairs."""
    lines = [("Bereitgestellt am", de_date(entry.provided_on))]
    window = window_label(entry)
    if window:
        lines.append(("Aushang", window))
    lines.append(("Kategorie", entry.category))
    if entry.issuing_office:
        lines.append(("Erlassende Stelle", entry.issuing_office))
    if entry.file_number:
        lines.append(("Aktenzeichen", entry.file_number))
    lines.append(("Fassung", str(entry.version)))
    lines.append(("SHA-256 des Textes", entry.content_hash))
    return lines


def metadata_html(entry: FeedEntry) -> str:
    """The metadata block appended to the HTML content, so feed readers show it too."""
    rows = "".join(
        f"<dt>{html.escape(label)}</dt><dd>{html.escape(clean(value))}</dd>"
        for label, value in metadata_lines(entry)
    )
    attachments = "".join(
        f'<li><a href="{html.escape(enc.url)}">{html.escape(clean(enc.title or enc.url))}</a>'
        f" ({html.escape(enc.media_type)}, {enc.length} Bytes, SHA-256 {html.escape(enc.sha256)})</li>"
        for enc in entry.enclosures
    )
    block = f'<dl class="aushang-meta">{rows}</dl>'
    if attachments:
        block += f'<p>Anlagen:</p><ul class="aushang-anlagen">{attachments}</ul>'
    return block


def metadata_text(entry: FeedEntry) -> str:
    """The same facts as plain text lines (iCalendar descriptions, JSON ``content_text``)."""
    lines = [f"{label}: {clean(value)}" for label, value in metadata_lines(entry)]
    for enc in entry.enclosures:
        lines.append(f"Anlage: {clean(enc.title or enc.url)} – {enc.url} (SHA-256 {enc.sha256})")
    return "\n".join(lines)


def full_content_html(entry: FeedEntry) -> str:
    """The version's HTML body followed by its metadata block."""
    return clean(entry.content_html) + metadata_html(entry)
