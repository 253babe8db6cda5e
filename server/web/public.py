"""The public site of each tenant under ``/<tenant>/`` (L4–L10, L15, L19).

Readable without login, scripts or foreign hosts. Stable URLs: a published notice
never becomes 404 (L7); only personal data leaves after its period with 410 (L15).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask import (
    Response,
    abort,
    current_app,
    render_template,
    request,
    send_file,
    url_for,
)
from sqlalchemy import select

from ..domain import posting
from ..extensions import db
from ..models import Attachment, Category, Notice, NoticeVersion, Tenant
from ..services import evidence, listing, onboarding, printing, search
from ..services import notices as svc
from . import public_evidence, public_feedback  # noqa: F401  (routes on the same bp)
from .clock import blob_store, request_now
from .forms import parse_date
from .public_common import _load_notice, _tenant, bp, public_url

log = logging.getLogger("aushang.public")


SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
IMMUTABLE = "public, max-age=31536000, immutable"


# --- the warning banner on every public page (issue 13, build 4) ---------------------


@bp.app_template_global("public_warning_banner")
def public_warning_banner(tenant: Tenant) -> dict[str, Any] | None:
    """What the banner of ``tenant``'s public pages shows now, or None.

    Warnings in force for the Kommune (``Actual`` + ``Public``, as on its warnings page
    and the feeds) and Entwarnungen until their configured time
    (``AUSHANG_ALERT_ALL_CLEAR_MINUTES``). Two indexed queries per page, and parsing
    only on a cache miss of the process-wide message cache; a cache keyed by the
    alerts' change generation would cost a query of its own, so there is none.
    """
    from ..domain.alerts.policy import Behaviour
    from ..services import alerts as alert_svc

    now = request_now()
    policy = alert_svc.policy_from_config(current_app.config)
    shown = alert_svc.active_alerts_for_place(db.session, tenant=tenant, now=now, policy=policy)
    if not shown:
        return None
    items = [
        {
            "entwarnung": a.presentation.behaviour is Behaviour.ALL_CLEAR,
            "headline": a.alert.headline or a.record.headline or a.record.event,
        }
        for a in shown
    ]
    warnings = [i for i in items if not i["entwarnung"]]
    return {
        "entwarnung": not warnings,
        "items": items[:3],
        "more": max(0, len(items) - 3),
        "url": url_for("alerts_public.tenant_warnings", tenant=tenant.slug),
    }


# --- helpers -------------------------------------------------------------------------


def _category(tenant: Tenant, slug: str | None) -> Category | None:
    if not slug:
        return None
    for c in tenant.categories:
        if c.slug == slug:
            return c
    abort(404, "Diese Kategorie gibt es nicht.")


def _noindex(response: Response) -> Response:
    response.headers["X-Robots-Tag"] = "noindex, noarchive"
    return response


def _gone(tenant: Tenant) -> Response:
    response = Response(
        render_template("public/gone.html", tenant=tenant, noindex=True), status=410
    )
    response.headers["Cache-Control"] = "no-store"
    return _noindex(response)


def _visible(notice: Notice, now: datetime) -> bool | None:
    """True: show; False: gone (410, personal data); None: never public (404)."""
    if notice.current_version_id is None or notice.provided_at is None:
        return None
    if now < notice.provided_at:
        return None
    return svc.is_public(notice, now)


def notice_context(
    notice: Notice,
    version: NoticeVersion,
    now: datetime,
    *,
    preview: bool = False,
    file_url: Callable[[Attachment], str] | None = None,
) -> dict[str, Any]:
    """Everything ``public/_notice.html`` needs; shared by the public page and the
    staff preview so that the preview is exactly the public page."""
    tenant = notice.tenant

    def public_file_url(a: Attachment) -> str:
        return url_for(
            "public.attachment", tenant=tenant.slug, sha256=a.sha256, filename=a.filename
        )

    def version_url(number: int) -> str:
        return url_for(
            "public.notice_version", tenant=tenant.slug, number=notice.number, version=number
        )

    per_kind, overall = evidence.effective(notice)
    released = notice.released_versions
    newer = [v for v in released if v.number > version.number]
    return {
        "tenant": tenant,
        "notice": notice,
        "version": version,
        "phase": svc.notice_phase(notice, now),
        "Phase": posting.Phase,
        "released_versions": released,
        "is_current": notice.current_version_id == version.id,
        "newer_version": newer[-1] if newer else None,
        "binding_channels": notice.category.binding_channels,
        "effective_per_kind": per_kind,
        "effective_overall": overall,
        "preview": preview,
        "pdf": None,
        "noindex": preview or notice.contains_personal_data,
        "file_url": file_url or public_file_url,
        "version_url": version_url,
        "proof_url": (
            url_for("public.public_proof_pdf", tenant=tenant.slug, number=notice.number)
            if not preview and public_evidence.proof_available(notice, now)
            else None
        ),
    }


# --- index and archive ---------------------------------------------------------------


@bp.route("/<tenant>/")
def index(tenant: str):
    t = _tenant(tenant)
    now = request_now()
    category = _category(t, request.args.get("kategorie"))
    notices = listing.in_aushang(db.session, t, now, category)
    groups: dict[int, list[Notice]] = {}
    for n in notices:
        groups.setdefault(n.category_id, []).append(n)
    counts: dict[int, int] = {}
    if category is not None:
        for n in listing.in_aushang(db.session, t, now):
            counts[n.category_id] = counts.get(n.category_id, 0) + 1
    else:
        counts = {cid: len(items) for cid, items in groups.items()}
    ordered = [(c, groups[c.id]) for c in t.categories if c.id in groups]
    building = not onboarding.is_live(db.session, t)
    return render_template(
        "public/index.html",
        tenant=t,
        under_construction=building,
        noindex=building,
        now=now,
        groups=ordered,
        total=len(notices),
        category=category,
        counts=counts,
    )


@dataclass
class _ArchiveFilters:
    query: str
    cat_slug: str
    category: Category | None
    date_from: date | None
    date_to: date | None
    page_no: int
    errors: dict[str, str]

    def args(self) -> dict[str, str]:
        """What goes back into the form. A date input may only carry an ISO date
        (HTML): a parsed date is shown as one, an unparseable entry goes back as text,
        so the person sees what to correct."""
        raw = request.args
        return {
            "q": self.query,
            "kategorie": self.cat_slug,
            "von": self.date_from.isoformat() if self.date_from else raw.get("von") or "",
            "bis": self.date_to.isoformat() if self.date_to else raw.get("bis") or "",
        }


def _archive_filters(t: Tenant) -> _ArchiveFilters:
    errors: dict[str, str] = {}
    cat_slug = request.args.get("kategorie") or ""
    category = next((c for c in t.categories if c.slug == cat_slug), None) if cat_slug else None
    if cat_slug and category is None:
        errors["kategorie"] = "Diese Kategorie gibt es nicht."
    date_from = parse_date(request.args.get("von"), "von", errors)
    date_to = parse_date(request.args.get("bis"), "bis", errors)
    if date_from and date_to and date_to < date_from:
        errors["bis"] = "Das Enddatum liegt vor dem Anfangsdatum."
    raw_page = request.args.get("seite") or "1"
    return _ArchiveFilters(
        query=(request.args.get("q") or "").strip()[:200],
        cat_slug=cat_slug,
        category=category,
        date_from=date_from,
        date_to=date_to,
        page_no=int(raw_page) if raw_page.isdigit() else 1,
        errors=errors,
    )


@bp.route("/<tenant>/archiv")
def archive(tenant: str):
    t = _tenant(tenant)
    now = request_now()
    f = _archive_filters(t)
    page = None
    if not f.errors:
        if search.ensure_indexed(db.session, t):
            db.session.commit()  # notices released before the search existed
        page = listing.search_archive(
            db.session,
            t,
            now,
            query=f.query,
            category=f.category,
            provided_from=f.date_from,
            provided_to=f.date_to,
            page=f.page_no,
        )
    args = f.args()
    dates = (("von", f.date_from), ("bis", f.date_to))
    return render_template(
        "public/archive.html",
        tenant=t,
        now=now,
        page=page,
        errors=f.errors,
        args=args,
        filter_args={k: v for k, v in args.items() if v},
        text_dates={k for k, d in dates if args[k] and not d},
        phase_of=lambda n: svc.notice_phase(n, now),
    ), (400 if f.errors else 200)


# --- notice pages ----------------------------------------------------------------------


def _attach_pdf(ctx: dict[str, Any], notice: Notice, version: NoticeVersion) -> None:
    try:
        sha, size = printing.ensure_version_pdf(
            db.session,
            blob_store(),
            notice,
            version,
            public_url=public_url(notice.tenant, notice.number, version.number),
        )
        db.session.commit()
        ctx["pdf"] = {"sha256": sha, "size": size}
    except Exception:  # the page must not fail because the print version does
        db.session.rollback()
        log.exception("pdf unavailable notice=%s version=%s", notice.id, version.number)


def _render_notice(t: Tenant, notice: Notice, version: NoticeVersion, now: datetime) -> Any:
    ctx = notice_context(notice, version, now)
    _attach_pdf(ctx, notice, version)
    response = Response(render_template("public/notice.html", **ctx))
    if ctx["noindex"]:
        _noindex(response)
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/<tenant>/bekanntmachungen/<number>")
def notice(tenant: str, number: str):
    t = _tenant(tenant)
    now = request_now()
    n = _load_notice(t, number)
    visible = _visible(n, now)
    if visible is None:
        abort(404, "Diese Bekanntmachung gibt es nicht.")
    if not visible:
        return _gone(t)
    assert n.current_version is not None
    return _render_notice(t, n, n.current_version, now)


def _released_version(n: Notice, number: int) -> NoticeVersion:
    version = next((v for v in n.released_versions if v.number == number), None)
    if version is None:
        abort(404, "Diese Fassung gibt es nicht.")
    return version


@bp.route("/<tenant>/bekanntmachungen/<number>/v<int:version>")
def notice_version(tenant: str, number: str, version: int):
    t = _tenant(tenant)
    now = request_now()
    n = _load_notice(t, number)
    visible = _visible(n, now)
    if visible is None:
        abort(404, "Diese Bekanntmachung gibt es nicht.")
    if not visible:
        return _gone(t)
    return _render_notice(t, n, _released_version(n, version), now)


@bp.route("/<tenant>/bekanntmachungen/<number>/v<int:version>.pdf")
def notice_pdf(tenant: str, number: str, version: int):
    t = _tenant(tenant)
    now = request_now()
    n = _load_notice(t, number)
    visible = _visible(n, now)
    if visible is None:
        abort(404, "Diese Bekanntmachung gibt es nicht.")
    if not visible:
        return _gone(t)
    v = _released_version(n, version)
    store = blob_store()
    try:
        sha, _size = printing.ensure_version_pdf(
            db.session, store, n, v, public_url=public_url(t, n.number, v.number)
        )
        db.session.commit()
    except printing.PrintUnavailable:
        db.session.rollback()
        abort(404, "Die Druckfassung ist derzeit nicht verfügbar.")
    return _send_blob(
        store, sha, "application/pdf", f"bekanntmachung-{n.number}-v{v.number}.pdf", n
    )


# --- files -------------------------------------------------------------------------------


def _send_blob(
    store, sha256: str, media_type: str, filename: str, notice: Notice, *, uploaded: bool = False
) -> Any:
    path = store.path_for(sha256)
    if not path.is_file():
        log.error("blob missing sha256=%s", sha256)
        abort(404, "Die Datei ist derzeit nicht verfügbar.")
    response = send_file(
        path,
        mimetype=media_type,
        as_attachment=uploaded,
        download_name=filename,
        etag=sha256,
        conditional=True,
        max_age=None,
    )
    if uploaded:
        # Someone else's bytes (a PDF may also be valid HTML): a download of the sniffed
        # type (nosniff comes from setup), and if a browser rendered it anyway, a
        # sandbox without scripts, forms or same-origin access.
        response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    if notice.contains_personal_data:
        # Personal data must disappear after its period (L15): no caches, no index.
        response.headers["Cache-Control"] = "private, no-store"
        _noindex(response)
    else:
        # The URL names the content's hash: the bytes behind it can never change.
        response.headers["Cache-Control"] = IMMUTABLE
    return response


@bp.route("/<tenant>/dateien/<sha256>/<filename>")
def attachment(tenant: str, sha256: str, filename: str):
    """An attachment of a publicly visible released version of THIS tenant."""
    t = _tenant(tenant)
    now = request_now()
    if not SHA256_RE.match(sha256):
        abort(404)
    rows = db.session.execute(
        select(Attachment, Notice)
        .join(NoticeVersion, NoticeVersion.id == Attachment.version_id)
        .join(Notice, Notice.id == NoticeVersion.notice_id)
        .where(
            Notice.tenant_id == t.id,
            Attachment.sha256 == sha256,
            Attachment.filename == filename,
            NoticeVersion.status == "released",
        )
    ).all()
    visible = [(a, n) for a, n in rows if _visible(n, now)]
    if not visible:
        if any(_visible(n, now) is False for _a, n in rows):
            return _gone(t)
        abort(404, "Diese Datei gibt es nicht.")
    # Prefer a notice without personal data: then the file may be cached.
    visible.sort(key=lambda an: an[1].contains_personal_data)
    att, n = visible[0]
    return _send_blob(blob_store(), sha256, att.media_type, att.filename, n, uploaded=True)


__all__ = ["bp", "notice_context", "public_evidence", "public_feedback"]
