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
from ..models import User
from ..security import check_password, hash_password, password_problem
from ..services import audit, limits
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
    return render_template("auth/account.html", errors={})


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
        return render_template("auth/account.html", errors=errors), 422
    now = request_now()
    user.password_hash = hash_password(new)
    user.session_epoch += 1
    sessions.end_others(user, now)
    audit.record(
        db.session,
        now=now,
        action="user.password_change",
        object_type="user",
        object_id=user.id,
        actor=user,
    )
    db.session.commit()
    login_user(user)  # this session (its row stays) under the new epoch
    flash("Ihr Passwort wurde geändert. Andere Sitzungen wurden abgemeldet.", "success")
    return redirect(url_for("auth.account"))


@bp.route("/", methods=["GET"])
def root():
    from ..models import Tenant

    tenants = db.session.scalars(select(Tenant).where(Tenant.active).order_by(Tenant.name)).all()
    if len(tenants) == 1:
        return redirect(f"/{tenants[0].slug}/")
    return render_template("tenants.html", tenants=tenants)
