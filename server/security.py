"""Password hashing, tokens, and the role/tenant guards every staff route uses."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from functools import lru_cache, wraps
from pathlib import Path
from typing import Any, TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import abort, g
from flask_login import current_user
from sqlalchemy import select

from .extensions import db
from .models import Tenant

_hasher = PasswordHasher()
# Verifying against this keeps the time of a failed login for an unknown e-mail
# address the same as for a known one.
_DUMMY_HASH = _hasher.hash("aushang-timing-equaliser")

MIN_PASSWORD_LENGTH = 10
_COMMON_PASSWORDS_FILE = Path(__file__).with_name("common_passwords.txt")
# Digits and punctuation after a common stem add little: "Sommer2026!" is a stem.
_TRAILING_DECORATION = re.compile(r"[\d\W_]+$")


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    lines = _COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(
        line.strip().casefold() for line in lines if line.strip() and not line.startswith("#")
    )


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(stored_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def password_problem(password: str) -> str | None:
    """A German reason why a new password is too weak, or None.

    At least ``MIN_PASSWORD_LENGTH`` characters, not only spaces, not one character
    repeated, letters mixed with digits or other signs, and not a common password
    (``common_passwords.txt``), also not one with digits or signs tacked on."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Mindestens {MIN_PASSWORD_LENGTH} Zeichen."
    if not password.strip():
        return "Das Passwort darf nicht nur aus Leerzeichen bestehen."
    if len(set(password)) == 1:
        return "Das Passwort darf nicht aus einem einzigen, wiederholten Zeichen bestehen."
    folded = password.strip().casefold()
    common = common_passwords()
    stem = _TRAILING_DECORATION.sub("", folded)
    if folded in common or (stem and stem in common):
        return "Dieses Passwort ist zu verbreitet und leicht zu erraten. Bitte ein anderes wählen."
    if password.isdigit() or password.lower() == password and password.isalpha():
        return "Bitte Buchstaben mit Ziffern oder Sonderzeichen mischen."
    return None


def new_token(prefix: str = "ah") -> str:
    """A random bearer token; only its hash is stored."""
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def token_hash(token: str) -> str:
    """Tokens are high-entropy, so a plain SHA-256 is the right hash (no salt needed,
    and it allows lookup by hash)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def tokens_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a, b)


F = TypeVar("F", bound=Callable[..., Any])


def load_tenant(slug: str) -> Tenant:
    tenant = db.session.scalar(select(Tenant).where(Tenant.slug == slug, Tenant.active))
    if tenant is None:
        abort(404)
    return tenant


def tenant_staff_required(*roles: str) -> Callable[[F], F]:
    """Guard for ``/admin/<tenant>/…`` routes.

    Anonymous → login redirect (Flask-Login). A user without any role in the tenant →
    404, so the existence of other tenants' objects does not leak. A user of the
    tenant without one of ``roles`` → 403. ``roles`` empty means any staff role.
    The tenant is put on ``g.tenant``.
    """

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            from .extensions import login_manager

            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            tenant = load_tenant(kwargs.pop("tenant"))
            user = current_user._get_current_object()
            if not user.is_system_admin:
                held = user.roles_in(tenant.id)
                if not held:
                    abort(404)
                if roles and not (held & (set(roles) | {"admin"})):
                    abort(403)
            g.tenant = tenant
            return view(*args, **kwargs)

        # Read by the role × tenant matrix test for routes it has no explicit row for.
        wrapped.required_roles = roles  # type: ignore[attr-defined]
        return wrapped  # type: ignore[return-value]

    return decorator


def system_admin_required(view: F) -> F:
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        from .extensions import login_manager

        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if not current_user.is_system_admin:
            abort(403)
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]
