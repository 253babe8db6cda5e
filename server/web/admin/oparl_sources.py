"""OParl sources in the staff area (issue 17, build 8): add a council information
system, test the address, import now, see the last run; the scheduled job
(server.jobs.oparl) imports every active source incrementally."""

from __future__ import annotations

from flask import current_app, flash, g, redirect, render_template, request, url_for
from sqlalchemy import select

from ...domain.errors import NotFound
from ...domain.oparl import OParlError
from ...extensions import db
from ...models import OParlSource
from ...security import tenant_staff_required
from ...services import oparl_import
from ...services.tenant_config import require_admin
from ...sources.oparl import DEFAULT_USER_AGENT, OParlClient
from .blueprint import bp
from .common import actor, add_nav, form_text, parse_int, request_now

add_nav([("admin.oparl_sources", "Ratsinformationssystem", ("admin",))])


def _client() -> OParlClient:
    agent = current_app.config.get("AUSHANG_OPARL_USER_AGENT") or DEFAULT_USER_AGENT
    return OParlClient(timeout=15.0, user_agent=agent)


def _source(source_id: int) -> OParlSource:
    source = db.session.get(OParlSource, source_id)
    if source is None or source.tenant_id != g.tenant.id:
        raise NotFound("Diese Quelle gibt es nicht.")
    return source


def _page(
    errors: dict[str, str] | None = None, form: dict[str, str] | None = None, status: int = 200
):
    sources = db.session.scalars(
        select(OParlSource).where(OParlSource.tenant_id == g.tenant.id).order_by(OParlSource.id)
    ).all()
    return render_template(
        "admin/oparl_sources.html",
        tenant=g.tenant,
        sources=sources,
        errors=errors or {},
        form=form or {"url": "", "category": ""},
    ), status


@bp.route("/<tenant>/ratsinformation", methods=["GET", "POST"])
@tenant_staff_required("admin")
def oparl_sources():
    if request.method == "GET":
        return _page()
    user = actor()
    require_admin(user, g.tenant)
    form = {"url": form_text("url").strip(), "category": request.form.get("category", "")}
    errors: dict[str, str] = {}
    if not form["url"].startswith(("https://", "http://")) or len(form["url"]) > 1000:
        errors["url"] = (
            "Bitte die Adresse der Sitzungsliste oder der Körperschaft (https://…) angeben."
        )
    category_id = parse_int(form["category"], "category", errors)
    category = next((c for c in g.tenant.categories if c.id == category_id), None)
    if category is None:
        errors.setdefault(
            "category", "Bitte eine Kategorie für die Sitzungsbekanntmachungen wählen."
        )
    if not errors and db.session.scalar(
        select(OParlSource.id).where(
            OParlSource.tenant_id == g.tenant.id, OParlSource.url == form["url"]
        )
    ):
        errors["url"] = "Diese Quelle ist bereits eingetragen."
    if errors:
        return _page(errors, form, 422)
    assert category is not None
    db.session.add(
        OParlSource(
            tenant_id=g.tenant.id,
            url=form["url"],
            category_id=category.id,
            author_id=user.id,
            last_error="",
        )
    )
    db.session.commit()
    flash("Die Quelle wurde eingetragen. Testen Sie sie, oder importieren Sie gleich.", "success")
    return redirect(url_for("admin.oparl_sources", tenant=g.tenant.slug))


@bp.route("/<tenant>/ratsinformation/<int:source_id>/test", methods=["POST"])
@tenant_staff_required("admin")
def oparl_source_test(source_id: int):
    source = _source(source_id)
    try:
        meetings = list(_client().fetch_meetings(source.url, modified_since=None))
    except OParlError as exc:
        flash(f"Test fehlgeschlagen: {getattr(exc, 'message', exc)}", "error")
    else:
        flash(f"Die Quelle antwortet: {len(meetings)} Sitzungen gefunden.", "success")
    return redirect(url_for("admin.oparl_sources", tenant=g.tenant.slug))


@bp.route("/<tenant>/ratsinformation/<int:source_id>/import", methods=["POST"])
@tenant_staff_required("admin")
def oparl_source_import(source_id: int):
    source = _source(source_id)
    result = oparl_import.sync_source(db.session, source, request_now(), _client())
    db.session.commit()
    if result is None:
        flash(f"Import fehlgeschlagen, nichts wurde geändert: {source.last_error}", "error")
    else:
        flash(f"Import: {result.summary()}.", "success")
    return redirect(url_for("admin.oparl_sources", tenant=g.tenant.slug))


@bp.route("/<tenant>/ratsinformation/<int:source_id>/aktiv", methods=["POST"])
@tenant_staff_required("admin")
def oparl_source_active(source_id: int):
    source = _source(source_id)
    source.active = request.form.get("active") == "1"
    db.session.commit()
    flash(
        "Die Quelle wird regelmäßig abgefragt." if source.active else "Die Quelle ruht.", "success"
    )
    return redirect(url_for("admin.oparl_sources", tenant=g.tenant.slug))
