"""Staff pages for notices: list, the form for the working version, attachments and
every step of the lifecycle (submit, send back, release, correct, withdraw, hint).

Views parse the form, call one service with ``now`` taken once, then commit or roll
back; domain errors become 403/404/409 pages through the app's error handlers.
"""

from __future__ import annotations

from typing import Any

from flask import (
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from sqlalchemy import and_, false, or_, select
from sqlalchemy.orm import selectinload
from werkzeug.datastructures import MultiDict

from ...domain import workflow
from ...domain.errors import NotFound, ValidationFailed
from ...domain.posting import PHASE_LABELS, Phase, local_date
from ...domain.workflow import Action
from ...extensions import db
from ...models import AuditEntry, Notice, NoticeVersion
from ...security import tenant_staff_required
from ...services import extensions, search
from ...services import notices as svc
from ...services.files import BlobStore, StorageFull, StorageUnavailable, store_upload
from ...services.notice_input import TEXT_INPUTS
from ..setup import ERROR_TEXTS, problem, wants_json
from .blueprint import bp
from .common import actor, add_nav, form_text, parse_date, parse_int, request_now

add_nav([("admin.notices", "Bekanntmachungen", ("editor", "approver"))])

PAGE_SIZE = 50
STORAGE_TITLES = {507: "Speicher voll", 503: "Speicher nicht verfügbar"}
MAX_ID = 2**31 - 1  # INTEGER primary keys on SQLite and PostgreSQL alike
READERS = ("editor", "approver")
# The form's text fields are the service's text inputs: one list for both.
TEXT_FIELDS = TEXT_INPUTS
DATE_FIELDS = ("signed_on", "posting_start", "posting_end")
# Error keys of the action services → ids of the fields on the detail page.
ACTION_FIELDS = {
    "send_back": {"comment": "send_back_comment"},
    "release": {"comment": "release_comment"},
    "withdraw": {"kind": "withdraw_kind", "reason": "withdraw_reason"},
    "correction": {"note": "correction_note_new"},
    "hint": {"posted_on": "hint_posted_on", "note": "hint_note"},
    "upload": {"attachment": "attachment", "attachment_title": "attachment_title"},
    "extend": {"new_end": "new_end", "extension_reason": "extension_reason"},
}


def _detail_url(notice: Notice, anchor: str = "") -> str:
    url = url_for("admin.notice_detail", tenant=g.tenant.slug, number=notice.number)
    return f"{url}#{anchor}" if anchor else url


def public_url(notice: Notice) -> str:
    base = current_app.config["AUSHANG_BASE_URL"].rstrip("/")
    return f"{base}/{g.tenant.slug}/bekanntmachungen/{notice.number}"


# --- list --------------------------------------------------------------------------


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@bp.route("/<tenant>/bekanntmachungen/")
@tenant_staff_required(*READERS)
def notices():
    tenant = g.tenant
    now = request_now()
    phase = request.args.get("phase", "")
    if phase not in {p.value for p in Phase}:
        phase = ""
    category_raw = request.args.get("kategorie", "")
    q = (request.args.get("q") or "").strip()[:200]
    page = max(1, parse_int(request.args.get("seite"), "seite", {}) or 1)

    stmt = (
        select(Notice)
        .where(Notice.tenant_id == tenant.id)
        .options(selectinload(Notice.versions), selectinload(Notice.category))
        .order_by(Notice.created_at.desc(), Notice.id.desc())
    )
    category_id = parse_int(category_raw, "kategorie", {})
    if category_id is not None:
        # An id beyond the column's range names no category: an empty list, not an
        # overflow in the database driver (500).
        in_range = 0 < category_id <= MAX_ID
        stmt = stmt.where(Notice.category_id == category_id if in_range else false())
    if q:
        like = f"%{_escape_like(q)}%"
        in_versions = select(NoticeVersion.notice_id).where(
            or_(
                NoticeVersion.title.ilike(like, escape="\\"),
                NoticeVersion.file_number.ilike(like, escape="\\"),
            )
        )
        stmt = stmt.where(or_(Notice.number.ilike(like, escape="\\"), Notice.id.in_(in_versions)))
    rows = [
        (n, svc.notice_phase(n, now))
        for n in db.session.scalars(stmt)
        if not phase or svc.notice_phase(n, now).value == phase
    ]
    pages = max(1, (len(rows) + PAGE_SIZE - 1) // PAGE_SIZE)
    page = min(page, pages)
    return render_template(
        "admin/notices/list.html",
        tenant=tenant,
        rows=rows[(page - 1) * PAGE_SIZE : page * PAGE_SIZE],
        total=len(rows),
        page=page,
        pages=pages,
        filters={"phase": phase, "kategorie": category_raw, "q": q},
        phases=[(p.value, label) for p, label in PHASE_LABELS.items()],
        category_options=[(c.id, c.name) for c in tenant.categories],
        can_create=svc.has_role(actor(), tenant.id, "editor"),
    )


# --- the form for the working version ----------------------------------------------


def _blank_form() -> dict[str, Any]:
    form: dict[str, Any] = {name: "" for name in TEXT_FIELDS + DATE_FIELDS}
    form["issuing_office"] = g.tenant.name
    form["category"] = ""
    form["contains_personal_data"] = False
    return form


def _form_from_input(data: svc.NoticeInput) -> dict[str, Any]:
    form: dict[str, Any] = {name: getattr(data, name) or "" for name in TEXT_FIELDS}
    for name in DATE_FIELDS:
        value = getattr(data, name)
        form[name] = value.isoformat() if value else ""
    form["category"] = str(data.category_id or "")
    form["contains_personal_data"] = data.contains_personal_data
    return form


def _parse_notice_form() -> tuple[svc.NoticeInput, dict[str, Any]]:
    """The entered values as service input, plus the raw values to show them again."""
    errors: dict[str, str] = {}
    form: dict[str, Any] = {name: form_text(name) for name in TEXT_FIELDS}
    for name in DATE_FIELDS:
        form[name] = (request.form.get(name) or "").strip()
    form["category"] = (request.form.get("category") or "").strip()
    form["contains_personal_data"] = request.form.get("contains_personal_data") == "1"
    data = svc.NoticeInput(
        title=form["title"],
        category_id=parse_int(
            form["category"], "category", errors, "Bitte eine Kategorie dieser Kommune wählen."
        ),
        summary=form["summary"],
        body_md=form["body_md"],
        issuing_office=form["issuing_office"],
        file_number=form["file_number"],
        legal_basis=form["legal_basis"],
        signed_on=parse_date(form["signed_on"], "signed_on", errors),
        signatory_name=form["signatory_name"],
        signatory_function=form["signatory_function"],
        posting_start=parse_date(form["posting_start"], "posting_start", errors),
        posting_end=parse_date(form["posting_end"], "posting_end", errors),
        contains_personal_data=form["contains_personal_data"],
        correction_note=form["correction_note"],
        extra_errors=errors,
    )
    return data, form


def _render_form(
    notice: Notice | None,
    form: dict[str, Any],
    errors: dict[str, str],
    message: str | None = None,
    status: int = 200,
) -> tuple[str, int]:
    version = notice.working_version if notice is not None else None
    return render_template(
        "admin/notices/form.html",
        tenant=g.tenant,
        notice=notice,
        version=version,
        is_correction=bool(notice is not None and notice.released_versions),
        form=form,
        errors=errors,
        message=message,
        category_options=[
            (c.id, f"{c.name} (mind. {c.min_days} Tage)") for c in g.tenant.categories
        ],
        labels=svc.FIELD_LABELS,
    ), status


@bp.route("/<tenant>/bekanntmachungen/neu", methods=["GET", "POST"])
@tenant_staff_required("editor")
def notice_new():
    if request.method == "GET":
        return _render_form(None, _blank_form(), {})
    data, form = _parse_notice_form()
    now = request_now()
    try:
        notice = svc.create_notice(db.session, g.tenant, actor(), data, now)
        number = notice.number
        db.session.commit()
    except ValidationFailed as exc:
        db.session.rollback()
        return _render_form(None, form, exc.field_errors, exc.message, 422)
    flash(f"Die Bekanntmachung {number} wurde als Entwurf angelegt.", "success")
    return redirect(url_for("admin.notice_detail", tenant=g.tenant.slug, number=number))


@bp.route("/<tenant>/bekanntmachungen/<number>/bearbeiten", methods=["GET", "POST"])
@tenant_staff_required("editor")
def notice_edit(number: str):
    notice = svc.get_notice(db.session, g.tenant, number)
    if request.method == "GET":
        # Refuse early with the same 403/409 the service would give on saving.
        svc.attachable_version(notice, actor())
        version = notice.working_version
        assert version is not None
        return _render_form(notice, _form_from_input(svc.input_from_version(notice, version)), {})
    data, form = _parse_notice_form()
    if notice.released_versions:
        # A correction changes the text only; its form has no window or category, so
        # anything posted for them is ignored rather than validated.
        data.category_id = data.posting_start = data.posting_end = None
        for name in ("category", "posting_start", "posting_end"):
            data.extra_errors.pop(name, None)
    now = request_now()
    try:
        svc.update_draft(db.session, notice, actor(), data, now)
        db.session.commit()
    except ValidationFailed as exc:
        db.session.rollback()
        notice = svc.get_notice(db.session, g.tenant, number)
        return _render_form(notice, form, exc.field_errors, exc.message, 422)
    flash("Die Änderungen wurden gespeichert.", "success")
    return redirect(_detail_url(notice))


# --- detail ------------------------------------------------------------------------


def _audit_rows(notice: Notice) -> list[AuditEntry]:
    version_ids = [str(v.id) for v in notice.versions]
    return list(
        db.session.scalars(
            select(AuditEntry)
            .where(
                AuditEntry.tenant_id == notice.tenant_id,
                or_(
                    and_(
                        AuditEntry.object_type == "notice", AuditEntry.object_id == str(notice.id)
                    ),
                    and_(
                        AuditEntry.object_type == "notice_version",
                        AuditEntry.object_id.in_(version_ids),
                    ),
                ),
            )
            .order_by(AuditEntry.seq)
        )
    )


def _permissions(notice: Notice) -> dict[str, bool]:
    """The steps to offer, by the same rules the services enforce."""
    user = actor()
    allowed = svc.allowed_actions(notice, user)
    can = {a.value: a in allowed for a in Action}
    # Shown instead of the release form: an approver who changed this version.
    can["own_version"] = isinstance(
        svc.refusal(Action.RELEASE, notice, user), workflow.FourEyesViolation
    )
    return can


def _render_detail(
    notice: Notice,
    *,
    errors: dict[str, str] | None = None,
    message: str | None = None,
    form: MultiDict[str, str] | dict[str, str] | None = None,
    status: int = 200,
) -> tuple[str, int]:
    tenant = g.tenant
    now = request_now()
    shown = notice.working_version or notice.current_version or notice.latest_version
    hint = None
    if notice.hint_required and notice.current_version is not None and notice.provided_on:
        hint = svc.hint_text(notice, public_url(notice))
    from .notice_actions import version_comparison

    return render_template(
        "admin/notices/detail.html",
        tenant=tenant,
        notice=notice,
        version=shown,
        comparison=version_comparison(notice),
        is_admin=svc.has_role(actor(), tenant.id, "admin"),
        pending_outages=extensions.pending(db.session, notice, now),
        required_end=extensions.required_end(db.session, notice, now)
        if notice.status == "released"
        else None,
        phase=svc.notice_phase(notice, now),
        can=_permissions(notice),
        audit_rows=_audit_rows(notice),
        hint=hint,
        hint_due_on=svc.hint_due_on(notice),
        hint_overdue=svc.hint_overdue(notice, now),
        public_url=public_url(notice),
        today=local_date(now, tenant.timezone),
        max_bytes=current_app.config["AUSHANG_UPLOAD_MAX_BYTES"],
        errors=errors or {},
        message=message,
        form=form or {},
    ), status


@bp.route("/<tenant>/bekanntmachungen/<number>")
@tenant_staff_required(*READERS)
def notice_detail(number: str):
    return _render_detail(svc.get_notice(db.session, g.tenant, number))


@bp.route("/<tenant>/bekanntmachungen/<number>/fassungen/<int:version_number>")
@tenant_staff_required(*READERS)
def notice_version(number: str, version_number: int):
    notice = svc.get_notice(db.session, g.tenant, number)
    version = next((v for v in notice.versions if v.number == version_number), None)
    if version is None:
        raise NotFound("Diese Fassung gibt es nicht.")
    return render_template(
        "admin/notices/version.html", tenant=g.tenant, notice=notice, version=version
    )


# --- attachments -------------------------------------------------------------------


def blob_store() -> BlobStore:
    return BlobStore(current_app.config["AUSHANG_DATA_DIR"])


@bp.route("/<tenant>/bekanntmachungen/<number>/anlagen", methods=["POST"])
@tenant_staff_required("editor")
def notice_attachment_upload(number: str):
    notice = svc.get_notice(db.session, g.tenant, number)
    user = actor()
    now = request_now()
    # Permission and state first, so a refused upload never leaves bytes behind.
    svc.attachable_version(notice, user)
    upload = request.files.get("attachment")
    title = svc.strip_control(form_text("attachment_title")).strip()
    try:
        if upload is None or not upload.filename:
            raise ValidationFailed(
                "Bitte eine Datei auswählen.", {"attachment": "Bitte eine Datei auswählen."}
            )
        if len(title) > 300:
            raise ValidationFailed(
                "Die Bezeichnung ist zu lang.", {"attachment_title": "Höchstens 300 Zeichen."}
            )
        store = blob_store()
        blob = store_upload(
            store,
            upload.stream,
            svc.safe_filename(upload.filename),
            max_bytes=current_app.config["AUSHANG_UPLOAD_MAX_BYTES"],
        )
        text = ""
        if blob.media_type == "application/pdf":
            text = search.pdf_text(store.path_for(blob.sha256))
        attachment = svc.add_attachment(
            db.session, notice, user, blob, upload.filename, title, now, text=text
        )
        filename = attachment.filename
        db.session.commit()
    except (ValidationFailed, StorageFull, StorageUnavailable) as exc:
        db.session.rollback()
        status = exc.status
        title_text = STORAGE_TITLES.get(status) or ERROR_TEXTS[status][0]
        if wants_json():
            response, _ = problem(status, title_text, exc.message, errors=exc.field_errors)
        else:
            notice = svc.get_notice(db.session, g.tenant, number)
            page, _ = _render_detail(
                notice, errors=exc.field_errors, message=exc.message, form=request.form
            )
            response = current_app.make_response((page, status))
        if status == 503:
            response.headers["Retry-After"] = "120"
        return response
    flash(f"Die Anlage „{filename}“ wurde hochgeladen.", "success")
    target = _detail_url(notice, "anlagen")
    if wants_json():
        return jsonify(redirect=target)
    return redirect(target)


@bp.route(
    "/<tenant>/bekanntmachungen/<number>/anlagen/<int:attachment_id>/entfernen", methods=["POST"]
)
@tenant_staff_required("editor")
def notice_attachment_remove(number: str, attachment_id: int):
    notice = svc.get_notice(db.session, g.tenant, number)
    svc.remove_attachment(db.session, notice, actor(), attachment_id, request_now())
    db.session.commit()
    flash("Die Anlage wurde entfernt.", "success")
    return redirect(_detail_url(notice, "anlagen"))


@bp.route("/<tenant>/bekanntmachungen/<number>/anlagen/<int:attachment_id>")
@tenant_staff_required(*READERS)
def notice_attachment(number: str, attachment_id: int):
    """Staff download of any version's attachment, also of drafts (not public)."""
    notice = svc.get_notice(db.session, g.tenant, number)
    attachment = next(
        (a for v in notice.versions for a in v.attachments if a.id == attachment_id), None
    )
    if attachment is None:
        raise NotFound("Diese Anlage gibt es nicht.")
    path = blob_store().path_for(attachment.sha256)
    if not path.is_file():
        raise NotFound("Die Datei dieser Anlage fehlt im Speicher.")
    return send_file(
        path,
        mimetype=attachment.media_type,
        as_attachment=True,
        download_name=attachment.filename,
        etag=attachment.sha256,
        max_age=0,
    )


@bp.errorhandler(413)
def upload_too_large(exc: Exception) -> Any:
    """The request was larger than MAX_CONTENT_LENGTH: say so in plain German."""
    mb = current_app.config["AUSHANG_UPLOAD_MAX_BYTES"] // (1024 * 1024)
    detail = (
        f"Die Datei ist zu groß. Erlaubt sind höchstens {mb} MB je Datei. "
        "Bitte gehen Sie zurück und wählen Sie eine kleinere Datei."
    )
    if wants_json():
        return problem(413, ERROR_TEXTS[413][0], detail, errors={"attachment": detail})
    return render_template(
        "errors/error.html", status=413, title=ERROR_TEXTS[413][0], detail=detail
    ), 413
