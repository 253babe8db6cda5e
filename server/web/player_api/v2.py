"""Player protocol v2 (contract/player-protocol-v2.md): the snapshot, the stream and the
engine's authorisation of a stream.

In production nginx + nchan serve ``/api/player/v2/stream`` and ask ``stream-auth`` once
per connection (``nchan_authorize_request``); in the embedded default this blueprint
serves the stream itself from the in-process engine. Reports (heartbeats, events,
acknowledgements) and assets stay the routes of v1.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from flask import Response, abort, current_app, request, stream_with_context

from ...push import channels, engines, runtime
from .common import (
    _problem,
    authenticate,
    bp_v2,
    current_manifest,
    now_,
    reject,
)
from .content import _if_none_match, _manifest_answer

CHANNELS_HEADER = "Aushang-Channels"
REVISION_HEADER = "Aushang-Alerts-Revision"


@bp_v2.get("/state")
def state() -> Response:
    """The full snapshot: the manifest of v1 (304 when ``If-None-Match`` holds) and, in
    ``Aushang-Channels``, the channels this display streams."""
    snap, _ = authenticate()
    now = now_()
    current = current_manifest(snap, now)
    changed = current.etag != _if_none_match()
    response = _manifest_answer(snap, current, now if changed else None)
    response.headers[CHANNELS_HEADER] = ",".join(channels.display_channels(snap))
    # Warnings messages carry the same number: the player drops replayed older ones.
    response.headers[REVISION_HEADER] = str(current.warnings.revision)
    return response


def _requested(raw: str) -> tuple[str, ...]:
    names = channels.parse_request(raw)
    if names is None:
        abort(_problem(400, "Ungültige Anfrage", "Kanäle fehlen oder sind ungültig.", "channels"))
    return names


def _check_channels(requested: tuple[str, ...]) -> None:
    snap, _ = authenticate()
    if not channels.allowed(requested, snap):
        reject("foreign_channel", 403, display_id=snap.id, channels=",".join(requested))


@bp_v2.get("/stream-auth")
def stream_auth() -> Response:
    """nchan's ``nchan_authorize_request``: 200 lets the stream open, anything else not.
    The channels come from the original request (``X-Original-URI``)."""
    if request.headers.get("X-Aushang-Edge") != "subscribe":
        abort(404)  # only nginx's subscriber location asks here
    original = request.headers.get("X-Original-URI", "")
    raw = parse_qs(urlsplit(original).query).get("c", [""])[0]
    _check_channels(_requested(raw))
    return Response(status=200)


@bp_v2.get("/stream")
def stream() -> Response:
    """The embedded engine's stream (``AUSHANG_PUSH_ENGINE=embedded``)."""
    if current_app.config.get("AUSHANG_PUSH_ENGINE", "embedded") != "embedded":
        abort(_problem(404, "Nicht hier", "Der Stream kommt vom Push-Server.", "no-stream"))
    requested = _requested(request.args.get("c", ""))
    _check_channels(requested)
    runtime.ensure_local_publisher(current_app._get_current_object())  # type: ignore[attr-defined]
    last_id = request.headers.get("Last-Event-ID") or request.args.get("last_id")
    # A revoked display learns it from the snapshot its Kommune's ``state`` message
    # sends it to fetch (401), as with nchan: the stream itself carries no secrets.
    body = engines.embedded().stream(requested, last_id)
    response = Response(stream_with_context(body), mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Accel-Buffering"] = "no"
    return response


__all__ = ["bp_v2", "state", "stream", "stream_auth"]
