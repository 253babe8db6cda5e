"""Staff pages around displays: pairing by code (D6), provisioning tokens, outages with
the staff decision (D2), and the live preview of a display from its current manifest."""

from __future__ import annotations

import json
from datetime import timedelta

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
from sqlalchemy import select

from ...domain.errors import Conflict, NotFound, ValidationFailed
from ...extensions import csrf, db
from ...models import OUTAGE_DECISION_LABELS, Display, DisplayGroup, Outage, ProvisioningToken
from ...runtime import caches
from ...security import tenant_staff_required
from ...services import alerts as alert_svc
from ...services import limits
from ...services.displays import config as svc
from ...services.displays import enrolment, reports
from ...services.displays.kiosk_view import KIOSK_CSP, KIOSK_FILES, kiosk_file, manifest_state
from ...services.displays.manifest import manifest_for
from ...services.displays.snapshot import snapshot_of
from ..auth import client_address, limit_key
from . import bp
from .common import actor, add_nav, form_text, parse_int, request_now
from .displays import base_url, store

add_nav([("admin.display_outages", "Ausfälle von Anzeigen", ("admin",))])

PAIRING_LIMIT = limits.Limit("pairing_code", 10, timedelta(minutes=15))

# Slides carry their own <style> and never scripts; the same policy as on the player.
SLIDE_CSP = (
    "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; script-src 'none'; base-uri 'none'; frame-ancestors 'self'"
)


@bp.route("/<tenant>/anzeigen/koppeln", methods=["GET", "POST"])
@tenant_staff_required("admin")
def display_pair():
    displays = svc.list_displays(db.session, g.tenant)
    errors: dict[str, str] = {}
    message = None
    form = {"code": "", "display_id": request.args.get("anzeige", "")}
    status = 200
    if request.method == "POST":
        form = {"code": form_text("code").strip(), "display_id": request.form.get("display_id", "")}
        now = request_now()
        # Wrong codes are limited per staff account and per client address, in the
        # database like the login limits: guessing a waiting screen's code is slow.
        keys = (limit_key("user", str(actor().id)), limit_key("address", client_address()))
        display_id = parse_int(form["display_id"], "display_id", errors)
        display = db.session.get(Display, display_id) if display_id else None
        if display is None or display.tenant_id != g.tenant.id:
            errors["display_id"] = "Bitte die Anzeige wählen, die dieses Gerät sein soll."
        try:
            if any(limits.exceeded(db.session, PAIRING_LIMIT, k, now) for k in keys):
                status = 429
                raise ValidationFailed(
                    "Zu viele ungültige Codes. Bitte warten Sie einige Minuten.",
                    {"code": "Zu viele Fehlversuche, bitte später erneut versuchen."},
                )
            if errors:
                raise ValidationFailed("Bitte prüfen Sie die Angaben.", errors)
            enrolment.pair(db.session, g.tenant, actor(), form["code"], display, now)
            db.session.commit()
        except ValidationFailed as exc:
            db.session.rollback()
            errors, message = exc.field_errors, exc.message
            if status != 429 and "code" in errors and form["code"]:
                for key in keys:
                    limits.record(db.session, PAIRING_LIMIT, key, now)
                db.session.commit()
            status = 429 if status == 429 else 422
        else:
            flash(
                f"Das Gerät wird mit „{display.name}“ gekoppelt; es holt sich seinen Zugang "
                "in wenigen Sekunden.",
                "success",
            )
            return redirect(
                url_for("admin.display_detail", tenant=g.tenant.slug, display_id=display.id)
            )
    return render_template(
        "admin/displays/pair.html",
        tenant=g.tenant,
        display_options=[(d.id, d.name) for d in displays],
        form=form,
        errors=errors,
        message=message,
    ), status


@bp.route("/<tenant>/anzeigen/geraetetausch/<int:pairing_id>", methods=["POST"])
@tenant_staff_required("admin")
def display_swap(pairing_id: int):
    """A device that enrolled with a new identity under a display's hostname: staff take
    it as that display's new device ("Gerät tauschen") or as a display of its own."""
    decision = request.form.get("decision", "")
    if decision not in ("tauschen", "neu"):
        flash("Bitte „Gerät tauschen“ oder „Als neue Anzeige aufnehmen“ wählen.", "error")
        return redirect(url_for("admin.displays", tenant=g.tenant.slug)), 303
    try:
        target = enrolment.decide_swap(
            db.session, g.tenant, actor(), pairing_id, request_now(), as_new=decision == "neu"
        )
    except (NotFound, Conflict) as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("admin.displays", tenant=g.tenant.slug)), 303
    db.session.commit()
    flash(
        f"Das Gerät wird als „{target.name}“ aufgenommen; es holt sich seinen Zugang in "
        "wenigen Sekunden. Nachweise und Einstellungen der Anzeige bleiben erhalten.",
        "success",
    )
    return redirect(url_for("admin.display_detail", tenant=g.tenant.slug, display_id=target.id))


@bp.route("/<tenant>/anzeigen/<int:display_id>/ausser-betrieb", methods=["POST"])
@tenant_staff_required("admin")
def display_retire(display_id: int):
    display = svc.get_display(db.session, g.tenant, display_id)
    if request.form.get("confirm") != "ja":
        flash("Bitte bestätigen Sie, dass die Anzeige außer Betrieb geht.", "error")
        return redirect(
            url_for("admin.display_detail", tenant=g.tenant.slug, display_id=display_id)
        )
    try:
        enrolment.retire_display(db.session, display, actor(), request_now())
    except Conflict as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        db.session.commit()
        flash(
            "Die Anzeige ist außer Betrieb. Ihre Nachweise bleiben erhalten; ein Gerät, das "
            "sich neu anmeldet, wird eine neue Anzeige.",
            "success",
        )
    return redirect(url_for("admin.display_detail", tenant=g.tenant.slug, display_id=display_id))


@bp.route("/<tenant>/anzeigen/schluessel", methods=["GET", "POST"])
@tenant_staff_required("admin")
def display_tokens():
    errors: dict[str, str] = {}
    message = None
    created = None
    if request.method == "POST":
        max_uses = parse_int(request.form.get("max_uses"), "max_uses", errors)
        group_id = parse_int(request.form.get("group_id"), "group_id", errors)
        try:
            if errors:
                raise ValidationFailed("Bitte prüfen Sie die Angaben.", errors)
            if group_id is not None:
                group = db.session.get(DisplayGroup, group_id)
                if group is None or group.tenant_id != g.tenant.id:
                    raise ValidationFailed("Unbekannte Gruppe.", {"group_id": "Bitte wählen."})
            _, created = enrolment.create_provisioning_token(
                db.session,
                g.tenant,
                actor(),
                form_text("name"),
                request_now(),
                group_id=group_id,
                max_uses=max_uses,
            )
            db.session.commit()
        except ValidationFailed as exc:
            db.session.rollback()
            errors, message = exc.field_errors, exc.message
    tokens = db.session.scalars(
        select(ProvisioningToken)
        .where(ProvisioningToken.tenant_id == g.tenant.id)
        .order_by(ProvisioningToken.created_at.desc())
    ).all()
    groups = db.session.scalars(select(DisplayGroup).where(DisplayGroup.tenant_id == g.tenant.id))
    return render_template(
        "admin/displays/tokens.html",
        tenant=g.tenant,
        tokens=tokens,
        created=created,  # shown once, never stored in plain
        group_options=[(gr.id, gr.name) for gr in groups],
        errors=errors,
        message=message,
        server_url=base_url(),
    ), (422 if errors else 200)


@bp.route("/<tenant>/anzeigen/schluessel/<int:token_id>/widerrufen", methods=["POST"])
@tenant_staff_required("admin")
def display_token_revoke(token_id: int):
    enrolment.revoke_provisioning_token(db.session, g.tenant, actor(), token_id, request_now())
    db.session.commit()
    flash("Der Bereitstellungsschlüssel wurde widerrufen.", "success")
    return redirect(url_for("admin.display_tokens", tenant=g.tenant.slug))


@bp.route("/<tenant>/anzeigen/ausfaelle")
@tenant_staff_required("admin")
def display_outages():
    rows = db.session.scalars(
        select(Outage)
        .join(Display)
        .where(Display.tenant_id == g.tenant.id)
        .order_by(Outage.decision.is_not(None), Outage.started_at.desc())
        .limit(200)
    ).all()
    return render_template(
        "admin/displays/outages.html",
        tenant=g.tenant,
        rows=rows,
        decision_options=list(OUTAGE_DECISION_LABELS.items()),
        OUTAGE_DECISION_LABELS=OUTAGE_DECISION_LABELS,
        errors={},
        message=None,
    )


@bp.route("/<tenant>/anzeigen/ausfaelle/<int:outage_id>", methods=["POST"])
@tenant_staff_required("admin")
def display_outage_decide(outage_id: int):
    outage = db.session.get(Outage, outage_id)
    if outage is None or outage.display.tenant_id != g.tenant.id:
        raise NotFound("Diesen Ausfall gibt es nicht.")
    try:
        reports.decide_outage(
            db.session,
            outage,
            actor(),
            request.form.get("decision", ""),
            form_text("note"),
            request_now(),
        )
        db.session.commit()
    except ValidationFailed as exc:
        db.session.rollback()
        flash(exc.message + " " + " ".join(exc.field_errors.values()), "error")
        return redirect(url_for("admin.display_outages", tenant=g.tenant.slug)), 303
    flash("Die Entscheidung zum Ausfall wurde gespeichert.", "success")
    return redirect(url_for("admin.display_outages", tenant=g.tenant.slug))


def _manifest(display: Display):
    return manifest_for(
        db.session,
        snapshot_of(db.session, display),
        request_now(),
        store=store(),
        base_url=base_url(),
        policy=alert_svc.policy_from_config(current_app.config),
        cache=caches(),
    )


@bp.route("/<tenant>/anzeigen/<int:display_id>/vorschau")
@tenant_staff_required("admin")
def display_preview(display_id: int):
    display = svc.get_display(db.session, g.tenant, display_id)
    now = request_now()
    manifest = json.loads(_manifest(display).body(now))
    orientation = display.orientation if display.orientation in FRAME_SIZES else "landscape"
    return render_template(
        "admin/displays/preview.html",
        tenant=g.tenant,
        display=display,
        manifest=manifest,
        now=now,
        frame={
            "orientation": orientation,
            "width": FRAME_SIZES[orientation][0],
            "height": FRAME_SIZES[orientation][1],
            "src": url_for(
                "admin.display_preview_kiosk",
                tenant=g.tenant.slug,
                display_id=display.id,
                name="index.html",
            ),
        },
    )


# The live preview runs the real kiosk page (player/kiosk/, served as bytes) on the
# display's current manifest: the same rotation, paging and warnings as the screen
# (issue 13). Its page-relative requests land under this mount.
KIOSK_MOUNT = "/<tenant>/anzeigen/<int:display_id>/vorschau/kiosk/"
FRAME_SIZES = {"landscape": (1920, 1080), "portrait": (1080, 1920)}


@bp.route(KIOSK_MOUNT, defaults={"name": "index.html"})
@bp.route(KIOSK_MOUNT + "kiosk.css", defaults={"name": "kiosk.css"})
@bp.route(KIOSK_MOUNT + "kiosk.js", defaults={"name": "kiosk.js"})
@bp.route(KIOSK_MOUNT + "paginate.js", defaults={"name": "paginate.js"})
@bp.route(KIOSK_MOUNT + "precedence.js", defaults={"name": "precedence.js"})
@bp.route(KIOSK_MOUNT + "warnings.js", defaults={"name": "warnings.js"})
@bp.route(KIOSK_MOUNT + "board.js", defaults={"name": "board.js"})
@tenant_staff_required("admin")
def display_preview_kiosk(display_id: int, name: str):
    svc.get_display(db.session, g.tenant, display_id)
    body = kiosk_file(name)
    if body is None:
        raise NotFound("Die Anzeigenseite ist auf diesem Server nicht installiert.")
    response = current_app.response_class(body, mimetype=KIOSK_FILES[name].split(";")[0])
    response.headers["Content-Type"] = KIOSK_FILES[name]
    response.headers["Content-Security-Policy"] = KIOSK_CSP
    return response


@bp.route(KIOSK_MOUNT + "local/state")
@tenant_staff_required("admin")
def display_preview_state(display_id: int):
    """The display's manifest as its kiosk page's state; 204 at once when a long-poll's
    revision is still current (the page asks again in 2 s)."""
    display = svc.get_display(db.session, g.tenant, display_id)
    now = request_now()
    manifest = json.loads(_manifest(display).body(now))
    files = store()

    def blob_url(sha: str) -> str:
        return url_for(
            "admin.display_file", tenant=g.tenant.slug, display_id=display.id, digest=sha
        )

    state = manifest_state(
        manifest, now, blob_url=blob_url, has_file=lambda sha: files.path_for(sha).is_file()
    )
    if request.args.get("since") == str(state["rev"]):
        return current_app.response_class(status=204)
    response = jsonify(state)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route(KIOSK_MOUNT + "local/ping", methods=["POST"])
@bp.route(KIOSK_MOUNT + "local/played", methods=["POST"])
@bp.route(KIOSK_MOUNT + "local/alert-shown", methods=["POST"])
@csrf.exempt
@tenant_staff_required("admin")
def display_preview_report(display_id: int):
    """A preview is no screen: what the page reports back has no effect (no proof of
    play, no acknowledgement)."""
    return current_app.response_class(status=204)


@bp.route("/<tenant>/anzeigen/<int:display_id>/dateien/<digest>")
@tenant_staff_required("admin")
def display_file(display_id: int, digest: str):
    display = svc.get_display(db.session, g.tenant, display_id)
    media = _manifest(display).allows(digest)
    path = store().path_for(digest) if media else None
    if media is None or path is None or not path.is_file():
        raise NotFound("Diese Datei gehört nicht zu dieser Anzeige.")
    response = send_file(path, mimetype=media, etag=digest, max_age=3600)
    response.headers["Content-Security-Policy"] = SLIDE_CSP
    return response
