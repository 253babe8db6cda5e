"""Signed links in mails: invitation, password reset, subscription and unsubscription.

Each purpose has its own salt, so a token of one kind is worthless for another. The
token carries ids only; whether it is still usable (single use, expiry, revocation)
is decided from the database when it is used.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

INVITATION = ("aushang.invitation", timedelta(days=7))
PASSWORD_RESET = ("aushang.password-reset", timedelta(hours=2))
SUBSCRIBE = ("aushang.subscribe", timedelta(hours=48))
UNSUBSCRIBE = ("aushang.unsubscribe", None)


class TokenExpired(Exception):
    pass


class TokenInvalid(Exception):
    pass


def _serializer(salt: str, now: datetime) -> URLSafeTimedSerializer:
    class Signer(TimestampSigner):
        # The time comes from the caller (the job's or the request's ``now``), not
        # the wall clock, like every other rule of the house.
        def get_timestamp(self) -> int:
            return int(now.timestamp())

    return URLSafeTimedSerializer(current_app.secret_key or "", salt=salt, signer=Signer)


def make(purpose: tuple[str, timedelta | None], data: dict[str, Any], now: datetime) -> str:
    return _serializer(purpose[0], now).dumps(data)


def read(purpose: tuple[str, timedelta | None], token: str, now: datetime) -> dict[str, Any]:
    salt, max_age = purpose
    try:
        data = _serializer(salt, now).loads(
            token, max_age=int(max_age.total_seconds()) if max_age else None
        )
    except SignatureExpired as exc:
        raise TokenExpired() from exc
    except BadSignature as exc:
        raise TokenInvalid() from exc
    if not isinstance(data, dict):
        raise TokenInvalid()
    return data


def fingerprint(value: str) -> str:
    """A short digest of a secret (a password hash): the reset link dies with it."""
    return hashlib.sha256(value.encode()).hexdigest()[:20]
