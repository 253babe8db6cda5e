"""Wiring of the web layer: database pragmas, login, errors, headers, templates."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, g, jsonify, render_template, request
from flask_login import current_user
from sqlalchemy import event
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from ..domain.errors import DomainError
from ..domain.formatting import de_date, de_datetime, filesize
from ..domain.posting import PHASE_LABELS
from ..extensions import db, login_manager
from ..models import ROLE_LABELS, User
from . import sessions
from .clock import request_now

log = logging.getLogger("aushang.web")

ERROR_TEXTS = {
    400: ("Ungültige Anfrage", "Die Anfrage war unvollständig oder fehlerhaft."),
    403: ("Keine Berechtigung", "Für diese Seite oder Aktion fehlt Ihnen die Berechtigung."),
    404: ("Nicht gefunden", "Die angeforderte Seite gibt es nicht."),
    405: ("Nicht erlaubt", "Diese Aktion ist hier nicht möglich."),
    409: ("Konflikt", "Die Aktion passt nicht zum aktuellen Stand."),
    410: ("Nicht mehr verfügbar", "Dieser Inhalt ist nicht mehr öffentlich verfügbar."),
    413: ("Datei zu groß", "Die gesendeten Daten überschreiten die zulässige Größe."),
    422: ("Eingaben unvollständig", "Bitte prüfen Sie Ihre Eingaben."),
    429: ("Zu viele Versuche", "Bitte warten Sie einen Moment und versuchen Sie es erneut."),
    500: ("Interner Fehler", "Es ist ein Fehler aufgetreten. Bitte versuchen Sie es später."),
}

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'self'"
)


def wants_json() -> bool:
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return (
        best == "application/json"
        and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]
    )


def problem(status: int, title: str, detail: str, **extra: Any) -> tuple[Any, int]:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    body.update(extra)
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    return response, status


def error_page(status: int, detail: str | None = None) -> tuple[Any, int]:
    title, default = ERROR_TEXTS.get(status, ERROR_TEXTS[500])
    if wants_json():
        return problem(status, title, detail or default)
    return render_template(
        "errors/error.html", status=status, title=title, detail=detail or default
    ), status


def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()


def trust_proxies(app: Flask) -> None:
    """Take the client address (and scheme) from ``X-Forwarded-For``/``-Proto`` as set
    by the configured number of reverse proxies in front of the app.

    With ``AUSHANG_TRUSTED_PROXIES=0`` (the default) those headers are ignored and the
    address is the TCP peer: anybody can send the headers, so they are believed only
    from proxies the operator declared. With ``1`` (one nginx, ``deploy/server/``) the
    last address nginx appended is the client; addresses a client put in front of it
    are ignored. Rate limits and the audit log key on this address."""
    hops = int(app.config.get("AUSHANG_TRUSTED_PROXIES") or 0)
    if hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]


def init_app(app: Flask) -> None:
    # On this application's engines, not on every Engine of the process (a second app,
    # a test's own engine).
    with app.app_context():
        for engine in db.engines.values():
            event.listen(engine, "connect", _sqlite_pragmas)

    login_manager.login_view = "auth.login"
    login_manager.login_message = "Bitte melden Sie sich an."
    login_manager.login_message_category = "info"

    @login_manager.user_loader
    def load_user(user_id: str) -> User | None:
        return sessions.load_user(user_id, request_now())

    trust_proxies(app)

    @app.teardown_request
    def forget_request_state(exc: BaseException | None) -> None:
        # A request normally gets its own app context; when one is already pushed
        # (CLI, tests) ``g`` would carry the user and tenant into the next request.
        for key in ("_login_user", "tenant"):
            g.pop(key, None)

    @app.before_request
    def refuse_nul() -> Any:
        # No page, file or query has a NUL in it; PostgreSQL would refuse it in a lookup.
        if "\x00" in request.path:
            return error_page(404)
        if any("\x00" in k or "\x00" in v for k, v in request.args.items(multi=True)):
            return error_page(400)
        return None

    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError) -> Any:
        if wants_json():
            return problem(
                exc.status,
                ERROR_TEXTS.get(exc.status, ("Fehler",))[0],
                exc.message,
                errors=exc.field_errors,
            )
        return error_page(exc.status, exc.message)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        status = exc.code or 500
        detail = (
            exc.description
            if status in (400, 409, 410, 413, 422, 429)
            and isinstance(exc.description, str)
            and not exc.description.startswith(("The ", "A "))
            else None
        )
        return error_page(status, detail)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Any:
        log.exception("unhandled error path=%s", request.path)
        db.session.rollback()
        return error_page(500)

    @app.after_request
    def security_headers(response: Any) -> Any:
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        response.headers.setdefault(
            "Permissions-Policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()"
        )
        if request.path.startswith(("/admin", "/login", "/konto")):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.get("/healthz")
    def healthz() -> Any:
        # Liveness for load balancers and the benchmark's trivial-route baseline: no
        # database, no session, no template. Readiness of the database shows in the
        # staff dashboard, not here, so a slow database does not take hosts out of rotation.
        response = app.response_class(b"ok\n", mimetype="text/plain")
        response.headers["Cache-Control"] = "no-store"
        return response

    app.jinja_env.filters["de_date"] = de_date
    app.jinja_env.filters["de_datetime"] = de_datetime
    app.jinja_env.filters["filesize"] = filesize

    @app.context_processor
    def globals_() -> dict[str, Any]:
        return {
            "current_user": current_user,
            "ROLE_LABELS": ROLE_LABELS,
            "PHASE_LABELS": PHASE_LABELS,
            "current_tenant": g.get("tenant"),
        }

    # Navigation of the staff area: (endpoint, label, roles that see it). Areas add
    # their entries when they register their blueprint.
    app.extensions["aushang_admin_nav"] = [
        ("admin.dashboard", "Übersicht", ()),
        ("admin.alerts_index", "Warnungen", ("alerter",)),
    ]

    @app.template_global()
    def admin_nav(tenant: Any) -> list[tuple[str, str]]:
        user = current_user
        if not user.is_authenticated:
            return []
        held = {"admin"} if user.is_system_admin else user.roles_in(tenant.id)
        return [
            (endpoint, label)
            for endpoint, label, roles in app.extensions["aushang_admin_nav"]
            if not roles or "admin" in held or held & set(roles)
        ]

    app.extensions["aushang_admin_nav"].append(("admin.feedback_list", "Rückmeldungen", ("admin",)))
    # Providers of extra channels for the Aushangvermerk (see services/evidence.py).
    app.extensions.setdefault("aushang_evidence_channels", [])
    from ..services.displays import evidence as display_evidence

    display_evidence.register(app.extensions)  # per display: times, outages (L16, D2)

    from . import (
        admin,
        alerts_public,
        api_docs,  # noqa: F401  (adds the human page /api to openapi.bp)
        auth,
        feeds,
        openapi,
        player_api,
        public,
    )

    app.register_blueprint(auth.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(public.bp)
    app.register_blueprint(alerts_public.bp)
    app.register_blueprint(openapi.bp)
    from . import subscriptions

    app.register_blueprint(subscriptions.bp)
    feeds.init_app(app)
    player_api.init_app(app)
    # The Warntag report (W15) lists displays from their delivery records.
    from ..services import alert_delivery, warntag

    app.extensions[warntag.PROVIDER_KEY] = alert_delivery.warntag_rows
