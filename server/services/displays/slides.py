"""Slides: each released notice version rendered once per orientation into
self-contained HTML (templates/display/), stored content-addressed in the blob store.

A slide references its files (fonts, pictures) by the relative URL ``<sha256>``, which the
player serves next to the slide. The text sits in one ``data-paged`` element that the
kiosk page splits into pages, never truncating it (D4). A PDF attachment is a line on the
notice's slide with its page count (pdfinfo from poppler-utils; this module is its only
user) and a pointer to the QR code: a PDF page shrunk to a screen is unreadable.

Rendering is keyed by everything the slide shows, and the result is remembered in a
small JSON index beside the blobs, so a version is rendered once, not per request, and
every server process sharing the data directory reuses it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import segno
from jinja2 import Environment, FileSystemLoader, select_autoescape

from ...config import PROJECT_ROOT
from ...domain.playlist import TEXT_FONT_VH
from ...models import Attachment, Notice, NoticeVersion, Tenant
from ...processes import ToolError, run_tool
from ..files import BlobStore

log = logging.getLogger("aushang.slides")

RENDER_VERSION = "4"  # 2: bidi controls removed; 3: the QR code stays on screen in portrait;
# 4: PDF attachments as a line "Anlage: … (siehe QR-Code)", not as unreadable page images
FONT_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu"),
)
FONT_FILES = (("DejaVuSans.ttf", 400), ("DejaVuSans-Bold.ttf", 700))

# Bidi controls (embeddings, overrides, isolates, LRM/RLM) reorder what a screen shows:
# a file "\u202egpj.exe" reads "exe.jpg". Displays show no text that needs them.
_BIDI_CONTROLS = dict.fromkeys([0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)])


def strip_bidi(text: str) -> str:
    """``text`` without bidi control characters (U+202A–U+202E, U+2066–U+2069,
    U+200E, U+200F)."""
    return text.translate(_BIDI_CONTROLS)


def strip_bidi_deep(value: Any) -> Any:
    """Every string in a JSON-like value (keys included) without bidi controls."""
    if isinstance(value, str):
        return strip_bidi(value)
    if isinstance(value, dict):
        return {strip_bidi_deep(k): strip_bidi_deep(v) for k, v in value.items()}
    if isinstance(value, list):
        return [strip_bidi_deep(v) for v in value]
    return value


# Beyond this a player's browser needs gigabytes to decode one picture (a PNG of
# 30,000 × 30,000 pixels is a few hundred kilobytes on disk). 8K is 33 megapixels.
MAX_IMAGE_PIXELS = 40_000_000
_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def image_size(path: Path) -> tuple[int, int] | None:
    """Width and height of a PNG or JPEG from its header, without decoding a pixel;
    None if the header does not say."""
    try:
        with path.open("rb") as f:
            head = f.read(26)
            if head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR":
                return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
            if head[:2] != b"\xff\xd8":
                return None
            f.seek(2)
            for _ in range(10_000):  # markers up to the frame header
                marker = f.read(2)
                if len(marker) < 2 or marker[0] != 0xFF:
                    return None
                if marker[1] in (0xD8, 0x01) or 0xD0 <= marker[1] <= 0xD7:
                    continue  # markers without a length
                length = int.from_bytes(f.read(2), "big")
                if marker[1] in _JPEG_SOF:
                    frame = f.read(5)
                    if len(frame) < 5:
                        return None
                    return int.from_bytes(frame[3:5], "big"), int.from_bytes(frame[1:3], "big")
                if length < 2:
                    return None
                f.seek(length - 2, 1)
    except OSError:
        return None
    return None


def image_too_large(path: Path) -> str | None:
    """A German message if the picture has more pixels than a display should decode
    (or a header that names none), else None."""
    size = image_size(path)
    if size is None:
        return "Die Bildgröße lässt sich nicht lesen; bitte als PNG oder JPEG speichern."
    width, height = size
    if width * height > MAX_IMAGE_PIXELS or not width or not height:
        return (
            f"Das Bild hat {width:,} × {height:,} Pixel; höchstens "
            f"{MAX_IMAGE_PIXELS // 1_000_000} Megapixel (z. B. 7680 × 4320)."
        ).replace(",", ".")
    return None


def _finalize(value: Any) -> Any:
    # Every {{ … }} of a slide: titles, file names, body text, labels.
    return value.translate(_BIDI_CONTROLS) if isinstance(value, str) else value


_env = Environment(
    loader=FileSystemLoader(str(PROJECT_ROOT / "templates")),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
    finalize=_finalize,
)


def blob(sha256: str, size: int, media_type: str) -> dict[str, Any]:
    return {"sha256": sha256, "size": size, "media_type": media_type}


@dataclass
class Slide:
    """One rendered slide of a notice or page: the HTML blob and its files."""

    suffix: str
    slide: dict[str, Any]
    assets: list[dict[str, Any]] = field(default_factory=list)
    text_chars: int = 0
    paged: bool = True

    def to_json(self) -> dict[str, Any]:
        return {
            "suffix": self.suffix,
            "slide": self.slide,
            "assets": self.assets,
            "text_chars": self.text_chars,
            "paged": self.paged,
        }


# --- text -------------------------------------------------------------------------------


class _TextExtractor(HTMLParser):
    BLOCKS = {"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "table", "ul", "ol"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag == "br":
            self.parts.append("\n")
        elif tag == "li":
            self.parts.append("\n• ")
        elif tag in self.BLOCKS:
            self.parts.append("\n\n")
        elif tag in ("td", "th"):
            self.parts.append("  ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.BLOCKS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(re.sub(r"\s+", " ", data))


def html_to_text(markup: str) -> str:
    """Plain text of sanitised notice HTML, paragraphs kept as blank lines."""
    parser = _TextExtractor()
    parser.feed(markup or "")
    parser.close()
    text = "".join(parser.parts)
    text = re.sub(r"[ \t]+\n", "\n", text)
    text = re.sub(r"\n[ \t]+(?!• )", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


def _squash(text: str) -> str:
    return " ".join(text.split())


def notice_text(notice: Notice, version: NoticeVersion) -> str:
    """Everything of the notice that must be readable on the board, as one text."""
    parts = []
    summary = version.summary.strip()
    body = html_to_text(version.body_html) if version.body_html else version.body_md.strip()
    # A summary that only repeats the opening of the text would be read twice.
    if summary and not _squash(body).startswith(_squash(summary).rstrip(".…")):
        parts.append(summary)
    if body:
        parts.append(body)
    facts = []
    if version.legal_basis:
        facts.append(f"Rechtsgrundlage: {version.legal_basis}")
    if version.file_number:
        facts.append(f"Aktenzeichen: {version.file_number}")
    if facts:
        parts.append("\n".join(facts))
    signed = []
    if version.signed_on:
        signed.append(f"{notice.tenant.name}, den {version.signed_on:%d.%m.%Y}")
    signed += [s for s in (version.signatory_name, version.signatory_function) if s]
    if signed:
        parts.append("\n".join(signed))
    if version.correction_note and version.number > 1:
        parts.append(f"Berichtigung: {version.correction_note.strip()}")
    return "\n\n".join(parts)


def qr_svg(url: str) -> str:
    svg = segno.make(url, error="m").svg_inline(scale=4, dark="#000000", light="#ffffff")
    return str(svg)


# --- fonts and PDF pages --------------------------------------------------------------------


_font_cache: dict[str, list[dict[str, Any]]] = {}


def font_assets(store: BlobStore) -> list[dict[str, Any]]:
    """DejaVu from the server's system fonts as slide assets (no external host)."""
    key = str(store.root)
    cached = _font_cache.get(key)
    # A restored or emptied file store must get its fonts back: check they are there.
    if cached is not None and all(store.exists(f["sha256"]) for f in cached):
        return cached
    fonts = []
    for name, weight in FONT_FILES:
        path = next((d / name for d in FONT_DIRS if (d / name).is_file()), None)
        if path is None:
            continue
        data = path.read_bytes()
        sha = store.put_bytes(data)
        fonts.append({**blob(sha, len(data), "font/ttf"), "weight": weight})
    _font_cache[key] = fonts
    return fonts


def pdf_page_count(pdf: Path) -> int:
    """The number of pages of a PDF (pdfinfo), 0 when it cannot be read."""
    try:
        info = run_tool(["pdfinfo", str(pdf)], timeout=30, check=True).stdout
    except (OSError, ToolError, ValueError) as exc:
        log.warning("event=pdf_info_failed file=%s error=%s", pdf.name, type(exc).__name__)
        return 0
    match = re.search(r"^Pages:\s+(\d+)", info, re.MULTILINE)
    return int(match.group(1)) if match else 0


# --- rendering --------------------------------------------------------------------------


def _render(template: str, **context: Any) -> bytes:
    return _env.get_template(f"display/{template}").render(**context).encode("utf-8")


def _put_html(store: BlobStore, data: bytes) -> dict[str, Any]:
    return blob(store.put_bytes(data), len(data), "text/html")


def _render_key(*parts: object) -> str:
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()


def _index_path(store: BlobStore, key: str) -> Path:
    return store.root / "renders" / f"{key}.json"


def _read_index(store: BlobStore, key: str) -> list[Slide] | None:
    path = _index_path(store, key)
    try:
        data = json.loads(path.read_text())
        slides = [Slide(**s) for s in data["slides"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    needed = [s.slide for s in slides] + [a for s in slides for a in s.assets]
    if not all(store.exists(b["sha256"]) for b in needed):
        return None
    return slides


def _write_index(store: BlobStore, key: str, slides: list[Slide]) -> None:
    path = _index_path(store, key)
    path.parent.mkdir(parents=True, exist_ok=True)
    body = json.dumps({"slides": [s.to_json() for s in slides]}).encode()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(fd, "wb") as out:
        out.write(body)
    os.replace(tmp, path)


def _de(day: Any) -> str:
    return day.strftime("%d.%m.%Y") if day else "–"


def notice_slides(
    store: BlobStore, notice: Notice, version: NoticeVersion, orientation: str, public_url: str
) -> list[Slide]:
    """The slides of one released version for one orientation (rendered at most once)."""
    key = _render_key(
        RENDER_VERSION,
        "notice",
        version.id,
        version.content_hash,
        orientation,
        notice.category.name,
        notice.tenant.name,
        public_url,
        notice.posting_start,
        notice.posting_end,
    )
    cached = _read_index(store, key)
    if cached is not None:
        return cached
    fonts = font_assets(store)
    font_blobs = [{k: f[k] for k in ("sha256", "size", "media_type")} for f in fonts]
    last_day = notice.posting_end
    common = {
        "orientation": orientation,
        "fonts": fonts,
        "text_vh": TEXT_FONT_VH.get(orientation, 3.4),
        "category": notice.category.name,
        "number": notice.number,
        "issuing_office": version.issuing_office or notice.tenant.name,
        "version_label": f"Berichtigte Fassung {version.number}" if version.number > 1 else "",
        "title": version.title,
        "window_from": _de(notice.posting_start),
        "window_until": _de(last_day),
        "public_url": public_url,
        "qr_svg": qr_svg(public_url),
    }
    text = notice_text(notice, version)
    numbered = list(enumerate(version.attachments, start=1))
    # A PDF page shrunk to a screen is unreadable from any distance: a line on the notice's
    # slide names it, and the QR code leads to it (issue 16). Pictures keep their slide.
    lines = [_attachment_line(store, a, n) for n, a in numbered if _is_pdf(a)]
    doc = _render("notice.html", text=text, attachment_lines=lines, **common)
    slides = [Slide("", _put_html(store, doc), font_blobs, len(text), True)]
    for n, attachment in numbered:
        if not _is_pdf(attachment):
            slides += _attachment_slides(store, attachment, n, common, font_blobs)
    _write_index(store, key, slides)
    return slides


def _is_pdf(attachment: Attachment) -> bool:
    return attachment.media_type == "application/pdf"


def _attachment_line(store: BlobStore, attachment: Attachment, n: int) -> str:
    name = attachment.title or attachment.filename
    pages = (
        pdf_page_count(store.path_for(attachment.sha256)) if store.exists(attachment.sha256) else 0
    )
    size = f"PDF, {pages} Seite{'n' if pages != 1 else ''}" if pages else "PDF"
    return f"Anlage {n}: {name} ({size}, siehe QR-Code)"


def _attachment_slides(
    store: BlobStore,
    attachment: Attachment,
    n: int,
    common: dict[str, Any],
    font_blobs: list[dict[str, Any]],
) -> list[Slide]:
    name = attachment.title or attachment.filename
    images: list[tuple[bytes, str]] = []
    total = 0
    if attachment.media_type in ("image/png", "image/jpeg") and store.exists(attachment.sha256):
        total = 1
        if image_too_large(store.path_for(attachment.sha256)) is None:
            images = [(store.read(attachment.sha256), attachment.media_type)]
    slides = []
    for page, (data, media) in enumerate(images, start=1):
        sha = store.put_bytes(data)
        image = blob(sha, len(data), media)
        label = f"Anlage {n}: {name}" + (f" – Seite {page} von {total}" if total > 1 else "")
        doc = _render("notice.html", figure=sha, figure_alt=label, part_label=label, **common)
        slides.append(
            Slide(f"-a{n}-p{page}", _put_html(store, doc), [*font_blobs, image], 0, False)
        )
    if not images or total > len(images):
        shown = len(images)
        reason = (
            f"Die Anlage {n} „{name}“ hat {total} Seiten; hier sind die ersten {shown} zu sehen."
            if shown
            else f"Die Anlage {n} „{name}“ kann auf dieser Anzeige nicht als Bild gezeigt werden."
        )
        text = f"{reason}\n\nDie vollständige Anlage ist online abrufbar: {common['public_url']}"
        label = f"Anlage {n}: {name}"
        doc = _render("notice.html", text=text, part_label=label, **common)
        slides.append(Slide(f"-a{n}-info", _put_html(store, doc), font_blobs, len(text), True))
    return slides


def page_slide(store: BlobStore, tenant: Tenant, title: str, body: str, orientation: str) -> Slide:
    """An info page (opening hours, a short text) a municipality mixes in."""
    key = _render_key(RENDER_VERSION, "page", tenant.name, title, body, orientation)
    cached = _read_index(store, key)
    if cached is not None:
        return cached[0]
    fonts = font_assets(store)
    font_blobs = [{k: f[k] for k in ("sha256", "size", "media_type")} for f in fonts]
    doc = _render(
        "page.html",
        orientation=orientation,
        fonts=fonts,
        text_vh=TEXT_FONT_VH.get(orientation, 3.4),
        tenant_name=tenant.name,
        title=title,
        text=body.replace("\r\n", "\n").strip(),
    )
    slide = Slide("", _put_html(store, doc), font_blobs, len(body), True)
    _write_index(store, key, [slide])
    return slide


def public_notice_url(base_url: str, tenant: Tenant, notice: Notice) -> str:
    return f"{base_url.rstrip('/')}/{tenant.slug}/bekanntmachungen/{notice.number}"
