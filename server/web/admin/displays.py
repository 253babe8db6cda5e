"""Staff pages for displays: list with status, create/edit (D3 check on saving),
mixed-in content, groups and revocation. Pairing, tokens, outages and the live preview
are in ``display_ops``."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from flask import current_app, flash, g, redirect, render_template, request, url_for

from ...domain.errors import ValidationFailed
from ...domain.playlist import format_weekdays, parse_schedule
from ...domain.posting import local_midnight
from ...extensions import db
from ...models import (
    CONTENT_KIND_LABELS,
    ORIENTATION_LABELS,
    ContentItem,
    Display,
    DisplayGroup,
    Outage,
)
from ...security import tenant_staff_required
from ...services.displays import config as svc
from ...services.displays import enrolment, reports, sent, slides
from ...services.files import BlobStore, store_upload
from . import bp
from .common import actor, add_nav, form_text, parse_date, parse_int, request_now

add_nav([("admin.displays", "Anzeigen", ("editor", "approver"))])

SCHEDULE_ROWS = 3


def store() -> BlobStore:
    return BlobStore(current_app.config["AUSHANG_DATA_DIR"])


def base_url() -> str:
    return str(current_app.config["AUSHANG_BASE_URL"])


SCREEN_LABELS = {"on": "an", "off": "aus", "unknown": "unbekannt"}
SCREEN_METHOD_LABELS = {
    "cec": "HDMI-CEC",
    "wlr": "wlr-randr",
    "none": "keine Bildschirmsteuerung",
}


def screen_text(screen: dict[str, Any] | None) -> str:
    """The screen state of a heartbeat in German: "an (soll: aus) über HDMI-CEC"."""
    if not screen:
        return "–"
    actual = SCREEN_LABELS.get(str(screen.get("actual")), "unbekannt")
    desired = SCREEN_LABELS.get(str(screen.get("desired")), "unbekannt")
    text = actual if actual == desired else f"{actual} (soll: {desired})"
    method = screen.get("method")
    return f"{text}, {SCREEN_METHOD_LABELS.get(str(method), str(method))}" if method else text


def state_text(display: Display, online: bool) -> str:
    """One German word for where a display stands (list, detail, dashboard)."""
    if display.retired_at is not None:
        return "Außer Betrieb"
    if not display.enrolled:
        return "Zugang widerrufen" if display.revoked_at else "Nicht gekoppelt"
    return "Online" if online else "Offline"


def status_of(display: Display, now: datetime) -> dict[str, Any]:
    screen = json.loads(display.screen_state) if display.screen_state else None
    error = json.loads(display.last_error) if display.last_error else None
    age = (now - display.last_seen).total_seconds() if display.last_seen else None
    online = reports.is_online(display, now)
    return {
        "state": state_text(display, online),
        "screen_text": screen_text(screen),
        "online": online,
        "age_s": age,
        "skew_alarm": reports.skew_alarm(display),
        "screen": screen,
        "error": error,
    }


@bp.route("/<tenant>/anzeigen/")
@tenant_staff_required("editor", "approver")
def displays():
    now = request_now()
    rows = [(d, status_of(d, now)) for d in svc.list_displays(db.session, g.tenant)]
    candidates = enrolment.swap_candidates(db.session, g.tenant, now)
    open_outages = (
        db.session.query(Outage)
        .join(Display)
        .filter(Display.tenant_id == g.tenant.id, Outage.decision.is_(None))
        .count()
    )
    return render_template(
        "admin/displays/list.html",
        tenant=g.tenant,
        rows=rows,
        candidates=candidates,
        open_outages=open_outages,
        is_admin=svc_is_admin(),
        groups=db.session.query(DisplayGroup).filter_by(tenant_id=g.tenant.id).all(),
        ORIENTATION_LABELS=ORIENTATION_LABELS,
    )


def svc_is_admin() -> bool:
    user = actor()
    return user.is_system_admin or "admin" in user.roles_in(g.tenant.id)


# --- the form ----------------------------------------------------------------------------


def _form_from(display: Display | None) -> dict[str, Any]:
    if display is None:
        return {
            "name": "",
            "location": "",
            "orientation": "landscape",
            "resolution_w": "1920",
            "resolution_h": "1080",
            "ars": "",
            "legal_board": False,
            "test_display": False,
            "all_categories": True,
            "categories": [],
            "groups": [],
            "notice_duration_s": "15",
            "max_pages": "3",
            "cycle_limit_s": "300",
            "schedule": [("", "", "")] * SCHEDULE_ROWS,
        }
    schedule = [
        (format_weekdays(r["weekdays"]), r["on"], r["off"])
        for r in json.loads(display.screen_schedule or "[]")
    ]
    schedule += [("", "", "")] * max(0, SCHEDULE_ROWS - len(schedule))
    return {
        "name": display.name,
        "location": display.location,
        "orientation": display.orientation,
        "resolution_w": str(display.resolution_w),
        "resolution_h": str(display.resolution_h),
        "ars": display.ars,
        "legal_board": display.legal_board,
        "test_display": display.test_display,
        "all_categories": display.all_categories,
        "categories": [c.id for c in display.categories],
        "groups": [gr.id for gr in display.groups],
        "notice_duration_s": str(display.notice_duration_s),
        "max_pages": str(display.max_pages),
        "cycle_limit_s": str(display.cycle_limit_s),
        "schedule": schedule,
    }


def _parse_form() -> tuple[svc.DisplayInput, dict[str, Any]]:
    errors: dict[str, str] = {}
    f = request.form
    rows = [
        (f.get(f"screen_days_{n}", ""), f.get(f"screen_on_{n}", ""), f.get(f"screen_off_{n}", ""))
        for n in range(SCHEDULE_ROWS)
    ]
    form: dict[str, Any] = {
        "name": form_text("name"),
        "location": form_text("location"),
        "orientation": f.get("orientation", ""),
        "resolution_w": f.get("resolution_w", ""),
        "resolution_h": f.get("resolution_h", ""),
        "ars": f.get("ars", "").strip(),
        "legal_board": f.get("legal_board") == "1",
        "test_display": f.get("test_display") == "1",
        "all_categories": f.get("selection", "all") == "all",
        "categories": [int(v) for v in f.getlist("categories") if v.isdigit()],
        "groups": [int(v) for v in f.getlist("groups") if v.isdigit()],
        "notice_duration_s": f.get("notice_duration_s", ""),
        "max_pages": f.get("max_pages", ""),
        "cycle_limit_s": f.get("cycle_limit_s", ""),
        "schedule": rows,
    }
    schedule: list[dict[str, object]] = []
    try:
        schedule = parse_schedule(rows)
    except ValidationFailed as exc:
        errors.update(exc.field_errors)
    data = svc.DisplayInput(
        name=form["name"],
        location=form["location"],
        orientation=form["orientation"],
        resolution_w=parse_int(form["resolution_w"], "resolution_w", errors),
        resolution_h=parse_int(form["resolution_h"], "resolution_h", errors),
        ars=form["ars"],
        legal_board=form["legal_board"],
        test_display=form["test_display"],
        all_categories=form["all_categories"],
        category_ids=form["categories"],
        group_ids=form["groups"],
        notice_duration_s=parse_int(form["notice_duration_s"], "notice_duration_s", errors),
        max_pages=parse_int(form["max_pages"] or "0", "max_pages", errors),
        cycle_limit_s=parse_int(form["cycle_limit_s"], "cycle_limit_s", errors),
        screen_schedule=schedule,
        extra_errors=errors,
    )
    return data, form


def _render_form(display, form, errors=None, message=None, status=200):
    groups = db.session.query(DisplayGroup).filter_by(tenant_id=g.tenant.id).all()
    return render_template(
        "admin/displays/form.html",
        tenant=g.tenant,
        display=display,
        form=form,
        errors=errors or {},
        message=message,
        orientation_options=list(ORIENTATION_LABELS.items()),
        category_options=[(c.id, c.name) for c in g.tenant.categories],
        group_options=[(gr.id, gr.name) for gr in groups],
        schedule_rows=SCHEDULE_ROWS,
    ), status


def _save(display: Display | None):
    data, form = _parse_form()
    now = request_now()
    try:
        saved = svc.save_display(
            db.session,
            g.tenant,
            actor(),
            data,
            now,
            store=store(),
            base_url=base_url(),
            display=display,
        )
        display_id = saved.id
        db.session.commit()
    except ValidationFailed as exc:
        db.session.rollback()
        if display is not None:
            display = svc.get_display(db.session, g.tenant, display.id)
        return _render_form(display, form, exc.field_errors, exc.message, 422)
    flash("Die Anzeige wurde gespeichert.", "success")
    return redirect(url_for("admin.display_detail", tenant=g.tenant.slug, display_id=display_id))


@bp.route("/<tenant>/anzeigen/neu", methods=["GET", "POST"])
@tenant_staff_required("admin")
def display_new():
    if request.method == "GET":
        return _render_form(None, _form_from(None))
    return _save(None)


@bp.route("/<tenant>/anzeigen/<int:display_id>/bearbeiten", methods=["GET", "POST"])
@tenant_staff_required("admin")
def display_edit(display_id: int):
    display = svc.get_display(db.session, g.tenant, display_id)
    if request.method == "GET":
        return _render_form(display, _form_from(display))
    return _save(display)


# --- detail ------------------------------------------------------------------------------


def _render_detail(display: Display, errors=None, message=None, form=None, status=200):
    now = request_now()
    cycle, count = svc.playlist_cycle(db.session, display, now, store(), base_url())
    contents = svc.applicable_contents(db.session, display)
    outages = (
        db.session.query(Outage)
        .filter_by(display_id=display.id)
        .order_by(Outage.started_at.desc())
        .limit(20)
        .all()
    )
    groups = db.session.query(DisplayGroup).filter_by(tenant_id=g.tenant.id).all()
    candidates = [
        c
        for c in enrolment.swap_candidates(db.session, g.tenant, now)
        if c.candidate_display_id == display.id
    ]
    return render_template(
        "admin/displays/detail.html",
        candidates=candidates,
        tenant=g.tenant,
        display=display,
        status=status_of(display, now),
        schedule=json.loads(display.screen_schedule or "[]"),
        cycle=cycle,
        entry_count=count,
        contents=contents,
        outages=outages,
        groups=groups,
        errors=errors or {},
        message=message,
        form=form or {},
        kind_options=list(CONTENT_KIND_LABELS.items()),
        CONTENT_KIND_LABELS=CONTENT_KIND_LABELS,
        ORIENTATION_LABELS=ORIENTATION_LABELS,
        format_weekdays=format_weekdays,
    ), status


@bp.route("/<tenant>/anzeigen/<int:display_id>")
@tenant_staff_required("admin")
def display_detail(display_id: int):
    return _render_detail(svc.get_display(db.session, g.tenant, display_id))


@bp.route("/<tenant>/anzeigen/<int:display_id>/widerrufen", methods=["POST"])
@tenant_staff_required("admin")
def display_revoke(display_id: int):
    display = svc.get_display(db.session, g.tenant, display_id)
    enrolment.revoke_display(db.session, display, actor(), request_now())
    db.session.commit()
    flash(
        "Der Zugang der Anzeige wurde widerrufen. Das Gerät zeigt nun einen neuen "
        "Kopplungscode. Meldet es sich mit einem Bereitstellungsschlüssel wieder an, "
        "entscheiden Sie hier, ob es wieder aufgenommen wird.",
        "success",
    )
    return redirect(url_for("admin.display_detail", tenant=g.tenant.slug, display_id=display_id))


@bp.route("/<tenant>/anzeigen/<int:display_id>/verdacht-erledigt", methods=["POST"])
@tenant_staff_required("admin")
def display_suspicion_clear(display_id: int):
    display = svc.get_display(db.session, g.tenant, display_id)
    if display.suspicious_at is not None:
        sent.clear_suspicious(db.session, display, actor(), request_now())
        db.session.commit()
        flash("Der Hinweis auf ein verdächtiges Gerät wurde als geprüft entfernt.", "success")
    return redirect(url_for("admin.display_detail", tenant=g.tenant.slug, display_id=display_id))


@bp.route("/<tenant>/anzeigen/<int:display_id>/inhalte", methods=["POST"])
@tenant_staff_required("admin")
def display_content_add(display_id: int):
    display = svc.get_display(db.session, g.tenant, display_id)
    now = request_now()
    errors: dict[str, str] = {}
    tz = g.tenant.timezone
    start = parse_date(request.form.get("valid_from"), "valid_from", errors)
    end = parse_date(request.form.get("valid_until"), "valid_until", errors)
    target = request.form.get("target", "display")
    group_id = parse_int(request.form.get("group_id"), "group_id", errors)
    data = svc.ContentInput(
        kind=request.form.get("kind", ""),
        title=form_text("title"),
        body=form_text("body"),
        valid_from=local_midnight(start, tz) if start else None,
        valid_until=local_midnight(end, tz) if end else None,
        position=parse_int(request.form.get("position") or "100", "position", errors),
        duration_s=parse_int(request.form.get("duration_s") or "10", "duration_s", errors),
        display_id=display.id if target == "display" else None,
        group_id=group_id if target == "group" else None,
        extra_errors=errors,
    )
    if target == "group" and group_id not in {gr.id for gr in display.groups}:
        errors["group_id"] = "Bitte eine Gruppe dieser Anzeige wählen."
    try:
        upload = request.files.get("image")
        if data.kind == "image" and upload is not None and upload.filename and not errors:
            data.image = store_upload(
                store(),
                upload.stream,
                upload.filename,
                max_bytes=current_app.config["AUSHANG_UPLOAD_MAX_BYTES"],
            )
            if data.image.media_type == "application/pdf":
                raise ValidationFailed("Bitte ein Bild.", {"image": "PNG oder JPEG."})
            too_large = slides.image_too_large(store().path_for(data.image.sha256))
            if too_large is not None:
                raise ValidationFailed(
                    "Das Bild ist für eine Anzeige zu groß.", {"image": too_large}
                )
        svc.add_content(db.session, g.tenant, actor(), data, now)
        db.session.commit()
    except ValidationFailed as exc:
        db.session.rollback()
        display = svc.get_display(db.session, g.tenant, display_id)
        mapped = {f"content_{k}": v for k, v in exc.field_errors.items()}
        return _render_detail(display, mapped, exc.message, request.form, 422)
    flash("Der Inhalt wurde hinzugefügt.", "success")
    return redirect(
        url_for("admin.display_detail", tenant=g.tenant.slug, display_id=display_id) + "#inhalte"
    )


@bp.route("/<tenant>/anzeigen/inhalte/<int:content_id>/entfernen", methods=["POST"])
@tenant_staff_required("admin")
def display_content_remove(content_id: int):
    item = db.session.get(ContentItem, content_id)
    back = request.form.get("display_id", "")
    svc.remove_content(db.session, g.tenant, actor(), content_id, request_now())
    db.session.commit()
    flash("Der Inhalt wurde entfernt.", "success")
    if back.isdigit() and item is not None:
        return redirect(url_for("admin.display_detail", tenant=g.tenant.slug, display_id=int(back)))
    return redirect(url_for("admin.displays", tenant=g.tenant.slug))


@bp.route("/<tenant>/anzeigen/gruppen", methods=["POST"])
@tenant_staff_required("admin")
def display_group_create():
    try:
        svc.create_group(db.session, g.tenant, actor(), form_text("group_name"), request_now())
        db.session.commit()
    except ValidationFailed as exc:
        db.session.rollback()
        flash(exc.message + " " + " ".join(exc.field_errors.values()), "error")
        return redirect(url_for("admin.displays", tenant=g.tenant.slug)), 303
    flash("Die Gruppe wurde angelegt.", "success")
    return redirect(url_for("admin.displays", tenant=g.tenant.slug))


@bp.route("/<tenant>/anzeigen/gruppen/<int:group_id>/loeschen", methods=["POST"])
@tenant_staff_required("admin")
def display_group_delete(group_id: int):
    svc.delete_group(db.session, g.tenant, actor(), group_id, request_now())
    db.session.commit()
    flash("Die Gruppe wurde gelöscht.", "success")
    return redirect(url_for("admin.displays", tenant=g.tenant.slug))
