"""A corpus of injection payloads through every user-controlled field into every output.

For each payload, one small world is built through the real forms and services: a
tenant and category named with it, a notice whose every text field carries it (each
field marked by a suffix, so a finding names the field), a PDF attachment with it in
its file name and title, a display, a manual warning and a citizen's feedback. Then
every output is read back the way its consumer reads it:

* HTML pages (public and staff, and the display slides): parsed; no element or
  attribute may execute (no ``<script>`` but our own same-origin ``src`` ones, no
  ``on*`` attribute, no ``javascript:``/``vbscript:``/``data:text/html`` URL, no
  ``<iframe>``/``<object>``/``<embed>``/``<base>``, no meta refresh), and the field's
  value appears as literal text;
* PDFs: the extracted text contains the value;
* RSS and Atom (XML, parsed with defusedxml), JSON Feed, iCalendar, CAP and the
  warnings feeds: they parse, and give the value back literally; HTML carried inside
  them passes the same HTML check.

The number of (payload, field, output) checks is printed for the lead's report.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import unicodedata
from dataclasses import dataclass, field
from datetime import timedelta
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote

import pytest
from defusedxml import ElementTree
from sqlalchemy import select

from server.domain.posting import local_date, utcnow
from server.models import Notice
from server.services.displays import config as display_config
from server.services.displays.slides import notice_slides, strip_bidi
from server.services.files import BlobStore

from ..factories import Factory
from .web.conftest import login_as

# --- the corpus -------------------------------------------------------------------------

LONG = "Überlänge-" + "x" * 60 + ("Ä" * 40 + " ") * 120


@dataclass(frozen=True)
class Payload:
    name: str
    text: str
    # Markdown gives some characters a meaning (entities, emphasis, links): in the
    # notice body such a payload is checked for safety, not for literal equality.
    markdown_literal: bool = True


PAYLOADS = [
    Payload("script", "<script>alert(1)</script>"),
    Payload("img onerror", '"><img src=x onerror=alert(1)>'),
    Payload("single quote break", "'><svg/onload=alert(1)>"),
    Payload("javascript url", "javascript:alert(1)"),
    Payload("markdown javascript link", "[klick](javascript:alert(1))", markdown_literal=False),
    Payload("svg onload", "<svg onload=alert(1)><circle r=1 /></svg>"),
    Payload("template", "{{7*7}} {% raw %}${7*7} #{7*7}", markdown_literal=False),
    Payload("title breaker", "</title><script>alert(1)</script>"),
    Payload("textarea breaker", "</textarea><script>alert(1)</script>"),
    Payload("cdata breaker", "]]><x>&amp;</x><![CDATA[ & ]]>", markdown_literal=False),
    Payload(
        "double escape", "&lt;script&gt;alert(1)&lt;/script&gt; &amp;lt;", markdown_literal=False
    ),
    Payload("rtl override", "Bescheid\u202egpj.exe\u202c und \u2066Text\u2069"),
    Payload("very long", LONG),
    Payload("emoji", "Hochwasser 🌊🚧 Straße gesperrt 👷‍♀️ ✅"),
    Payload("style and iframe", "<style>*{display:none}</style><iframe src=//evil.example>"),
    Payload("quotes and backslash", "\"' \\\" \\' ` ; -- /* */", markdown_literal=False),
]

# Field → the form's length limit (the value is cut to it; a cut payload is still hostile).
LIMITS = {
    "title": 300,
    "issuing_office": 300,
    "file_number": 100,
    "legal_basis": 500,
    "signatory_name": 200,
    "signatory_function": 200,
    "category_name": 200,
    "tenant_name": 200,
    "display_name": 200,
    "display_location": 300,
    "attachment_title": 300,
    "attachment_filename": 200,
    "alert_headline": 200,
    "alert_area": 200,
    "feedback_name": 200,
    "search_query": 150,
}


def value_for(payload: Payload, name: str) -> str:
    """The payload for one field, marked with the field's name so findings say where."""
    marker = f" ‹{name}›"
    limit = LIMITS.get(name, 4000) - len(marker)
    return payload.text[:limit] + marker


# --- reading outputs --------------------------------------------------------------------

URL_ATTRS = {"href", "src", "action", "formaction", "xlink:href", "data", "poster", "srcdoc"}
FORBIDDEN_TAGS = {"iframe", "object", "embed", "base", "frame", "frameset", "applet"}
BAD_SCHEMES = ("javascript:", "vbscript:", "data:text/html")


class HtmlScan(HTMLParser):
    """What a browser would execute in a document, and the text a person reads."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.text: list[str] = []
        self._raw: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        src = values.get("src", "")
        if tag == "script" and not src.startswith("/static/"):
            self.problems.append(f"<script src={src!r}>")
        same_origin = src.startswith("/") and not src.startswith("//")
        if tag in FORBIDDEN_TAGS and not (same_origin or src == "about:blank"):
            self.problems.append(f"<{tag}>")
        if tag == "meta" and values.get("http-equiv", "").lower() == "refresh":
            self.problems.append("meta refresh")
        for name, value in values.items():
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=…>")
            if name in URL_ATTRS:
                squeezed = re.sub(r"[\x00-\x20]+", "", value).lower()
                if squeezed.startswith(BAD_SCHEMES):
                    self.problems.append(f"<{tag} {name}={value[:40]!r}>")
            if name in ("value", "content", "title", "alt", "aria-label"):
                self.text.append(value)
        if tag in ("script", "style", "textarea", "title"):
            self._raw = tag

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag: str) -> None:
        if tag == self._raw:
            self._raw = None

    def handle_data(self, data: str) -> None:
        if self._raw in ("script", "style"):
            return
        self.text.append(data)


def scan_html(markup: str) -> tuple[list[str], str]:
    scan = HtmlScan()
    scan.feed(markup)
    scan.close()
    return scan.problems, "\n".join(scan.text)


def xml_text(data: bytes, html_tags: set[str]) -> tuple[list[str], str]:
    """Parse XML safely; its text, with HTML inside the given elements checked too."""
    root = ElementTree.fromstring(data)
    problems: list[str] = []
    texts: list[str] = []
    for element in root.iter():
        local = element.tag.rsplit("}", 1)[-1]
        texts.extend(element.attrib.values())
        if element.text:
            texts.append(element.text)
            if local in html_tags or element.get("type") == "html":
                found, text = scan_html(element.text)
                problems += found
                texts.append(text)
        if element.tail:
            texts.append(element.tail)
    return problems, "\n".join(texts)


def json_text(data: bytes) -> tuple[list[str], str]:
    problems: list[str] = []
    texts: list[str] = []

    def walk(value: Any, key: str = "") -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, k)
        elif isinstance(value, list):
            for v in value:
                walk(v, key)
        elif isinstance(value, str):
            texts.append(value)
            if key.endswith("html"):
                found, text = scan_html(value)
                problems.extend(found)
                texts.append(text)

    walk(json.loads(data))
    return problems, "\n".join(texts)


def ical_text(data: bytes) -> tuple[list[str], str]:
    from icalendar import Calendar

    calendar = Calendar.from_ical(data)
    texts = [str(v) for component in calendar.walk() for v in component.values()]
    return [], "\n".join(texts)


def pdf_text(data: bytes) -> tuple[list[str], str]:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    # The running header (tenant name) lies in the page margins, which the text
    # extraction skips; the document's metadata carries the tenant and the title.
    meta = reader.metadata or {}
    texts = [str(meta.get("/Author", "")), str(meta.get("/Title", ""))]
    body = "\n".join(page.extract_text() or "" for page in reader.pages)
    if "\x00" in body and shutil.which("pdftotext"):
        # pypdf 7 misreads WeasyPrint's embedded CMap once a font gets a second
        # (fallback) subset, e.g. for emoji: it yields UTF-16 bytes as text. Poppler
        # (poppler-utils, a test dependency already) reads the same file correctly.
        # Cropped to the A4 text area (print.css margins 22 mm top, 24 mm bottom), so
        # running headers and "Seite n von m" stay out of the text, as with pypdf.
        body = subprocess.run(
            ["pdftotext", "-enc", "UTF-8", "-x", "0", "-y", "62", "-W", "595", "-H", "712"]
            + ["-", "-"],
            input=data,
            capture_output=True,
            check=True,
        ).stdout.decode("utf-8")
    # Page furniture drawn between the lines of a text running over pages.
    body = re.sub(r"Seite \d+ von \d+", "", body)
    return [], "\n".join([*texts, body])


BIDI_AND_JOINERS = re.compile("[\u200b-\u200f\u202a-\u202e\u2066-\u2069\u00ad\ufe0f]")


def visual(text: str) -> str:
    """What a right-to-left override shows: the overridden run reversed (a PDF holds
    the text in the order it is drawn)."""
    return re.sub("\u202e([^\u202c]*)\u202c", lambda m: m.group(1)[::-1], text)


def squeeze(text: str, layout: bool = False) -> str:
    """Text for comparison. Layouted text (PDF) gains line breaks and hyphens and loses
    invisible bidi controls, joiners and symbols drawn from a fallback font, so only
    the letters a reader sees are compared there."""
    text = unicodedata.normalize("NFC", text)
    if layout:
        text = BIDI_AND_JOINERS.sub("", text)
        text = "".join(c for c in text if unicodedata.category(c) not in ("So", "Sk", "Cf"))
        # A line may break after a hyphen or be hyphenated: hyphens and breaks go.
        return re.sub(r"[\s-]+", "", text)
    return re.sub(r"\s+", " ", text)


# --- the world for one payload ------------------------------------------------------------


@dataclass
class Outputs:
    documents: dict[str, tuple[list[str], str]] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)

    def add(self, name: str, kind: str, result: tuple[list[str], str]) -> None:
        self.documents[name] = result
        self.kinds[name] = kind


def page(client: Any, url: str, status: int = 200, **kw: Any) -> str:
    response = client.get(url, **kw)
    assert response.status_code == status, (url, response.status_code)
    return response.get_data(as_text=True)


def multipart(fields: dict[str, str], upload: tuple[str, str, bytes]) -> tuple[bytes, str]:
    """A multipart body with the file name in RFC 7578/2231 form (``filename*``), so any
    character of it arrives as typed (the test client would put quotes in raw)."""
    boundary = "----aushang-xss-corpus"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n'.encode()
        + v.encode()
        + b"\r\n"
        for k, v in fields.items()
    ]
    name, filename, data = upload
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
        f"filename*=UTF-8''{quote(filename, safe='')}\r\n"
        "Content-Type: application/pdf\r\n\r\n".encode()
        + data
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def build_world(app: Any, session: Any, payload: Payload) -> tuple[Outputs, dict[str, str]]:
    now = utcnow()
    factory = Factory(session, now)
    v = {name: value_for(payload, name) for name in ALL_FIELDS}
    tenant = factory.tenant(name=v["tenant_name"])
    category = factory.category(tenant, name=v["category_name"], binding=("internet", "board"))
    editor = factory.user(tenant, "editor")
    approver = factory.user(tenant, "approver")
    admin = factory.user(tenant, "admin")
    session.commit()
    slug = tenant.slug
    today = local_date(now, tenant.timezone)
    client = app.test_client()
    out = Outputs()

    # The notice through the staff form, as a draft.
    login_as(client, editor)
    form = {name: v[name] for name in NOTICE_FIELDS}
    form |= {
        "category": str(category.id),
        "signed_on": today.isoformat(),
        "posting_start": today.isoformat(),
        "posting_end": (today + timedelta(days=14)).isoformat(),
    }
    response = client.post(f"/admin/{slug}/bekanntmachungen/neu", data=form)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    number = session.scalar(select(Notice.number).where(Notice.tenant_id == tenant.id))
    admin_notice = f"/admin/{slug}/bekanntmachungen/{number}"
    body, content_type = multipart(
        {"attachment_title": v["attachment_title"]},
        ("attachment", v["attachment_filename"] + ".pdf", PDF_BYTES),
    )
    response = client.post(f"{admin_notice}/anlagen", data=body, content_type=content_type)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    out.add("admin notice form", "html", scan_html(page(client, f"{admin_notice}/bearbeiten")))
    out.add("admin draft detail", "html", scan_html(page(client, admin_notice)))
    assert client.post(f"{admin_notice}/vorlegen").status_code == 302
    login_as(client, approver)
    assert client.post(f"{admin_notice}/freigeben", data={"comment": v["title"]}).status_code == 302

    # Staff pages.
    login_as(client, admin)
    q = v["search_query"]
    out.add("admin notice detail", "html", scan_html(page(client, admin_notice)))
    out.add(
        "admin notice list", "html", scan_html(page(client, f"/admin/{slug}/bekanntmachungen/"))
    )
    out.add(
        "admin notice search",
        "html",
        scan_html(page(client, f"/admin/{slug}/bekanntmachungen/", query_string={"q": q})),
    )
    out.add("admin dashboard", "html", scan_html(page(client, f"/admin/{slug}/")))
    out.add("admin categories", "html", scan_html(page(client, f"/admin/{slug}/kategorien/")))
    out.add("admin audit log", "html", scan_html(page(client, f"/admin/{slug}/protokoll")))

    # The public pages, the print PDF and the feeds, anonymous.
    public = app.test_client()
    out.add("public index", "html", scan_html(page(public, f"/{slug}/")))
    out.add("public notice", "html", scan_html(page(public, f"/{slug}/bekanntmachungen/{number}")))
    out.add(
        "public archive search",
        "html",
        scan_html(page(public, f"/{slug}/archiv", query_string={"q": q})),
    )
    out.add("public feeds page", "html", scan_html(page(public, f"/{slug}/feeds/")))
    pdf = public.get(f"/{slug}/bekanntmachungen/{number}/v1.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    out.add("notice PDF", "pdf", pdf_text(pdf.data))
    feeds = f"/{slug}/feeds/notices"
    rss_html = {"description", "encoded"}
    out.add("RSS", "feed", xml_text(public.get(f"{feeds}.rss").data, rss_html))
    out.add("Atom", "feed", xml_text(public.get(f"{feeds}.atom").data, set()))
    out.add("JSON Feed", "feed", json_text(public.get(f"{feeds}.json").data))
    out.add("iCalendar", "feed", ical_text(public.get(f"{feeds}.ics").data))

    # The display slide of the notice, as the player receives it.
    store = BlobStore(app.config["AUSHANG_DATA_DIR"])
    notice = session.scalar(select(Notice).where(Notice.tenant_id == tenant.id))
    slides = notice_slides(store, notice, notice.current_version, "landscape", "http://x/")
    slide_html = store.path_for(slides[0].slide["sha256"]).read_text(encoding="utf-8")
    out.add("display slide", "html", scan_html(slide_html))

    # A display with the payload in its name and place.
    display = display_config.save_display(
        session,
        tenant,
        admin,
        display_config.DisplayInput(name=v["display_name"], location=v["display_location"]),
        now,
        store=store,
        base_url="http://localhost",
    )
    session.commit()
    out.add("admin display list", "html", scan_html(page(client, f"/admin/{slug}/anzeigen/")))
    out.add(
        "admin display detail",
        "html",
        scan_html(page(client, f"/admin/{slug}/anzeigen/{display.id}")),
    )
    out.add(
        "admin display preview",
        "html",
        scan_html(page(client, f"/admin/{slug}/anzeigen/{display.id}/vorschau")),
    )

    # A manual warning (Schadenslage) through the staff form: preview, then issue.
    alert_form = {
        "template_key": "hochwasser",
        "area_desc": v["alert_area"],
        "tenant_ids": str(tenant.id),
        "warnstufe": "1",
        "headline": v["alert_headline"],
        "description": v["alert_description"],
        "instruction": v["alert_instruction"],
        "sender_name": v["alert_sender"],
    }
    preview = client.post(f"/admin/{slug}/warnungen/neu", data=alert_form | {"action": "preview"})
    assert preview.status_code == 200, preview.get_data(as_text=True)[:2000]
    out.add("admin alert preview", "html", scan_html(preview.get_data(as_text=True)))
    issued = client.post(f"/admin/{slug}/warnungen/neu", data=alert_form | {"action": "confirm"})
    assert issued.status_code == 302, issued.get_data(as_text=True)[:2000]
    alert_page = issued.headers["Location"]
    out.add("admin alert detail", "html", scan_html(page(client, alert_page)))
    out.add("admin alerts list", "html", scan_html(page(client, f"/admin/{slug}/warnungen/")))
    out.add(
        "admin display preview (warning)",
        "html",
        scan_html(page(client, f"/admin/{slug}/anzeigen/{display.id}/vorschau")),
    )
    from server.models import AlertRecord

    identifier = session.scalar(select(AlertRecord.identifier).order_by(AlertRecord.id.desc()))
    cap = public.get(f"/warnungen/cap/{identifier}.xml")
    assert cap.status_code == 200
    out.add("CAP", "feed", xml_text(cap.data, set()))
    out.add(
        "warnings Atom", "feed", xml_text(public.get(f"/{slug}/feeds/warnungen.atom").data, set())
    )
    out.add("warnings JSON", "feed", json_text(public.get(f"/{slug}/feeds/warnungen.json").data))

    # A citizen's feedback: the form echoes it on an error, staff read it.
    feedback = {
        "topic": "barrierefreiheit",
        "message": v["feedback_message"],
        "name": v["feedback_name"],
    }
    echoed = public.post(f"/{slug}/rueckmeldung", data=feedback | {"email": "kaputt"})
    assert echoed.status_code == 422
    out.add("public feedback form (error)", "html", scan_html(echoed.get_data(as_text=True)))
    assert public.post(f"/{slug}/rueckmeldung", data=feedback).status_code in (200, 302, 303)
    out.add("admin feedback", "html", scan_html(page(client, f"/admin/{slug}/rueckmeldungen")))
    return out, v


PDF_BYTES = (
    b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
    b"2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n"
    b"3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >> endobj\n"
    b"trailer << /Root 1 0 R >>\n%%EOF\n"
)

NOTICE_FIELDS = (
    "title",
    "summary",
    "body_md",
    "issuing_office",
    "file_number",
    "legal_basis",
    "signatory_name",
    "signatory_function",
)
ALL_FIELDS = (
    *NOTICE_FIELDS,
    "attachment_filename",
    "attachment_title",
    "category_name",
    "tenant_name",
    "search_query",
    "display_name",
    "display_location",
    "alert_headline",
    "alert_description",
    "alert_instruction",
    "alert_sender",
    "alert_area",
    "feedback_message",
    "feedback_name",
)

# Where each field must come back as literal text (the safety check covers every
# output whatever it shows). Fields an output does not show are left out on purpose.
NOTICE_PAGE = {
    "title",
    "body_md",
    "issuing_office",
    "file_number",
    "legal_basis",
    "signatory_name",
    "signatory_function",
    "attachment_title",
    "category_name",
    "tenant_name",
}
EXPECT: dict[str, set[str]] = {
    "admin notice form": {f for f in NOTICE_FIELDS} | {"tenant_name", "category_name"},
    "admin draft detail": NOTICE_PAGE | {"summary", "attachment_filename"},
    "admin notice detail": NOTICE_PAGE | {"summary", "attachment_filename"},
    "admin notice list": {"title", "category_name"},
    "admin notice search": {"search_query"},
    "admin dashboard": {"tenant_name"},
    "admin categories": {"category_name"},
    "admin audit log": {"title"},
    "public index": {"title", "summary", "category_name", "tenant_name", "file_number"},
    "public notice": NOTICE_PAGE,
    "public archive search": {"search_query", "tenant_name"},
    "public feeds page": {"tenant_name", "category_name"},
    "notice PDF": {
        "title",
        "body_md",
        "issuing_office",
        "file_number",
        "signatory_name",
        "signatory_function",
        "tenant_name",
        "attachment_filename",
    },
    "RSS": {"title", "summary", "category_name", "file_number"},
    "Atom": {"title", "summary", "category_name", "file_number"},
    "JSON Feed": {"title", "summary", "category_name", "file_number"},
    "iCalendar": {"title"},
    "display slide": {"title", "body_md", "issuing_office", "category_name"},
    "admin display list": {"display_name", "display_location"},
    "admin display detail": {"display_name"},
    "admin display preview": {"display_name", "title"},
    "admin alert preview": {
        "alert_headline",
        "alert_description",
        "alert_instruction",
        "alert_sender",
        "alert_area",
    },
    "admin alert detail": {
        "alert_headline",
        "alert_description",
        "alert_instruction",
        "alert_sender",
        "alert_area",
    },
    "admin alerts list": {"alert_headline"},
    "admin display preview (warning)": {"alert_headline"},
    "CAP": {
        "alert_headline",
        "alert_description",
        "alert_instruction",
        "alert_sender",
        "alert_area",
    },
    "warnings Atom": {"alert_headline"},
    "warnings JSON": {"alert_headline", "alert_description", "alert_instruction"},
    "public feedback form (error)": {"feedback_message", "feedback_name"},
    "admin feedback": {"feedback_message", "feedback_name"},
}


# What a display shows (and the staff previews of it): bidi control characters are removed there, so that a file name
# like "\u202egpj.exe" cannot pass itself off as "exe.jpg" in front of the public.
SCREEN_OUTPUTS = {"display slide", "admin display preview", "admin display preview (warning)"}


def literal_expected(payload: Payload, name: str, output: str) -> bool:
    if name not in EXPECT[output]:
        return False
    if name == "body_md" and not payload.markdown_literal:
        return False
    return True


@pytest.mark.parametrize("payload", PAYLOADS, ids=[p.name for p in PAYLOADS])
def test_payload_through_every_field_into_every_output(app_ctx, session, payload):
    out, values = build_world(app_ctx, session, payload)
    # Uploads keep only the last part of a path as the file name (no traversal).
    values["attachment_filename"] = (
        (values["attachment_filename"] + ".pdf").replace("\\", "/").rsplit("/", 1)[-1].strip()
    )
    # Every payload reaches every output: a rendering that silently drops one is a failure.
    assert set(out.documents) == set(EXPECT)
    failures = []
    for output, (problems, text) in out.documents.items():
        layout = out.kinds[output] == "pdf"
        flat = squeeze(text, layout)
        for problem in problems:
            failures.append(f"{output}: executable markup {problem}")
        for name in ALL_FIELDS:
            if literal_expected(payload, name, output):
                expected = {squeeze(values[name], layout)}
                if output in SCREEN_OUTPUTS:  # screens drop bidi controls on purpose (issue 11)
                    expected.add(squeeze(strip_bidi(values[name]), layout))
                if layout:
                    expected.add(squeeze(visual(values[name]), layout))
                if not any(e in flat for e in expected):
                    failures.append(f"{output}: {name} not shown literally")
                    if os.environ.get("XSS_DEBUG"):
                        print(f"--- {output} / {name}\n{expected}\n{flat}")
    assert not failures, "\n".join(failures)


def test_the_corpus_covers_every_field_in_every_output():
    """The size of the corpus, from its tables (no order between tests): every field is
    checked literally in at least one output, and every output is checked."""
    literal_fields = set().union(*EXPECT.values())
    assert set(ALL_FIELDS) - literal_fields == set()
    assert all(EXPECT.values())
    assert len(PAYLOADS) >= 16 and len({p.name for p in PAYLOADS}) == len(PAYLOADS)
    print(
        f"\nXSS corpus: {len(PAYLOADS)} payloads × {len(ALL_FIELDS)} fields × "
        f"{len(EXPECT)} outputs = {len(PAYLOADS) * len(ALL_FIELDS) * len(EXPECT)} safety checks"
    )


def test_the_checks_do_find_what_they_look_for():
    """A canary: each reader reports a known fault, so a blind check never passes."""
    hostile = (
        "<p onclick=x>a</p><script>alert(1)</script><a href=' java\tscript:x'>b</a>"
        "<iframe src=//evil.example></iframe><meta http-equiv=refresh content=0>"
    )
    problems, text = scan_html(hostile)
    assert len(problems) == 5, problems
    assert "alert(1)" not in text  # script content is not text a person reads
    assert scan_html('<script src="/static/admin.js"></script><p>&lt;b&gt;</p>') == ([], "<b>")
    problems, _ = xml_text(
        b"<feed><content type='html'>&lt;img src=x onerror=y&gt;</content></feed>", set()
    )
    assert problems == ["<img onerror=…>"]
    with pytest.raises(ElementTree.ParseError):
        xml_text(b"<rss><title>]]></x></title></rss>", set())
    assert visual("a\u202ecba\u202c") == "aabc"
