"""PDF rendering: the only module that imports WeasyPrint.

``render_pdf`` turns self-contained HTML into PDF/A bytes. It never touches the
network: the URL fetcher accepts only ``file:`` and ``data:`` URLs, fonts come from
the local fontconfig (DejaVu is installed by ``make system-deps``), so a notice's print
version looks the same on every installation and renders without Internet access.
"""

from __future__ import annotations

import logging
from typing import Any

import weasyprint

log = logging.getLogger("aushang.documents")

ALLOWED_SCHEMES = ("file", "data")
# PDF/A-3a: archivable and tagged (the "a" level requires the structure tree that makes
# a PDF accessible), and allows embedded files (e.g. the JSON Aushangvermerk). WeasyPrint
# tags headings, paragraphs, lists and tables from the HTML (``pdf_tags``); the document
# language comes from ``<html lang>``, the title from ``<title>``. The PDF/UA-1
# identifier is added to the XMP metadata: WeasyPrint writes one identifier per variant,
# and the tags the a-level writes are the ones PDF/UA asks for. Where a WeasyPrint lacks
# the variant, the PDF is still tagged.
PDF_VARIANT = "pdf/a-3a"
PDF_UA_ID = b' xmlns:pdfuaid="http://www.aiim.org/pdfua/ns/id/" pdfuaid:part="1"'


class RefusedURL(ValueError):
    """A document tried to load something from outside the installation."""


def _check_url(url: str) -> None:
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if scheme not in ALLOWED_SCHEMES:
        log.warning("pdf refused url=%s", url[:200])
        raise RefusedURL(f"refused to fetch {url[:200]!r}: only file: and data: are allowed")


def _url_fetcher() -> Any:
    if hasattr(weasyprint, "URLFetcher"):  # WeasyPrint ≥ 68: a class

        class LocalOnlyFetcher(weasyprint.URLFetcher):  # type: ignore[misc,name-defined]
            def fetch(self, url: str, headers: Any = None) -> Any:
                _check_url(url)
                return super().fetch(url, headers)

        return LocalOnlyFetcher(allowed_protocols=set(ALLOWED_SCHEMES), timeout=5)

    def fetcher(url: str, *args: Any, **kwargs: Any) -> Any:  # older: a function
        _check_url(url)
        return weasyprint.default_url_fetcher(url, *args, **kwargs)

    return fetcher


def _identify_pdf_ua(document: Any, pdf: Any) -> None:
    """Add the PDF/UA-1 identifier to the first ``rdf:Description`` of the XMP packet
    (validators read one description block; a second ``rdf:RDF`` would be ignored)."""
    ref = pdf.catalog.get("Metadata")
    if ref is None:
        return
    stream = pdf.objects[int(bytes(ref).split()[0])]
    data = b"".join(stream.stream)
    marker = b'<rdf:Description rdf:about=""'
    if b"pdfuaid:part" in data or marker not in data:
        return
    stream.stream = [data.replace(marker, marker + PDF_UA_ID, 1)]


def render_pdf(html: str, base_url: str) -> bytes:
    """Render ``html`` to tagged PDF/A-3a bytes; relative URLs resolve against ``base_url``
    (a ``file:`` URL of a directory). Any other URL is refused, never fetched."""
    document = weasyprint.HTML(string=html, base_url=base_url, url_fetcher=_url_fetcher())
    options: dict[str, Any] = {"pdf_tags": True}
    variants: Any = getattr(getattr(weasyprint, "pdf", None), "VARIANTS", None)
    if variants is None:
        try:
            from weasyprint.pdf import VARIANTS
        except ImportError:
            variants = {}
        else:
            variants = VARIANTS
    if PDF_VARIANT in variants:
        options["pdf_variant"] = PDF_VARIANT
    pdf = document.write_pdf(finisher=_identify_pdf_ua, **options)
    assert isinstance(pdf, bytes)
    return pdf
