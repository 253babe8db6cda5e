"""Staff preview of a notice exactly as the public page will show it."""

from __future__ import annotations

from flask import abort, g, render_template, send_file, url_for
from sqlalchemy import select

from ...extensions import db
from ...models import Attachment, Notice, NoticeVersion
from ...security import tenant_staff_required
from ..clock import blob_store, request_now
from ..public import notice_context
from . import bp

# Drafts are notice business: the roles that may read notices, not every staff role
# (an alerter of civil protection has no notice rights).
READERS = ("editor", "approver")


def _notice(number: str) -> Notice:
    notice = db.session.scalar(
        select(Notice).where(Notice.tenant_id == g.tenant.id, Notice.number == number)
    )
    if notice is None:
        abort(404)
    return notice


def _preview_version(notice: Notice) -> NoticeVersion:
    version = notice.working_version or notice.current_version
    if version is None:
        abort(404)
    return version


@bp.route("/<tenant>/bekanntmachungen/<number>/vorschau")
@tenant_staff_required(*READERS)
def notice_preview(number: str):
    """The working version (draft, submitted or correction), else the current one,
    rendered with the public template and a "Vorschau" banner."""
    notice = _notice(number)
    version = _preview_version(notice)
    tenant = g.tenant

    def file_url(a: Attachment) -> str:
        return url_for(
            "admin.notice_preview_file",
            tenant=tenant.slug,
            number=notice.number,
            attachment_id=a.id,
        )

    ctx = notice_context(notice, version, request_now(), preview=True, file_url=file_url)
    return render_template("public/notice.html", **ctx)


@bp.route("/<tenant>/bekanntmachungen/<number>/vorschau/anlagen/<int:attachment_id>")
@tenant_staff_required(*READERS)
def notice_preview_file(number: str, attachment_id: int):
    """An attachment of any version of this tenant's notice, for staff only."""
    notice = _notice(number)
    attachment = next(
        (a for v in notice.versions for a in v.attachments if a.id == attachment_id), None
    )
    if attachment is None:
        abort(404)
    path = blob_store().path_for(attachment.sha256)
    if not path.is_file():
        abort(404)
    response = send_file(
        path,
        mimetype=attachment.media_type,
        download_name=attachment.filename,
        etag=attachment.sha256,
    )
    response.headers["Cache-Control"] = "no-store"
    return response
