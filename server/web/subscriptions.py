"""Citizens subscribe: e-mail with double opt-in, one-click unsubscribe, Web Push.

No page here tells whether an address is subscribed: subscribing answers the same for
every valid address (the confirmation mail goes out in the sender job, which alone
looks at the subscriptions), unsubscribing answers the same whether there was
anything to delete. Rate limits per client and per address (HMAC keys, no addresses
stored) keep the form from being used to flood a stranger's mailbox.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    g,
    jsonify,
    render_template,
    request,
    send_from_directory,
)

from ..config import PROJECT_ROOT
from ..domain.errors import ValidationFailed
from ..domain.posting import to_local
from ..extensions import csrf, db
from ..mail import citizens, tokens
from ..models import Tenant
from ..security import load_tenant
from ..services import limits, webpush
from .auth import client_address, spend
from .clock import request_now

bp = Blueprint("subscriptions", __name__)

SUBSCRIBE_LIMITS = (
    limits.Limit("subscribe_address", 20, timedelta(hours=1)),
    limits.Limit("subscribe_email", 3, timedelta(hours=1)),
)
PUSH_LIMIT = limits.Limit("push_subscribe", 30, timedelta(hours=1))
CONFIRM_SENT = (
    "Fast geschafft: Wir haben eine E-Mail an {email} geschickt. Bitte bestätigen Sie "
    "das Abonnement über den Link darin (gültig 48 Stunden). Erst dann wird etwas "
    "gespeichert."
)


@bp.app_template_filter("de_isodate")
def de_isodate(value: str | None) -> str:
    if not value or value == "None":
        return "–"
    return date.fromisoformat(value).strftime("%d.%m.%Y")


@bp.app_template_filter("de_isotime")
def de_isotime(value: str | None, tz: str = "Europe/Berlin") -> str:
    if not value:
        return "–"
    return to_local(datetime.fromisoformat(value), tz).strftime("%d.%m.%Y, %H:%M Uhr")


def _tenant(slug: str) -> Tenant:
    tenant = load_tenant(slug)
    g.tenant = tenant
    return tenant


def _services() -> tuple[str, ...]:
    return tuple(current_app.config.get("AUSHANG_PUSH_SERVICES") or ()) or (
        webpush.DEFAULT_PUSH_SERVICES
    )


def _page(tenant: Tenant, status: int = 200, **ctx: Any) -> tuple[str, int]:
    key = webpush.vapid_key(db.session, request_now())
    db.session.commit()  # the key is made once, on the first visit
    ctx.setdefault("form", {"email": "", "categories": [], "notices": True, "warnings": True})
    ctx.setdefault("errors", {})
    return render_template(
        "public/subscribe.html",
        tenant=tenant,
        vapid_key=webpush.application_server_key(key),
        **ctx,
    ), status


@bp.route("/<tenant>/benachrichtigungen", methods=["GET", "POST"])
def subscribe(tenant: str):
    t = _tenant(tenant)
    if request.method == "GET":
        return _page(t)
    form: dict[str, Any] = {
        "email": (request.form.get("email") or "").strip(),
        "categories": request.form.getlist("categories"),
        "notices": request.form.get("notices") == "1",
        "warnings": request.form.get("warnings") == "1",
        "mode": request.form.get("mode") or "immediate",
    }
    try:
        choice = citizens.check_choice(
            t, form["email"], form["categories"], form["notices"], form["warnings"], form["mode"]
        )
    except ValidationFailed as exc:
        return _page(t, 422, form=form, errors=exc.field_errors, message=exc.message)
    now = request_now()
    client, address = ("subscribe", client_address()), ("subscribe", choice.email)
    if spend(SUBSCRIBE_LIMITS, client, address, now=now):
        message = "Zu viele Anmeldungen in kurzer Zeit. Bitte versuchen Sie es später erneut."
        return _page(t, 429, form=form, message=message)
    citizens.request_subscription(db.session, t, choice, now)
    db.session.commit()
    return _page(t, sent=CONFIRM_SENT.format(email=choice.email))


def _link_problem(tenant: Tenant, exc: Exception) -> tuple[str, int]:
    expired = isinstance(exc, tokens.TokenExpired)
    detail = (
        "Dieser Bestätigungslink ist abgelaufen (er gilt 48 Stunden). Bitte melden Sie "
        "sich erneut an."
        if expired
        else "Dieser Link ist ungültig. Bitte prüfen Sie, ob er vollständig übernommen wurde."
    )
    return render_template(
        "public/subscribe_done.html", tenant=tenant, title="Link nicht verwendbar", detail=detail
    ), (410 if expired else 404)


@bp.route("/<tenant>/benachrichtigungen/bestaetigen/<token>", methods=["GET", "POST"])
def confirm(tenant: str, token: str):
    """GET shows a button, POST confirms: a mail scanner that follows links does not
    subscribe anybody."""
    t = _tenant(tenant)
    try:
        data = tokens.read(tokens.SUBSCRIBE, token, request_now())
        if request.method == "POST":
            citizens.confirm(db.session, t, data, request_now())
    except (tokens.TokenExpired, tokens.TokenInvalid, ValidationFailed) as exc:
        db.session.rollback()
        return _link_problem(
            t, exc if not isinstance(exc, ValidationFailed) else tokens.TokenInvalid()
        )
    if request.method == "GET":
        return render_template("public/subscribe_confirm.html", tenant=t, email=data.get("e"))
    db.session.commit()
    return render_template(
        "public/subscribe_done.html",
        tenant=t,
        title="Abonnement bestätigt",
        detail=f"Sie erhalten ab jetzt Benachrichtigungen von {t.name} an {data.get('e')}. "
        "Abmelden können Sie sich mit einem Klick in jeder Nachricht.",
    )


@bp.route("/<tenant>/benachrichtigungen/abmelden/<token>", methods=["GET", "POST"])
@csrf.exempt  # RFC 8058: the mail client posts "List-Unsubscribe=One-Click", no form token
def unsubscribe(tenant: str, token: str):
    t = _tenant(tenant)
    try:
        data = tokens.read(tokens.UNSUBSCRIBE, token, request_now())
    except (tokens.TokenExpired, tokens.TokenInvalid) as exc:
        return _link_problem(t, exc)
    if request.method == "GET":
        return render_template("public/unsubscribe.html", tenant=t, email=data.get("e"))
    citizens.unsubscribe(db.session, t, data)
    db.session.commit()
    return render_template(
        "public/subscribe_done.html",
        tenant=t,
        title="Abgemeldet",
        detail=f"Die Adresse {data.get('e')} erhält keine Benachrichtigungen von {t.name} mehr. "
        "Gespeichert ist von ihr nichts mehr.",
    )


def _problem(
    status: int, detail: str, errors: dict[str, str] | None = None
) -> tuple[Response, int]:
    body = {"type": "about:blank", "status": status, "detail": detail, "errors": errors or {}}
    response = jsonify(body)
    response.mimetype = "application/problem+json"
    return response, status


@bp.post("/<tenant>/push/abonnement")
def push_subscribe(tenant: str):
    t = _tenant(tenant)
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        return _problem(400, "Bitte ein JSON-Objekt mit dem Push-Abonnement senden.")
    now = request_now()
    if spend((PUSH_LIMIT,), ("push", client_address()), now=now):
        return _problem(429, "Zu viele Anmeldungen in kurzer Zeit.")
    try:
        webpush.subscribe(
            db.session,
            t,
            data.get("subscription"),
            now,
            services=_services(),
            notices=bool(data.get("notices")),
        )
    except ValidationFailed as exc:
        db.session.rollback()
        return _problem(422, exc.message, exc.field_errors)
    db.session.commit()
    return jsonify({"status": "subscribed", "tenant": t.slug}), 201


@bp.post("/<tenant>/push/abmelden")
def push_unsubscribe(tenant: str):
    _tenant(tenant)
    data = request.get_json(silent=True)
    endpoint = data.get("endpoint") if isinstance(data, dict) else None
    if not isinstance(endpoint, str):
        return _problem(400, "Bitte die Adresse (endpoint) des Abonnements senden.")
    webpush.unsubscribe(db.session, endpoint)
    db.session.commit()
    return jsonify({"status": "unsubscribed"}), 200


@bp.get("/service-worker.js")
def service_worker():
    """At the root so it may control each tenant's pages (scope ``/<tenant>/``)."""
    response = send_from_directory(PROJECT_ROOT / "server" / "static", "service-worker.js")
    response.headers["Service-Worker-Allowed"] = "/"
    response.headers["Cache-Control"] = "no-cache"
    return response
