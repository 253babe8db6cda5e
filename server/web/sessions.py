"""The session cookie interface, with its signer built once instead of per request.

Flask's default interface constructs an ``itsdangerous`` serializer on every request,
and the constructor test-serialises a value to find out its type: a tenth of the CPU of
a player API request, which has no cookie at all. The serializer only depends on the
secret key and the session settings, so it is kept and rebuilt when those change.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.sessions import SecureCookieSessionInterface


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
