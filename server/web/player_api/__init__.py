"""Player protocol v1 (contract/player-protocol-v1.schema.json): ``/api/player/v1/…``.

Bearer tokens, no cookies, so CSRF does not apply. A long-poll holds its worker thread
but no database connection: it waits on an Event of the change hub (server.notify),
and an idle player's 304 is answered from memory.
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from ... import notify
from ...extensions import csrf
from . import content, enrol, reports, v2
from .common import bp, bp_v2
from .enrol import ENROL_LIMIT

__all__ = ["ENROL_LIMIT", "bp", "bp_v2", "content", "enrol", "reports", "v2"]

YIELD_S = 2.0  # new player requests wait at most this long behind a fan-out
_PLAYER_API = "/api/player/v1/"
_MANIFEST = _PLAYER_API + "manifest"


class DeliveryFirst:
    """WSGI middleware: new player API requests wait (at most YIELD_S) while long-polls
    woken by a change are still answering.

    After a warning, each of 2,000 players acknowledges it and long-polls again the
    moment it receives it. Handled at once, those requests would take most of the
    process's CPU while other screens still wait for the warning; waiting here, before
    Flask, defers all of their cost. The screens first, the bookkeeping after."""

    def __init__(self, wsgi_app: Any) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        if path.startswith(_PLAYER_API) and notify.hub.delivering():
            if path == _MANIFEST:
                # A player that already has the new manifest (its next long-poll) waits;
                # one that does not (it was between two requests) is answered at once.
                etag = environ.get("HTTP_IF_NONE_MATCH", "").removeprefix("W/").strip('"')
                if notify.hub.is_delivered_etag(etag):
                    notify.hub.wait_delivered(YIELD_S)
            else:
                notify.hub.wait_delivered(YIELD_S)
        return self.wsgi_app(environ, start_response)


def init_app(app: Flask) -> None:
    csrf.exempt(bp)
    app.register_blueprint(bp)
    csrf.exempt(bp_v2)
    app.register_blueprint(bp_v2)
    app.wsgi_app = DeliveryFirst(app.wsgi_app)  # type: ignore[method-assign]
