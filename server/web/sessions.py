"""Staff sessions: the signed cookie, and the server-side row that makes it valid.

The cookie (Flask's signed session) names the user and carries a random session token;
the ``login_session`` table keeps the token's hash. A request is signed in only while
that row exists, so logging out ends the session on the server: a copy of the cookie
taken before the logout no longer signs anyone in. The user's ``session_epoch`` (in the
user id Flask-Login stores) still ends every session of an account at once, on a
password change or deactivation.

The session cookie interface, with its signer built once instead of per request:
Flask's default interface constructs an ``itsdangerous`` serializer on every request,
and the constructor test-serialises a value to find out its type: a tenth of the CPU of
a player API request, which has no cookie at all. The serializer only depends on the
secret key and the session settings, so it is kept and rebuilt when those change.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, current_app, session
from flask.sessions import SecureCookieSessionInterface
from flask_login import login_user, logout_user
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ..extensions import db
from ..models import LoginSession, User
from ..security import token_hash

SESSION_TOKEN_KEY = "_aushang_sid"


class CachedSignerSessionInterface(SecureCookieSessionInterface):
    def __init__(self) -> None:
        self._signer: tuple[Any, Any] | None = None

    def get_signing_serializer(self, app: Flask) -> Any:
        key = (
            app.secret_key,
            tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()),
            app.config.get("SESSION_COOKIE_NAME"),
        )
        cached = self._signer
        if cached is not None and cached[0] == key:
            return cached[1]
        serializer = super().get_signing_serializer(app)
        self._signer = (key, serializer)
        return serializer


def init_app(app: Flask) -> None:
    app.session_interface = CachedSignerSessionInterface()


def create(session_: Session, user: User, now: datetime, lifetime: timedelta) -> str:
    """A new server-side session of ``user``; returns the token for the cookie. Expired
    rows of the same user go at the same time."""
    session_.execute(
        delete(LoginSession).where(LoginSession.user_id == user.id, LoginSession.expires_at <= now)
    )
    token = secrets.token_urlsafe(32)
    session_.add(
        LoginSession(
            user_id=user.id, token_hash=token_hash(token), created_at=now, expires_at=now + lifetime
        )
    )
    session_.flush()
    return token


def begin(user: User, now: datetime) -> None:
    """Sign ``user`` in on this browser (the caller commits)."""
    previous = session.get(SESSION_TOKEN_KEY)
    if isinstance(previous, str):  # a new login replaces the browser's old session
        _delete(previous)
    token = create(db.session, user, now, current_app.permanent_session_lifetime)
    login_user(user)
    session[SESSION_TOKEN_KEY] = token


def end() -> None:
    """Sign this browser out, on the server too (the caller commits)."""
    token = session.pop(SESSION_TOKEN_KEY, None)
    if isinstance(token, str):
        _delete(token)
    logout_user()


def end_others(user: User, now: datetime) -> None:
    """Keep this browser's session of ``user``, delete all the others."""
    token = session.get(SESSION_TOKEN_KEY)
    keep = token_hash(token) if isinstance(token, str) else ""
    db.session.execute(
        delete(LoginSession).where(LoginSession.user_id == user.id, LoginSession.token_hash != keep)
    )


def end_all(user: User) -> None:
    """Every session of ``user`` ends (a password set through a reset link)."""
    db.session.execute(delete(LoginSession).where(LoginSession.user_id == user.id))


def _delete(token: str) -> None:
    db.session.execute(delete(LoginSession).where(LoginSession.token_hash == token_hash(token)))


def load_user(user_id: str, now: datetime) -> User | None:
    """Flask-Login's user loader: the user of a valid cookie *and* a live session row."""
    token = session.get(SESSION_TOKEN_KEY)
    if not isinstance(token, str):
        return None
    try:
        uid, epoch = (int(x) for x in user_id.split(":", 1))
    except ValueError:
        return None
    row = db.session.scalar(
        select(LoginSession).where(LoginSession.token_hash == token_hash(token))
    )
    if row is None or row.user_id != uid or row.expires_at <= now:
        return None
    user = db.session.get(User, uid)
    if user is None or user.session_epoch != epoch or not user.active:
        return None
    return user
