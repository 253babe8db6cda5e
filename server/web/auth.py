"""Login, logout and password change."""

from __future__ import annotations

import threading
import time
from collections import deque
from datetime import timedelta

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import func, select

from ..domain.posting import utcnow
from ..extensions import db
from ..models import User
from ..security import check_password, hash_password, password_problem
from ..services import audit
from .forms import safe_next

bp = Blueprint("auth", __name__)


class _IpLimiter:
    """Attempts per client address in a sliding window, against password spraying
    across many accounts (the per-account lock covers guessing one account)."""

    def __init__(self, limit: int = 20, window_s: float = 300.0) -> None:
        self.limit = limit
        self.window_s = window_s
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _window(self, key: str, now: float) -> deque[float]:
        q = self._hits.setdefault(key, deque())
        while q and now - q[0] > self.window_s:
            q.popleft()
        return q

    def hit(self, key: str) -> bool:
        """Count one attempt; False when the key is over its limit (not counted then)."""
        now = time.monotonic()
        with self._lock:
            q = self._window(key, now)
            if len(q) >= self.limit:
                return False
            q.append(now)
            return True

    def allowed(self, key: str) -> bool:
        """Whether the key is under its limit, without counting an attempt: for
        checks where only failures should use up the budget."""
        with self._lock:
            return len(self._window(key, time.monotonic())) < self.limit

    def reset(self) -> None:
        with self._lock:
            self._hits.clear()


ip_limiter = _IpLimiter()


def _home_for(user: User) -> str:
    if user.memberships:
        return url_for("admin.dashboard", tenant=user.memberships[0].tenant.slug)
    if user.is_system_admin:
        return url_for("admin.system_tenants")
    return url_for("auth.account")


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated and request.method == "GET":
        return redirect(_home_for(current_user))
    error = None
    email = ""
    status = 200
    if request.method == "POST":
        now = utcnow()
        email = (request.form.get("email") or "").strip().lower()
        password = request.form.get("password") or ""
        if not ip_limiter.hit(request.remote_addr or "?"):
            error = "Zu viele Anmeldeversuche. Bitte warten Sie einige Minuten."
            status = 429
        elif not email or not password:
            error = "Bitte E-Mail-Adresse und Passwort eingeben."
            status = 400
        else:
            user = db.session.scalar(select(User).where(func.lower(User.email) == email))
            if user is not None and user.locked_until and user.locked_until > now:
                error = (
                    "Dieses Konto ist nach mehreren Fehlversuchen vorübergehend gesperrt. "
                    "Bitte versuchen Sie es später erneut."
                )
                status = 429
            elif (
                user is None
                or not user.active
                or not check_password(user.password_hash if user else None, password)
            ):
                error = "E-Mail-Adresse oder Passwort ist falsch."
                status = 401
                if user is not None:
                    user.failed_logins += 1
                    if user.failed_logins >= current_app.config["AUSHANG_LOGIN_MAX_ATTEMPTS"]:
                        user.locked_until = now + timedelta(
                            minutes=current_app.config["AUSHANG_LOGIN_LOCK_MINUTES"]
                        )
                        user.failed_logins = 0
                        audit.record(
                            db.session,
                            now=now,
                            action="user.locked",
                            object_type="user",
                            object_id=user.id,
                            actor="system",
                        )
                    db.session.commit()
            else:
                user.failed_logins = 0
                user.locked_until = None
                audit.record(
                    db.session,
                    now=now,
                    action="user.login",
                    object_type="user",
                    object_id=user.id,
                    actor=user,
                )
                db.session.commit()
                login_user(user)
                return redirect(safe_next(request.args.get("next"), _home_for(user)))
    return render_template("auth/login.html", error=error, email=email), status


@bp.route("/logout", methods=["POST"])
def logout():
    logout_user()
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
    now = utcnow()
    user.password_hash = hash_password(new)
    user.session_epoch += 1
    audit.record(
        db.session,
        now=now,
        action="user.password_change",
        object_type="user",
        object_id=user.id,
        actor=user,
    )
    db.session.commit()
    login_user(user)  # keep this session, end all others
    flash("Ihr Passwort wurde geändert. Andere Sitzungen wurden abgemeldet.", "success")
    return redirect(url_for("auth.account"))


@bp.route("/", methods=["GET"])
def root():
    from ..models import Tenant

    tenants = db.session.scalars(select(Tenant).where(Tenant.active).order_by(Tenant.name)).all()
    if len(tenants) == 1:
        return redirect(f"/{tenants[0].slug}/")
    return render_template("tenants.html", tenants=tenants)
