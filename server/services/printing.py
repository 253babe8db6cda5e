"""Print versions (PDF) of released notice versions and the Aushangvermerk PDF.

Caching decision: a version's PDF is rendered lazily, on the first request of the
notice page, the PDF itself or an archive export, and then kept content-addressed in
the blob store with its hash on ``NoticeVersion.pdf_sha256``. Rendering at release
would put WeasyPrint into the four-eyes release transaction (slow, and a font problem
would block a legally urgent release); rendering lazily keeps release cheap and still
renders each version exactly once, because the hash is written with a conditional
UPDATE (``WHERE pdf_sha256 IS NULL``): when two requests race, the loser discards its
bytes and serves the winner's, so the hash shown on the page is always the hash of the
bytes served. The PDF shows only what is fixed at release (no "now"), so it does not
matter when it is rendered.

The PDF templates (``templates/pdf/``) are rendered by a Jinja environment of their own,
with the same filters and autoescaping as the web's, so no request or app context is needed.
"""

from __future__ import annotations

import logging
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import update
from sqlalchemy.orm import Session

from ..config import PROJECT_ROOT
from ..documents import render_pdf
from ..domain.formatting import de_date, de_datetime, filesize
from ..models import Notice, NoticeVersion
from .evidence import effective
from .files import BlobStore

log = logging.getLogger("aushang.printing")

PDF_BASE_URL = (PROJECT_ROOT / "templates" / "pdf").as_uri() + "/"

# Autoescaping as Flask's (``select_jinja_autoescape``) for the same file types.
_env = Environment(
    loader=FileSystemLoader(PROJECT_ROOT / "templates"),
    autoescape=select_autoescape(["html", "htm", "xml", "xhtml", "svg"]),
)
_env.filters.update(de_date=de_date, de_datetime=de_datetime, filesize=filesize)


def render_template(name: str, **context: Any) -> str:
    """A PDF template (path below ``templates/``) rendered to HTML."""
    return _env.get_template(name).render(**context)


class PrintUnavailable(Exception):
    """The stored print version is missing from the blob store."""


def version_pdf_html(notice: Notice, version: NoticeVersion, *, public_url: str) -> str:
    per_kind, overall = effective(notice)
    return render_template(
        "pdf/notice.html",
        tenant=notice.tenant,
        notice=notice,
        version=version,
        public_url=public_url,
        binding_channels=notice.category.binding_channels,
        effective_per_kind=per_kind,
        effective_overall=overall,
    )


def ensure_version_pdf(
    session: Session,
    store: BlobStore,
    notice: Notice,
    version: NoticeVersion,
    *,
    public_url: str,
) -> tuple[str, int]:
    """The (sha256, size) of the version's print PDF, rendering it the first time.

    Flushes a DB write on first render; the caller commits. Raises PrintUnavailable
    when a recorded PDF is missing from the store (re-rendering would give different
    bytes than the hash already published, so it is restored from a backup instead).
    """
    if not version.is_released:
        raise ValueError("only released versions have a print version")
    if version.pdf_sha256:
        if not store.exists(version.pdf_sha256):
            log.error("pdf missing version=%s sha256=%s", version.id, version.pdf_sha256)
            raise PrintUnavailable(version.pdf_sha256)
        return version.pdf_sha256, int(version.pdf_size or 0)
    pdf = render_pdf(version_pdf_html(notice, version, public_url=public_url), PDF_BASE_URL)
    digest = store.put_bytes(pdf)
    result = session.execute(
        update(NoticeVersion)
        .where(NoticeVersion.id == version.id, NoticeVersion.pdf_sha256.is_(None))
        .values(pdf_sha256=digest, pdf_size=len(pdf))
        .execution_options(synchronize_session=False)
    )
    session.refresh(version, ["pdf_sha256", "pdf_size"])
    if result.rowcount:  # type: ignore[attr-defined]
        log.info("pdf rendered version=%s sha256=%s size=%s", version.id, digest, len(pdf))
    assert version.pdf_sha256 is not None
    return version.pdf_sha256, int(version.pdf_size or 0)


def aushangvermerk_pdf(record: dict[str, Any]) -> bytes:
    """The Aushangvermerk as PDF (rendered on each request: it states the time of
    issue and, while the posting runs, the planned end)."""
    return render_pdf(render_template("pdf/aushangvermerk.html", v=record), PDF_BASE_URL)
