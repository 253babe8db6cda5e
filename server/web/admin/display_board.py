"""Staff page for how the screens of a Kommune look (issue 16): the crest (Wappen) that
every display shows beside the Kommune's name, the date and the time."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, send_file, url_for

from ...domain.errors import NotFound, ValidationFailed
from ...extensions import db
from ...security import tenant_staff_required
from ...services.displays import board
from . import bp
from .common import actor, request_now
from .displays import store


def _page(errors: dict[str, str] | None = None, message: str | None = None, status: int = 200):
    return render_template(
        "admin/displays/board.html",
        tenant=g.tenant,
        crest=board.crest_of(db.session, g.tenant.id),
        max_mb=board.CREST_MAX_BYTES // (1024 * 1024),
        errors=errors or {},
        message=message,
    ), status


@bp.route("/<tenant>/anzeigen/darstellung", methods=["GET", "POST"])
@tenant_staff_required("admin")
def display_board():
    if request.method == "GET":
        return _page()
    upload = request.files.get("crest")
    try:
        board.set_crest(
            db.session,
            store(),
            g.tenant,
            actor(),
            upload.stream if upload else None,  # type: ignore[arg-type]
            upload.filename if upload and upload.filename else "",
            request_now(),
        )
    except ValidationFailed as exc:
        db.session.rollback()
        return _page(exc.field_errors, exc.message, 422)
    db.session.commit()
    flash("Das Wappen wurde gespeichert; die Anzeigen zeigen es in wenigen Sekunden.", "success")
    return redirect(url_for("admin.display_board", tenant=g.tenant.slug))


@bp.route("/<tenant>/anzeigen/darstellung/wappen-entfernen", methods=["POST"])
@tenant_staff_required("admin")
def display_board_crest_remove():
    if board.remove_crest(db.session, g.tenant, actor(), request_now()):
        db.session.commit()
        flash("Das Wappen wurde entfernt.", "success")
    return redirect(url_for("admin.display_board", tenant=g.tenant.slug))


@bp.route("/<tenant>/anzeigen/darstellung/wappen")
@tenant_staff_required("admin")
def display_board_crest():
    crest = board.crest_of(db.session, g.tenant.id)
    path = store().path_for(crest.sha256) if crest else None
    if crest is None or path is None or not path.is_file():
        raise NotFound("Es ist kein Wappen hinterlegt.")
    return send_file(path, mimetype=crest.media_type, etag=crest.sha256, max_age=3600)
