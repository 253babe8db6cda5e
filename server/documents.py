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
# PDF/A-3b: archivable, allows embedded files later (e.g. the JSON Aushangvermerk);
# WeasyPrint has supported it since version 57. Older versions get a plain PDF.
PDF_VARIANT = "pdf/a-3b"


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


def render_pdf(html: str, base_url: str) -> bytes:
    """Render ``html`` to PDF/A bytes; relative URLs resolve against ``base_url``
    (a ``file:`` URL of a directory). Any other URL is refused, never fetched."""
    document = weasyprint.HTML(string=html, base_url=base_url, url_fetcher=_url_fetcher())
    options: dict[str, Any] = {}
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
    pdf = document.write_pdf(**options)
    assert isinstance(pdf, bytes)
    return pdf
