"""Login, logout and password change.

Login limits (kept in the database, so they hold across worker processes and hosts,
keyed on the client address behind the trusted proxies, see ``setup.trust_proxies``):

* per account *and* client address: ``AUSHANG_LOGIN_MAX_ATTEMPTS`` failures within
  ``AUSHANG_LOGIN_LOCK_MINUTES`` stop further tries of that account from that address.
  Someone guessing from elsewhere cannot lock the real user out.
* per client address: ``AUSHANG_LOGIN_ADDRESS_MAX_ATTEMPTS`` failures within the same
  window, against password spraying across many accounts.

Only failures count. Every answer is the same for known and unknown addresses: the
same messages, and exactly one password-hash verification per checked attempt (a
dummy hash for unknown or deactivated accounts), so neither the text nor the time of
an answer tells whether an account exists.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required, login_user
from sqlalchemy import func, select

from ..extensions import db
from ..mail import staff as mail_staff
from ..mail import tokens
from ..models import User
from ..security import check_password, hash_password, password_problem
from ..services import audit, limits, people
from . import sessions
from .clock import request_now
from .forms import safe_next

bp = Blueprint("auth", __name__)

LOCKED_MESSAGE = "Zu viele fehlgeschlagene Anmeldeversuche. Bitte warten Sie einige Minuten."
WRONG_MESSAGE = "E-Mail-Adresse oder Passwort ist falsch."


def login_limits() -> tuple[limits.Limit, limits.Limit]:
    """(per account and address, per address), from the configuration."""
    cfg = current_app.config
    window = timedelta(minutes=cfg["AUSHANG_LOGIN_LOCK_MINUTES"])
    return (
        limits.Limit("login_account", cfg["AUSHANG_LOGIN_MAX_ATTEMPTS"], window),
        limits.Limit("login_address", cfg["AUSHANG_LOGIN_ADDRESS_MAX_ATTEMPTS"], window),
    )


def client_address() -> str:
    """The client's address (the TCP peer, or what the trusted proxies forwarded)."""
    return request.remote_addr or "?"


def limit_key(*parts: str) -> str:
    return limits.key_for(current_app.secret_key or "", *parts)


def spend(limits_: tuple[limits.Limit, ...], *key_parts: tuple[str, ...], now: datetime) -> bool:
    """Count one attempt against each limit (its key from the matching parts); True,
    and nothing counted, when one of them is already used up."""
    keys = [limit_key(*parts) for parts in key_parts]
    pairs = list(zip(limits_, keys, strict=True))
    if any(limits.exceeded(db.session, lim, key, now) for lim, key in pairs):
        return True
    for lim, key in pairs:
        limits.record(db.session, lim, key, now)
    return False


def _home_for(user: User) -> str:
    if user.memberships:
        return url_for("admin.dashboard", tenant=user.memberships[0].tenant.slug)
    if user.is_system_admin:
        return url_for("admin.system_tenants")
    return url_for("auth.account")


def _failed(user: User | None, keys: tuple[str, str], now: datetime) -> None:
    """Count a failed login for the account at this address and for the address."""
    account_limit, address_limit = login_limits()
    limits.record(db.session, account_limit, keys[0], now)
    limits.record(db.session, address_limit, keys[1], now)
    # Checked for unknown addresses too: the same statements either way.
    now_locked = limits.exceeded(db.session, account_limit, keys[0], now)
    if user is not None and now_locked:
        audit.record(
            db.session,
            now=now,
            action="user.locked",
            object_type="user",
            object_id=user.id,
            actor="system",
            details={"scope": "account_and_address"},
        )
    db.session.commit()


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated and request.method == "GET":
        return redirect(_home_for(current_user))
    error = None
    email = ""
    status = 200
    if request.method == "POST":
        now = request_now()
        email = (request.form.get("email") or "").strip().lower()
        password = request.form.get("password") or ""
        address = client_address()
        keys = (limit_key("account", email, address), limit_key("address", address))
        account_limit, address_limit = login_limits()
        if not email or not password:
            error = "Bitte E-Mail-Adresse und Passwort eingeben."
            status = 400
        elif limits.exceeded(db.session, address_limit, keys[1], now) or limits.exceeded(
            db.session, account_limit, keys[0], now
        ):
            # Decided before the account is looked up: the same answer, at the same
            # cost, whether the address belongs to an account or not.
            error = LOCKED_MESSAGE
            status = 429
        else:
            user = db.session.scalar(select(User).where(func.lower(User.email) == email))
            known = user is not None and user.active
            # Exactly one verification on every path (a dummy hash when unknown).
            password_ok = check_password(user.password_hash if known else None, password)
            if not known or not password_ok:
                error = WRONG_MESSAGE
                status = 401
                _failed(user, keys, now)
            else:
                limits.clear(db.session, account_limit, keys[0])
                audit.record(
                    db.session,
                    now=now,
                    action="user.login",
                    object_type="user",
                    object_id=user.id,
                    actor=user,
                )
                sessions.begin(user, now)
                db.session.commit()
                return redirect(safe_next(request.args.get("next"), _home_for(user)))
    return render_template("auth/login.html", error=error, email=email), status


@bp.route("/logout", methods=["POST"])
def logout():
    sessions.end()
    db.session.commit()
    flash("Sie wurden abgemeldet.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/konto", methods=["GET"])
@login_required
def account():
    return _account_page({})


def _account_page(errors: dict[str, str], status: int = 200) -> tuple[str, int]:
    user: User = current_user._get_current_object()
    off = mail_staff.opted_out(user)
    return render_template(
        "auth/account.html",
        errors=errors,
        mail_kinds=[(k, label, k not in off) for k, label in mail_staff.STAFF_KINDS.items()],
    ), status


@bp.route("/konto/benachrichtigungen", methods=["POST"])
@login_required
def mail_choices():
    user: User = current_user._get_current_object()
    wanted = set(request.form.getlist("kinds")) & set(mail_staff.STAFF_KINDS)
    mail_staff.set_choices(user, wanted)
    db.session.commit()
    flash("Ihre Auswahl der E-Mail-Benachrichtigungen wurde gespeichert.", "success")
    return redirect(url_for("auth.account"))


# Endpoints a user whose password was set by someone else may still use.
PASSWORD_CHANGE_ENDPOINTS = {"auth.account", "auth.change_password", "auth.logout", "static"}


@bp.before_app_request
def force_password_change() -> Any:
    """A password an admin chose is replaced by its owner before anything else."""
    if (
        request.endpoint in PASSWORD_CHANGE_ENDPOINTS
        or not current_user.is_authenticated
        or not getattr(current_user, "password_must_change", False)
    ):
        return None
    flash("Bitte legen Sie zuerst ein eigenes Passwort fest.", "info")
    return redirect(url_for("auth.account"))


@bp.route("/konto/passwort", methods=["POST"])
@login_required
def change_password():
    user: User = current_user._get_current_object()
    errors: dict[str, str] = {}
    current = request.form.get("current_password") or ""
    new = request.form.get("new_password") or ""
    repeat = request.form.get("new_password_repeat") or ""
    if not check_password(user.password_hash, current):
        errors["current_password"] = "Das bisherige Passwort stimmt nicht."
    problem_ = password_problem(new)
    if problem_:
        errors["new_password"] = problem_
    elif new != repeat:
        errors["new_password_repeat"] = "Die beiden Eingaben stimmen nicht überein."
    if errors:
        return _account_page(errors, 422)
    now = request_now()
    _set_own_password(user, new, now, "user.password_change")
    sessions.end_others(user, now)
    db.session.commit()
    login_user(user)  # this session (its row stays) under the new epoch
    flash("Ihr Passwort wurde geändert. Andere Sitzungen wurden abgemeldet.", "success")
    return redirect(url_for("auth.account"))


def _set_own_password(user: User, new: str, now: datetime, action: str) -> None:
    """The owner chose ``new``: other sessions end (the epoch), no forced change."""
    user.password_hash = hash_password(new)
    user.password_must_change = False
    user.session_epoch += 1
    audit.record(
        db.session, now=now, action=action, object_type="user", object_id=user.id, actor=user
    )


@bp.route("/", methods=["GET"])
def root():
    from ..models import Tenant

    tenants = db.session.scalars(select(Tenant).where(Tenant.active).order_by(Tenant.name)).all()
    if len(tenants) == 1:
        return redirect(f"/{tenants[0].slug}/")
    return render_template("tenants.html", tenants=tenants)


# --- Password reset and invitations by mail (issue 18) ------------------------------------

RESET_SENT = (
    "Wenn zu dieser Adresse ein aktives Konto besteht, ist eine E-Mail mit einem Link "
    "zum Festlegen eines neuen Passworts unterwegs. Bitte sehen Sie auch im Spam-Ordner nach."
)
RESET_LIMITS = (
    limits.Limit("reset_address", 10, timedelta(hours=1)),
    limits.Limit("reset_account", 3, timedelta(hours=1)),
)


def _token_problem(exc: Exception) -> tuple[str, int]:
    if isinstance(exc, tokens.TokenExpired):
        detail = "Dieser Link ist abgelaufen. Bitte fordern Sie einen neuen an."
        return render_template("auth/link_problem.html", detail=detail), 410
    detail = "Dieser Link ist ungültig. Bitte prüfen Sie, ob er vollständig übernommen wurde."
    return render_template("auth/link_problem.html", detail=detail), 404


@bp.route("/passwort-vergessen", methods=["GET", "POST"])
def forgot_password():
    if request.method == "GET":
        return render_template("auth/forgot.html", email="", error=None)
    now = request_now()
    email = (request.form.get("email") or "").strip().lower()
    if not people.EMAIL_RE.match(email):
        error = "Bitte eine gültige E-Mail-Adresse angeben."
        return render_template("auth/forgot.html", email=email, error=error), 422
    # Keyed on the client and on the typed address, never on an account: a limit
    # says nothing about whether the address has one.
    if spend(RESET_LIMITS, ("reset", client_address()), ("reset", email), now=now):
        error = "Zu viele Anfragen. Bitte versuchen Sie es in einer Stunde erneut."
        return render_template("auth/forgot.html", email=email, error=error), 429
    people.request_password_reset(db.session, email, now)
    db.session.commit()
    return render_template("auth/forgot.html", email="", error=None, sent=RESET_SENT)


def _reset_user(token: str) -> User:
    data = tokens.read(tokens.PASSWORD_RESET, token, request_now())
    user = db.session.get(User, int(data.get("u", 0)))
    # The link dies with the password it was made for: it works once.
    if user is None or not user.active or tokens.fingerprint(user.password_hash) != data.get("p"):
        raise tokens.TokenExpired()
    return user


def _new_password_errors() -> tuple[str, dict[str, str]]:
    new = request.form.get("new_password") or ""
    repeat = request.form.get("new_password_repeat") or ""
    errors: dict[str, str] = {}
    problem_ = password_problem(new)
    if problem_:
        errors["new_password"] = problem_
    elif new != repeat:
        errors["new_password_repeat"] = "Die beiden Eingaben stimmen nicht überein."
    return new, errors


@bp.route("/passwort-neu/<token>", methods=["GET", "POST"])
def password_reset(token: str):
    try:
        user = _reset_user(token)
    except (tokens.TokenExpired, tokens.TokenInvalid) as exc:
        return _token_problem(exc)
    if request.method == "GET":
        return render_template("auth/reset.html", errors={}, user=user)
    new, errors = _new_password_errors()
    if errors:
        return render_template("auth/reset.html", errors=errors, user=user), 422
    now = request_now()
    _set_own_password(user, new, now, "user.password_reset_by_mail")
    user.failed_logins = 0
    user.locked_until = None
    sessions.end_all(user)
    db.session.commit()
    flash("Ihr neues Passwort ist gesetzt. Bitte melden Sie sich damit an.", "success")
    return redirect(url_for("auth.login"))


@bp.route("/einladung/<token>", methods=["GET", "POST"])
def invitation(token: str):
    now = request_now()
    try:
        data = tokens.read(tokens.INVITATION, token, request_now())
    except (tokens.TokenExpired, tokens.TokenInvalid) as exc:
        return _token_problem(exc)
    invitation = people.open_invitation(db.session, int(data.get("i", 0)), now)
    existing = people.account_of(db.session, invitation.email)
    ctx: dict[str, Any] = {"invitation": invitation, "existing": existing, "errors": {}}
    if request.method == "GET":
        return render_template("auth/invitation.html", **ctx)
    password = ""
    if existing is None:
        password, ctx["errors"] = _new_password_errors()
        if ctx["errors"]:
            return render_template("auth/invitation.html", **ctx), 422
    user = people.accept_invitation(
        db.session, invitation, now, name=form_name(invitation.name), password=password
    )
    if existing is None:
        sessions.begin(user, now)
    db.session.commit()
    flash(f"Willkommen bei Aushang für {invitation.tenant.name}.", "success")
    if existing is None or (current_user.is_authenticated and current_user.id == user.id):
        return redirect(url_for("admin.dashboard", tenant=invitation.tenant.slug))
    return redirect(url_for("auth.login"))


def form_name(default: str) -> str:
    name = (request.form.get("name") or "").strip()
    return name[:200] or default
