"""Staff pages for what displays show besides the notices (issue 16): mixed-in content
added, edited (order, texts, dates, picture) and removed, and groups assigned to many
displays at once."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app, flash, g, redirect, render_template, request, url_for

from ...domain.errors import Conflict, NotFound, ValidationFailed
from ...domain.playlist import format_weekdays, parse_schedule
from ...domain.posting import local_midnight
from ...extensions import db
from ...models import CONTENT_KIND_LABELS, ContentItem, Display, DisplayGroup
from ...security import tenant_staff_required
from ...services.displays import config as svc
from ...services.displays import groups as group_svc
from ...services.displays import media as media_svc
from ...services.displays import slides
from ...services.displays import video as video_svc
from ...services.files import StoredBlob, store_upload
from .blueprint import bp
from .common import actor, form_text, parse_date, parse_int, request_now
from .displays import _render_detail, store

HOURS_ROWS = 2


def _hours(errors: dict[str, str]) -> list[dict[str, object]]:
    # The screen-hours rows of the display form, as "hours_days_<n>" etc. of this one.
    rows = [
        tuple(request.form.get(f"hours_{k}_{n}", "") for k in ("days", "on", "off"))
        for n in range(HOURS_ROWS)
    ]
    try:
        return parse_schedule(rows)  # type: ignore[arg-type]
    except ValidationFailed as exc:
        errors.update({k.replace("screen_", "hours_"): v for k, v in exc.field_errors.items()})
        return []


def _hours_form(item: ContentItem | None) -> list[tuple[str, str, str]]:
    rows = [
        (format_weekdays(r["weekdays"]), r["on"], r["off"])
        for r in (json.loads(item.hours or "[]") if item else [])
    ]
    return rows + [("", "", "")] * max(0, HOURS_ROWS - len(rows))


def _content_input(errors: dict[str, str]) -> svc.ContentInput:
    """The fields both forms share, parsed; problems go to ``errors`` by field."""
    tz = g.tenant.timezone
    start = parse_date(request.form.get("valid_from"), "valid_from", errors)
    end = parse_date(request.form.get("valid_until"), "valid_until", errors)
    return svc.ContentInput(
        kind=request.form.get("kind", ""),
        title=form_text("title"),
        body=form_text("body"),
        valid_from=local_midnight(start, tz) if start else None,
        valid_until=local_midnight(end, tz) if end else None,
        position=parse_int(request.form.get("position") or "100", "position", errors),
        duration_s=parse_int(request.form.get("duration_s") or "10", "duration_s", errors),
        hours=_hours(errors),
        extra_errors=errors,
    )


def _picture(data: svc.ContentInput, errors: dict[str, str]) -> None:
    """A picture upload, checked by content and kept in the media library, or one chosen
    from the library; neither leaves ``data.image`` empty."""
    upload = request.files.get("image")
    if data.kind == "video" and upload is not None and upload.filename and not errors:
        data.image = video_svc.store_video(
            store(),
            upload.stream,
            upload.filename,
            max_bytes=current_app.config["AUSHANG_UPLOAD_MAX_BYTES"],
        )
        return
    if data.kind != "image" or errors:
        return
    if upload is None or not upload.filename:
        media_id = parse_int(request.form.get("media_id"), "image", errors)
        if media_id is not None:
            try:
                data.image = media_svc.as_blob(media_svc.get(db.session, g.tenant, media_id))
            except NotFound as exc:
                raise ValidationFailed(
                    exc.message, {"image": "Bitte ein Bild der Mediathek wählen."}
                ) from None
        return
    image = _checked_upload(upload)
    data.image = image
    media_svc.register(db.session, g.tenant, actor(), image, upload.filename, request_now())


def _checked_upload(upload: Any) -> StoredBlob:
    try:
        image = store_upload(
            store(),
            upload.stream,
            upload.filename,
            max_bytes=current_app.config["AUSHANG_UPLOAD_MAX_BYTES"],
        )
    except ValidationFailed as exc:  # its message is by the picture's field here
        reason = next(iter(exc.field_errors.values()), exc.message)
        raise ValidationFailed(exc.message, {"image": reason}) from None
    if image.media_type == "application/pdf":
        raise ValidationFailed("Bitte ein Bild.", {"image": "PNG oder JPEG."})
    too_large = slides.image_too_large(store().path_for(image.sha256))
    if too_large is not None:
        raise ValidationFailed("Das Bild ist für eine Anzeige zu groß.", {"image": too_large})
    return image


@bp.route("/<tenant>/anzeigen/mediathek", methods=["GET", "POST"])
@tenant_staff_required("admin")
def display_media():
    """The Kommune's pictures for mixed-in content, each uploaded once (issue 16)."""
    errors: dict[str, str] = {}
    message, status = None, 200
    if request.method == "POST":
        upload = request.files.get("image")
        try:
            if upload is None or not upload.filename:
                raise ValidationFailed("Bitte eine Bilddatei wählen.", {"image": "Keine Datei."})
            image = _checked_upload(upload)
            media_svc.register(db.session, g.tenant, actor(), image, upload.filename, request_now())
            db.session.commit()
        except ValidationFailed as exc:
            db.session.rollback()
            errors, message, status = exc.field_errors, exc.message, 422
        else:
            flash("Das Bild ist in der Mediathek.", "success")
            return redirect(url_for("admin.display_media", tenant=g.tenant.slug))
    return render_template(
        "admin/displays/media.html",
        tenant=g.tenant,
        files=media_svc.library(db.session, g.tenant),
        errors=errors,
        message=message,
    ), status


@bp.route("/<tenant>/anzeigen/mediathek/<int:media_id>/entfernen", methods=["POST"])
@tenant_staff_required("admin")
def display_media_remove(media_id: int):
    try:
        media_svc.remove(db.session, g.tenant, actor(), media_id, request_now())
        db.session.commit()
    except (Conflict, NotFound) as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("admin.display_media", tenant=g.tenant.slug)), 303
    flash("Das Bild wurde aus der Mediathek entfernt.", "success")
    return redirect(url_for("admin.display_media", tenant=g.tenant.slug))


@bp.route("/<tenant>/anzeigen/<int:display_id>/inhalte", methods=["POST"])
@tenant_staff_required("admin")
def display_content_add(display_id: int):
    display = svc.get_display(db.session, g.tenant, display_id)
    errors: dict[str, str] = {}
    data = _content_input(errors)
    target = request.form.get("target", "display")
    group_id = parse_int(request.form.get("group_id"), "group_id", errors)
    data.display_id = display.id if target == "display" else None
    data.group_id = group_id if target == "group" else None
    if target == "group" and group_id not in {gr.id for gr in display.groups}:
        errors["group_id"] = "Bitte eine Gruppe dieser Anzeige wählen."
    try:
        _picture(data, errors)
        svc.add_content(db.session, g.tenant, actor(), data, request_now())
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


def _local_day(value: datetime | None) -> str:
    # The form's dates are local days (<input type=date>), as they were entered.
    return value.astimezone(ZoneInfo(g.tenant.timezone)).date().isoformat() if value else ""


def _edit_form(item: ContentItem) -> dict[str, Any]:
    return {
        "title": item.title,
        "body": item.body,
        "valid_from": _local_day(item.valid_from),
        "valid_until": _local_day(item.valid_until),
        "position": str(item.position),
        "duration_s": str(item.duration_s),
        **{
            f"hours_{k}_{n}": row[i]
            for n, row in enumerate(_hours_form(item))
            for i, k in enumerate(("days", "on", "off"))
        },
    }


@bp.route("/<tenant>/anzeigen/inhalte/<int:content_id>/bearbeiten", methods=["GET", "POST"])
@tenant_staff_required("admin")
def display_content_edit(content_id: int):
    item = svc.get_content(db.session, g.tenant, content_id)
    back = request.values.get("anzeige", "")
    errors: dict[str, str] = {}
    form, message, status = _edit_form(item), None, 200
    if request.method == "POST":
        errors = {}
        data = _content_input(errors)
        data.kind = item.kind
        try:
            _picture(data, errors)
            svc.update_content(db.session, g.tenant, actor(), item, data, request_now())
            db.session.commit()
        except ValidationFailed as exc:
            db.session.rollback()
            item = svc.get_content(db.session, g.tenant, content_id)
            form, errors, message, status = dict(request.form), exc.field_errors, exc.message, 422
        else:
            flash("Der Inhalt wurde geändert.", "success")
            if back.isdigit():
                return redirect(
                    url_for("admin.display_detail", tenant=g.tenant.slug, display_id=int(back))
                    + "#inhalte"
                )
            return redirect(url_for("admin.displays", tenant=g.tenant.slug))
    return render_template(
        "admin/displays/content_edit.html",
        tenant=g.tenant,
        item=item,
        back=back,
        form=form,
        errors=errors,
        message=message,
        CONTENT_KIND_LABELS=CONTENT_KIND_LABELS,
        hours_rows=HOURS_ROWS,
        media=media_svc.library(db.session, g.tenant),
    ), status


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


@bp.route("/<tenant>/anzeigen/gruppen/zuordnen", methods=["POST"])
@tenant_staff_required("admin")
def display_groups_assign():
    """Add the chosen displays to a group, or take them out of it, in one step."""
    group_id = parse_int(request.form.get("group_id"), "group_id", {})
    group = db.session.get(DisplayGroup, group_id) if group_id else None
    ids = [int(v) for v in request.form.getlist("display_id") if v.isdigit()]
    action = request.form.get("action", "")
    try:
        if group is None or group.tenant_id != g.tenant.id:
            raise ValidationFailed("Bitte eine Gruppe wählen.", {"group_id": "Gruppe fehlt."})
        if action not in ("add", "remove"):
            raise ValidationFailed("Bitte hinzufügen oder herausnehmen wählen.", {})
        displays = (
            db.session.query(Display)
            .filter(Display.tenant_id == g.tenant.id, Display.id.in_(ids))
            .all()
        )
        if not displays or len(displays) != len(set(ids)):
            raise ValidationFailed("Bitte mindestens eine Anzeige auswählen.", {})
        changed = group_svc.assign(
            db.session, g.tenant, actor(), group, displays, action == "add", request_now()
        )
        db.session.commit()
    except (ValidationFailed, NotFound) as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("admin.displays", tenant=g.tenant.slug)), 303
    verb = "hinzugefügt" if action == "add" else "herausgenommen"
    flash(f"{changed} Anzeige(n) der Gruppe „{group.name}“ {verb}.", "success")
    return redirect(url_for("admin.displays", tenant=g.tenant.slug))
