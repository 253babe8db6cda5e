"""Tenant configuration for tenant admins: settings, publication forms of the
Hauptsatzung, categories, and the read-only audit log of the tenant."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import flash, g, redirect, render_template, request, url_for
from sqlalchemy import func, or_, select

from ...domain.errors import ValidationFailed
from ...domain.posting import local_midnight
from ...extensions import db
from ...models import CHANNEL_KIND_LABELS, CHANNEL_KINDS, AuditEntry, Tenant
from ...security import tenant_staff_required
from ...services import onboarding
from ...services import tenant_config as cfg
from .audit_text import AREAS
from .blueprint import bp
from .common import actor, add_nav, form_text, parse_date, parse_int, request_now

# The users page (users.py) is listed here too, so the menu keeps its order.
add_nav(
    [
        ("admin.users", "Benutzer", ("admin",)),
        ("admin.categories", "Kategorien", ("admin",)),
        ("admin.channels", "Bekanntmachungsformen", ("admin",)),
        ("admin.tenant_settings", "Einstellungen", ("admin",)),
        ("admin.audit_log", "Protokoll", ("admin",)),
    ]
)

AUDIT_PAGE_SIZE = 50
SETTINGS_TEXT = (
    "name",
    "ars",
    "timezone",
    "website_url",
    "contact_email",
    "contact_phone",
    "address",
    "hauptsatzung_ref",
    "accessibility_statement",
)


def _timezones(current: str) -> list[tuple[str, str]]:
    """The sensible zones, Europe/Berlin first (issue 17); a zone set otherwise stays."""
    zones = list(onboarding.TIMEZONES)
    if current and current not in zones:
        zones.append(current)
    return [(z, z) for z in zones]


# --- settings ----------------------------------------------------------------------


@bp.route("/<tenant>/einstellungen", methods=["GET", "POST"])
@tenant_staff_required("admin")
def tenant_settings():
    tenant = g.tenant
    errors: dict[str, str] = {}
    message = None
    status = 200
    if request.method == "GET":
        data = cfg.settings_input(tenant)
        form: dict[str, Any] = {k: getattr(data, k) for k in SETTINGS_TEXT}
        form["hint_channel_id"] = data.hint_channel_id or ""
        form["hint_due_days"] = data.hint_due_days
        form["alerts_need_confirmation"] = data.alerts_need_confirmation
    else:
        form = {k: form_text(k) for k in SETTINGS_TEXT}
        form["hint_channel_id"] = (request.form.get("hint_channel_id") or "").strip()
        form["hint_due_days"] = (request.form.get("hint_due_days") or "").strip()
        form["alerts_need_confirmation"] = request.form.get("alerts_need_confirmation") == "1"
        parse_errors: dict[str, str] = {}
        data = cfg.TenantSettingsInput(
            **{k: form[k] for k in SETTINGS_TEXT},
            hint_channel_id=parse_int(
                form["hint_channel_id"], "hint_channel_id", parse_errors, "Bitte wählen."
            ),
            hint_due_days=parse_int(form["hint_due_days"], "hint_due_days", parse_errors),
            alerts_need_confirmation=form["alerts_need_confirmation"],
            extra_errors=parse_errors,
        )
        try:
            cfg.update_settings(db.session, tenant, actor(), data, request_now())
            db.session.commit()
        except ValidationFailed as exc:
            db.session.rollback()
            errors, message, status = exc.field_errors, exc.message, 422
        else:
            flash("Die Einstellungen wurden gespeichert.", "success")
            return redirect(url_for("admin.tenant_settings", tenant=tenant.slug))
    return render_template(
        "admin/tenant/settings.html",
        tenant=tenant,
        form=form,
        errors=errors,
        message=message,
        channel_options=[(c.id, f"{c.name} ({c.kind_label})") for c in tenant.channels],
        timezones=_timezones(form["timezone"]),
    ), status


# --- publication channels ------------------------------------------------------------


def _channel_form() -> dict[str, str]:
    return {
        "kind": (request.form.get("kind") or "").strip(),
        "name": form_text("name"),
        "location": form_text("location"),
    }


def _render_channels(
    form: dict[str, str], errors: dict[str, str], message: str | None, status: int
) -> tuple[str, int]:
    tenant = g.tenant
    return render_template(
        "admin/tenant/channels.html",
        tenant=tenant,
        channels=tenant.channels,
        in_use={c.id for c in tenant.channels if cfg.channel_in_use(db.session, tenant, c)},
        form=form,
        errors=errors,
        message=message,
        kind_options=[(k, CHANNEL_KIND_LABELS[k]) for k in CHANNEL_KINDS],
    ), status


@bp.route("/<tenant>/bekanntmachungsformen/", methods=["GET", "POST"])
@tenant_staff_required("admin")
def channels():
    if request.method == "GET":
        return _render_channels({"kind": "board", "name": "", "location": ""}, {}, None, 200)
    form = _channel_form()
    try:
        channel = cfg.save_channel(db.session, g.tenant, actor(), now=request_now(), **form)
        name = channel.name
        db.session.commit()
    except ValidationFailed as exc:
        db.session.rollback()
        return _render_channels(form, exc.field_errors, exc.message, 422)
    flash(f"Die Bekanntmachungsform „{name}“ wurde angelegt.", "success")
    return redirect(url_for("admin.channels", tenant=g.tenant.slug))


@bp.route("/<tenant>/bekanntmachungsformen/<int:channel_id>", methods=["GET", "POST"])
@tenant_staff_required("admin")
def channel_edit(channel_id: int):
    tenant = g.tenant
    channel = cfg.get_channel(db.session, tenant, channel_id)
    errors: dict[str, str] = {}
    message = None
    status = 200
    form = {"kind": channel.kind, "name": channel.name, "location": channel.location}
    if request.method == "POST":
        form = _channel_form()
        try:
            cfg.save_channel(
                db.session, tenant, actor(), now=request_now(), channel=channel, **form
            )
            db.session.commit()
        except ValidationFailed as exc:
            db.session.rollback()
            channel = cfg.get_channel(db.session, tenant, channel_id)
            errors, message, status = exc.field_errors, exc.message, 422
        else:
            flash("Die Bekanntmachungsform wurde gespeichert.", "success")
            return redirect(url_for("admin.channels", tenant=tenant.slug))
    return render_template(
        "admin/tenant/channel_edit.html",
        tenant=tenant,
        channel=channel,
        in_use=cfg.channel_in_use(db.session, tenant, channel),
        form=form,
        errors=errors,
        message=message,
        kind_options=[(k, CHANNEL_KIND_LABELS[k]) for k in CHANNEL_KINDS],
    ), status


@bp.route("/<tenant>/bekanntmachungsformen/<int:channel_id>/loeschen", methods=["POST"])
@tenant_staff_required("admin")
def channel_delete(channel_id: int):
    tenant = g.tenant
    channel = cfg.get_channel(db.session, tenant, channel_id)
    name = channel.name
    cfg.delete_channel(db.session, tenant, actor(), channel, request_now())
    db.session.commit()
    flash(f"Die Bekanntmachungsform „{name}“ wurde gelöscht.", "success")
    return redirect(url_for("admin.channels", tenant=tenant.slug))


# --- categories --------------------------------------------------------------------


def _category_form() -> tuple[cfg.CategoryInput, dict[str, Any]]:
    errors: dict[str, str] = {}
    form: dict[str, Any] = {
        "name": form_text("name"),
        "min_days": (request.form.get("min_days") or "").strip(),
        "description": form_text("description"),
        "binding_channels": request.form.getlist("binding_channels"),
    }
    ids: list[int] = []
    for raw in form["binding_channels"]:
        value = parse_int(raw, "binding_channels", errors, "Bitte gültige Formen wählen.")
        if value is not None:
            ids.append(value)
    data = cfg.CategoryInput(
        name=form["name"],
        min_days=parse_int(form["min_days"], "min_days", errors),
        description=form["description"],
        binding_channel_ids=ids,
        extra_errors=errors,
    )
    return data, form


def _category_page(
    template: str, form: dict[str, Any], errors: dict[str, str], message: str | None, **kw: Any
) -> dict[str, Any]:
    tenant = g.tenant
    return {
        "template_name_or_list": template,
        "tenant": tenant,
        "form": form,
        "errors": errors,
        "message": message,
        "channel_options": [(c.id, f"{c.name} ({c.kind_label})") for c in tenant.channels],
        **kw,
    }


@bp.route("/<tenant>/kategorien/", methods=["GET", "POST"])
@tenant_staff_required("admin")
def categories():
    tenant = g.tenant
    form: dict[str, Any] = {"name": "", "min_days": "7", "description": "", "binding_channels": []}
    errors: dict[str, str] = {}
    message = None
    status = 200
    if request.method == "POST":
        data, form = _category_form()
        try:
            category = cfg.save_category(db.session, tenant, actor(), data, request_now())
            name = category.name
            db.session.commit()
        except ValidationFailed as exc:
            db.session.rollback()
            errors, message, status = exc.field_errors, exc.message, 422
        else:
            flash(f"Die Kategorie „{name}“ wurde angelegt.", "success")
            return redirect(url_for("admin.categories", tenant=tenant.slug))
    page = _category_page(
        "admin/tenant/categories.html", form, errors, message, categories=tenant.categories
    )
    return render_template(**page), status


@bp.route("/<tenant>/kategorien/<int:category_id>", methods=["GET", "POST"])
@tenant_staff_required("admin")
def category_edit(category_id: int):
    tenant = g.tenant
    category = cfg.get_category(db.session, tenant, category_id)
    errors: dict[str, str] = {}
    message = None
    status = 200
    form: dict[str, Any] = {
        "name": category.name,
        "min_days": str(category.min_days),
        "description": category.description,
        "binding_channels": [str(c.id) for c in category.binding_channels],
    }
    if request.method == "POST":
        data, form = _category_form()
        try:
            cfg.save_category(db.session, tenant, actor(), data, request_now(), category=category)
            db.session.commit()
        except ValidationFailed as exc:
            db.session.rollback()
            category = cfg.get_category(db.session, tenant, category_id)
            errors, message, status = exc.field_errors, exc.message, 422
        else:
            flash("Die Kategorie wurde gespeichert.", "success")
            return redirect(url_for("admin.categories", tenant=tenant.slug))
    page = _category_page(
        "admin/tenant/category_edit.html", form, errors, message, category=category
    )
    return render_template(**page), status


# --- audit log ---------------------------------------------------------------------


def _audit_filters(tenant: Tenant) -> tuple[list[Any], dict[str, str], dict[str, str]]:
    """Conditions from the filters of the log page: area, person, text, dates."""
    errors: dict[str, str] = {}
    args = {
        k: (request.args.get(k) or "").strip()[:200]
        for k in ("bereich", "person", "text", "von", "bis")
    }
    conds: list[Any] = [AuditEntry.tenant_id == tenant.id]
    area = AREAS.get(args["bereich"])
    if area is not None:
        conds.append(or_(*(AuditEntry.action.startswith(p) for p in area[1])))
    if args["person"]:
        conds.append(AuditEntry.actor.ilike(f"%{_like(args['person'])}%", escape="\\"))
    if args["text"]:
        like = f"%{_like(args['text'])}%"
        conds.append(
            or_(AuditEntry.details.ilike(like, escape="\\"), AuditEntry.object_id == args["text"])
        )
    for key, op in (("von", "ge"), ("bis", "lt")):
        day = parse_date(args[key], key, errors)
        if day is not None:
            bound = local_midnight(day + timedelta(days=1 if key == "bis" else 0), tenant.timezone)
            conds.append(AuditEntry.at >= bound if op == "ge" else AuditEntry.at < bound)
    return conds, args, errors


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@bp.route("/<tenant>/protokoll")
@tenant_staff_required("admin")
def audit_log():
    tenant = g.tenant
    conds, args, errors = _audit_filters(tenant)
    total = db.session.scalar(select(func.count()).select_from(AuditEntry).where(*conds))
    pages = max(1, ((total or 0) + AUDIT_PAGE_SIZE - 1) // AUDIT_PAGE_SIZE)
    page = min(max(1, parse_int(request.args.get("seite"), "seite", {}) or 1), pages)
    rows = db.session.scalars(
        select(AuditEntry)
        .where(*conds)
        .order_by(AuditEntry.seq.desc())
        .limit(AUDIT_PAGE_SIZE)
        .offset((page - 1) * AUDIT_PAGE_SIZE)
    ).all()
    return render_template(
        "admin/tenant/audit.html",
        tenant=tenant,
        audit_rows=rows,
        total=total or 0,
        page=page,
        pages=pages,
        args=args,
        filter_args={k: v for k, v in args.items() if v},
        areas=[(k, v[0]) for k, v in AREAS.items()],
        errors=errors,
    )
