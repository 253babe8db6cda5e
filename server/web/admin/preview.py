"""Staff previews: a notice exactly as the public page will show it, and a draft
warning on the real kiosk page (issue 13)."""

from __future__ import annotations

from flask import (
    Response,
    abort,
    current_app,
    g,
    jsonify,
    render_template,
    request,
    send_file,
    url_for,
)
from sqlalchemy import select

from ...extensions import csrf, db
from ...models import Attachment, Notice, NoticeVersion
from ...security import tenant_staff_required
from ...services.displays.kiosk_view import (
    KIOSK_CSP,
    KIOSK_FILES,
    draft_warning,
    kiosk_file,
    manifest_state,
)
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


# --- a draft warning on the real kiosk page (issue 13) ------------------------------------
#
# The kiosk page (player/kiosk/) is mounted under the draft's URL; its page-relative
# requests (kiosk.css, local/state, local/ping …) land here. ``local/state`` answers
# with the draft in the player's state shape; reports back are accepted and dropped.

KIOSK_BASE = "/<tenant>/warnungen/vorschau/<draft>/kiosk/"


def _kiosk_bytes(name: str) -> Response:
    body = kiosk_file(name)
    if body is None:
        abort(404)
    response = Response(body, mimetype=KIOSK_FILES[name].split(";")[0])
    response.headers["Content-Type"] = KIOSK_FILES[name]
    response.headers["Content-Security-Policy"] = KIOSK_CSP
    return response


def _draft_state(draft: str) -> dict:
    from ...services import alerts as alert_svc
    from .alerts import draft_from_token

    tenant = g.tenant
    now = request_now()
    data, _raw = draft_from_token(tenant, draft)
    policy = alert_svc.policy_from_config(current_app.config)
    alert, shown = alert_svc.preview_manual(
        db.session, tenant=tenant, data=data, now=now, policy=policy
    )
    base = current_app.config["AUSHANG_BASE_URL"].rstrip("/")
    # As on a screen: a manual message's QR code leads to the Kommune's warnings page.
    warning = draft_warning(alert, shown, blob_store(), policy, f"{base}/{tenant.slug}/warnungen")
    manifest = {"screen": {"timezone": tenant.timezone}, "items": [], "warnings": [warning]}
    return manifest_state(manifest, now, blob_url=lambda sha: f"assets/{sha}")


@bp.route(KIOSK_BASE, defaults={"name": "index.html"})
@bp.route(KIOSK_BASE + "kiosk.css", defaults={"name": "kiosk.css"})
@bp.route(KIOSK_BASE + "kiosk.js", defaults={"name": "kiosk.js"})
@bp.route(KIOSK_BASE + "paginate.js", defaults={"name": "paginate.js"})
@bp.route(KIOSK_BASE + "precedence.js", defaults={"name": "precedence.js"})
@bp.route(KIOSK_BASE + "warnings.js", defaults={"name": "warnings.js"})
@bp.route(KIOSK_BASE + "board.js", defaults={"name": "board.js"})
@tenant_staff_required("alerter")
def alert_preview_kiosk(draft: str, name: str) -> Response:
    """The kiosk page's own files, for the preview's iframe."""
    from .alerts import draft_from_token

    draft_from_token(g.tenant, draft)
    return _kiosk_bytes(name)


@bp.route(KIOSK_BASE + "local/state")
@tenant_staff_required("alerter")
def alert_preview_state(draft: str) -> Response:
    """The draft as the kiosk page's state. The draft never changes under its token:
    a long-poll for a newer revision gets 204 at once, and the page asks again later
    (instead of holding a worker for the player's 25 s)."""
    state = _draft_state(draft)
    if request.args.get("since") == str(state["rev"]):
        return Response(status=204)
    response = jsonify(state)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route(KIOSK_BASE + "assets/<digest>")
@tenant_staff_required("alerter")
def alert_preview_asset(draft: str, digest: str) -> Response:
    """The draft's QR code image: only files the draft's own state names."""
    state = _draft_state(draft)
    named = {w["qr_image"] for w in state["warnings"] if w.get("qr_image")}
    path = blob_store().path_for(digest) if f"assets/{digest}" in named else None
    if path is None or not path.is_file():
        abort(404)
    return send_file(path, mimetype="image/svg+xml", max_age=3600)


@bp.route(KIOSK_BASE + "local/ping", methods=["POST"])
@bp.route(KIOSK_BASE + "local/played", methods=["POST"])
@bp.route(KIOSK_BASE + "local/alert-shown", methods=["POST"])
@csrf.exempt
@tenant_staff_required("alerter")
def alert_preview_report(draft: str) -> Response:
    """What a screen reports back (ping, played, shown): a preview is no screen, so it
    is accepted and has no effect (no acknowledgement, no proof of play)."""
    return Response(status=204)
