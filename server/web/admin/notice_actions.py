"""Lifecycle steps of a notice on the staff pages (submit, recall, send back, release,
correct, withdraw, hint, delete, extend). Release and withdrawal are irreversible: the
detail page links to a confirmation page that restates what will happen (and, for a
correction, compares the versions word by word); only its form posts the step.
"""

from __future__ import annotations

from typing import Any

from flask import flash, g, redirect, render_template, request, url_for

from ...domain import textdiff
from ...domain.errors import ValidationFailed
from ...domain.posting import local_date
from ...domain.workflow import Action
from ...extensions import db
from ...models import Notice
from ...security import tenant_staff_required
from ...services import extensions
from ...services import notices as svc
from .blueprint import bp
from .common import actor, form_text, parse_date, request_now
from .notices import ACTION_FIELDS, _detail_url, _render_detail


def _act(number: str, action: str, run: Any, success: str) -> Any:
    """Run one lifecycle step; a ValidationFailed shows the detail page with the
    messages at the fields of that step's form (422), nothing stored."""
    notice = svc.get_notice(db.session, g.tenant, number)
    now = request_now()
    try:
        run(notice, now)
        db.session.commit()
    except ValidationFailed as exc:
        db.session.rollback()
        mapping = ACTION_FIELDS.get(action, {})
        errors = {mapping.get(k, k): v for k, v in exc.field_errors.items()}
        notice = svc.get_notice(db.session, g.tenant, number)
        return _render_detail(
            notice, errors=errors, message=exc.message, form=request.form, status=422
        )
    flash(success, "success")
    return redirect(_detail_url(notice))


@bp.route("/<tenant>/bekanntmachungen/<number>/vorlegen", methods=["POST"])
@tenant_staff_required("editor")
def notice_submit(number: str):
    return _act(
        number,
        "submit",
        lambda n, now: svc.submit(db.session, n, actor(), now),
        "Die Fassung liegt jetzt zur Freigabe vor.",
    )


@bp.route("/<tenant>/bekanntmachungen/<number>/zurueckholen", methods=["POST"])
@tenant_staff_required("editor")
def notice_recall(number: str):
    return _act(
        number,
        "recall",
        lambda n, now: svc.recall(db.session, n, actor(), now),
        "Die Fassung wurde zurückgeholt und kann wieder bearbeitet werden.",
    )


@bp.route("/<tenant>/bekanntmachungen/<number>/zurueckgeben", methods=["POST"])
@tenant_staff_required("approver")
def notice_send_back(number: str):
    comment = form_text("comment")
    return _act(
        number,
        "send_back",
        lambda n, now: svc.send_back(db.session, n, actor(), comment, now),
        "Die Fassung wurde an die Redaktion zurückgegeben.",
    )


@bp.route("/<tenant>/bekanntmachungen/<number>/freigeben", methods=["POST"])
@tenant_staff_required("approver")
def notice_release(number: str):
    comment = form_text("comment")
    return _act(
        number,
        "release",
        lambda n, now: svc.release(db.session, n, actor(), comment, now),
        "Die Fassung wurde freigegeben.",
    )


@bp.route("/<tenant>/bekanntmachungen/<number>/berichtigen", methods=["POST"])
@tenant_staff_required("editor")
def notice_correction(number: str):
    note = form_text("note").strip()

    def run(notice: Notice, now: Any) -> None:
        if not note:
            raise ValidationFailed(
                "Bitte geben Sie an, was berichtigt wird.",
                {"note": "Bitte den Grund der Berichtigung angeben."},
            )
        svc.start_correction(db.session, notice, actor(), note, now)

    return _act(
        number,
        "correction",
        run,
        "Eine Berichtigung wurde als neue Fassung angelegt. Bearbeiten Sie sie und legen "
        "Sie sie zur Freigabe vor.",
    )


@bp.route("/<tenant>/bekanntmachungen/<number>/zuruecknehmen", methods=["POST"])
@tenant_staff_required("approver")
def notice_withdraw(number: str):
    kind = request.form.get("kind") or ""
    reason = form_text("reason")
    return _act(
        number,
        "withdraw",
        lambda n, now: svc.withdraw(db.session, n, actor(), kind, reason, now),
        "Die Bekanntmachung wurde zurückgezogen."
        if kind == "withdrawn"
        else "Der Aushang wurde vorzeitig beendet.",
    )


@bp.route("/<tenant>/bekanntmachungen/<number>/hinweis", methods=["POST"])
@tenant_staff_required("editor", "approver")
def notice_hint(number: str):
    errors: dict[str, str] = {}
    posted_on = parse_date(request.form.get("posted_on"), "posted_on", errors)
    note = form_text("note")

    def run(notice: Notice, now: Any) -> None:
        if posted_on is None and not errors:
            errors["posted_on"] = "Bitte das Datum des Aushangs angeben."
        if len(note) > 2000:
            errors["note"] = "Höchstens 2000 Zeichen."
        if errors:
            raise ValidationFailed("Bitte prüfen Sie die Angaben zum Hinweis.", errors)
        assert posted_on is not None
        if posted_on > local_date(now, g.tenant.timezone):
            raise ValidationFailed(
                "Der Hinweis kann nicht in der Zukunft ausgehängt worden sein.",
                {"posted_on": "Das Datum liegt in der Zukunft."},
            )
        svc.mark_hint_posted(db.session, notice, actor(), posted_on, note, now)

    return _act(number, "hint", run, "Der Aushang des Hinweises wurde vermerkt.")


@bp.route("/<tenant>/bekanntmachungen/<number>/loeschen", methods=["POST"])
@tenant_staff_required("editor")
def notice_delete(number: str):
    notice = svc.get_notice(db.session, g.tenant, number)
    now = request_now()
    svc.delete_draft(db.session, notice, actor(), now)
    db.session.commit()
    flash(f"Der Entwurf {number} wurde gelöscht.", "success")
    return redirect(url_for("admin.notices", tenant=g.tenant.slug))


# --- confirmation pages (issue 17, build 4) ---------------------------------------------


def version_comparison(notice: Notice) -> list[textdiff.FieldDiff]:
    """The released version against the one awaiting release, word by word."""
    old, new = notice.current_version, notice.working_version
    if old is None or new is None:
        return []
    fields = [
        ("Titel", old.title, new.title),
        ("Kurzfassung", old.summary, new.summary),
        ("Text", old.body_md, new.body_md),
        ("Aktenzeichen", old.file_number, new.file_number),
        ("Erlassende Stelle", old.issuing_office, new.issuing_office),
        ("Rechtsgrundlage", old.legal_basis, new.legal_basis),
        ("Unterzeichnet von", old.signatory_name, new.signatory_name),
        ("Funktion", old.signatory_function, new.signatory_function),
        (
            "Anlagen",
            "\n".join(f"{a.filename} ({a.sha256[:12]}…)" for a in old.attachments),
            "\n".join(f"{a.filename} ({a.sha256[:12]}…)" for a in new.attachments),
        ),
    ]
    return textdiff.compare(fields)


@bp.route("/<tenant>/bekanntmachungen/<number>/freigeben")
@tenant_staff_required("approver")
def notice_release_confirm(number: str):
    notice = svc.get_notice(db.session, g.tenant, number)
    refusal = svc.refusal(Action.RELEASE, notice, actor())
    if refusal is not None:  # the detail page, saying why (a page, not an error)
        return _render_detail(notice, message=refusal.message)
    return render_template(
        "admin/notices/confirm_release.html",
        tenant=g.tenant,
        notice=notice,
        version=notice.working_version,
        comparison=version_comparison(notice),
        comment=(request.args.get("comment") or "")[:2000],
        now=request_now(),
    )


@bp.route("/<tenant>/bekanntmachungen/<number>/zuruecknehmen")
@tenant_staff_required("approver")
def notice_withdraw_confirm(number: str):
    notice = svc.get_notice(db.session, g.tenant, number)
    refusal = svc.refusal(Action.WITHDRAW, notice, actor())
    if refusal is not None:
        return _render_detail(notice, message=refusal.message)
    kind = request.args.get("art", "")
    if kind not in ("withdrawn", "ended_early"):
        return _render_detail(
            notice,
            errors={"withdraw_kind": "Bitte wählen Sie, ob zurückgezogen oder beendet wird."},
            message="Bitte wählen Sie die Art der Rücknahme.",
            form=request.args,
        )
    return render_template(
        "admin/notices/confirm_withdraw.html",
        tenant=g.tenant,
        notice=notice,
        kind=kind,
        reason=(request.args.get("reason") or "")[:2000],
        now=request_now(),
    )


# --- extension (issue 17, build 3) ------------------------------------------------------


@bp.route("/<tenant>/bekanntmachungen/<number>/verlaengern", methods=["POST"])
@tenant_staff_required("approver")
def notice_extend(number: str):
    errors: dict[str, str] = {}
    new_end = parse_date(request.form.get("new_end"), "new_end", errors)
    reason = form_text("extension_reason")

    def run(notice: Notice, now: Any) -> None:
        if errors:
            raise ValidationFailed("Bitte prüfen Sie das neue Ende.", errors)
        extensions.extend(db.session, notice, actor(), new_end, reason, now)

    return _act(
        number,
        "extend",
        run,
        "Der Aushang wurde verlängert. Die Verlängerung steht auf der öffentlichen Seite "
        "und im Aushangvermerk.",
    )
