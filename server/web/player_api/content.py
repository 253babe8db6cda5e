"""Player protocol v1: the long-polled manifest and the assets by hash."""

from __future__ import annotations

import time
from datetime import datetime

from flask import Response, abort, request, send_file
from sqlalchemy.exc import SQLAlchemyError

from ... import notify
from ...extensions import db
from ...runtime import caches
from ...services.displays import sent
from ...services.displays.manifest import Manifest
from ...services.displays.snapshot import DisplaySnapshot
from ..clock import blob_store
from .common import (
    _SHA_RE,
    MAX_WAIT_S,
    _problem,
    _snapshot,
    _writer,
    authenticate,
    bp,
    current_manifest,
    log,
    now_,
)

# --- content ---------------------------------------------------------------------------


def _if_none_match() -> str | None:
    raw = request.headers.get("If-None-Match")
    if not raw:
        return None
    first = raw.split(",")[0].strip()
    if first.startswith("W/"):
        first = first[2:]
    return first.strip('"') or None


def _wait_seconds() -> int:
    try:
        return max(0, min(MAX_WAIT_S, int(request.args.get("wait", "0"))))
    except ValueError:
        return 0


def _manifest_answer(snap: DisplaySnapshot, current: Manifest, now: datetime | None) -> Response:
    """The manifest (200), or 304 Not Modified when ``now`` is None."""
    if now is None:
        response = Response(status=304)
    else:
        response = Response(current.body(now), mimetype="application/json")
    response.headers["ETag"] = f'"{current.etag}"'
    _record_sent_after(response, snap.id, current, now_() if now is None else now)
    return response


def _record_sent_after(
    response: Response, display_id: int, current: Manifest, at: datetime
) -> None:
    """Record what this answer carries (sent.py) once it has gone out: the screens
    first, the bookkeeping after. A 304 confirms the player holds it; only a changed
    set of items is written, and the first answer after a start checks the record."""
    refs = current.refs
    log_ = caches().sent
    if log_.known(display_id) == refs:
        return
    writer = _writer("sent")

    def record() -> None:
        try:
            writer.submit(sent.Sending(display_id, refs, at))
        except SQLAlchemyError as exc:
            log_.forget(display_id)  # try again with the next answer
            log.warning(
                "event=sent_not_recorded display=%s error=%s", display_id, type(exc).__name__
            )
            return
        log_.remember(display_id, refs)

    response.call_on_close(record)


@bp.get("/manifest")
def manifest():
    snap, digest = authenticate()  # (starts this process's change listener)
    known = _if_none_match()
    deadline = time.monotonic() + _wait_seconds()
    while True:
        now = now_()
        # A change wakes the waiter; the hub counts it as delivering until this block
        # ends with the answer (see ChangeHub.wait_delivered).
        with notify.hub.subscribe((snap.tenant_scope, notify.ALERTS)) as waiter:
            current = current_manifest(snap, now)
            if known is None or current.etag != known:
                return _manifest_answer(snap, current, now)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return _manifest_answer(snap, current, None)
            if current.expires_at is not None:
                until = (current.expires_at - now).total_seconds()
                remaining = min(remaining, max(until, 0.0) + 0.005)
            if db.session.registry.has():  # (closing creates a session when there is none)
                db.session.close()  # hold no database connection while waiting
            waiter.wait(remaining)
            if waiter.is_set():  # woken by a change: answer it within this block
                snap = _snapshot(digest)  # revoked meanwhile?
                now = now_()
                current = current_manifest(snap, now)
                if current.etag != known:
                    notify.hub.delivered_etag(current.etag)
                    return _manifest_answer(snap, current, now)
        snap = _snapshot(digest)  # revoked meanwhile?


@bp.get("/assets/<sha256>")
def asset(sha256: str):
    snap, _ = authenticate()
    media = current_manifest(snap, now_()).allows(sha256) if _SHA_RE.match(sha256) else None
    path = blob_store().path_for(sha256) if media else None
    if media is None or path is None or not path.is_file():
        # Only files of this display's own manifest: another tenant's files do not exist here.
        abort(
            _problem(404, "Nicht gefunden", "Diese Datei gehört nicht zu dieser Anzeige.", "asset")
        )
    response = send_file(path, mimetype=media, etag=sha256, conditional=True, max_age=31536000)
    response.headers["Cache-Control"] = "private, max-age=31536000, immutable"
    return response
