"""Player protocol: heartbeats, proof of play and warning acknowledgements."""

from __future__ import annotations

import math
from datetime import datetime

from flask import abort, current_app, jsonify
from sqlalchemy.exc import SQLAlchemyError

from ...domain.errors import NotFound, ValidationFailed
from ...extensions import db
from ...models import Display
from ...runtime import caches
from ...services.displays import reports, sent
from ...services.displays.manifest import isoz
from ...services.displays.snapshot import DisplaySnapshot
from .common import (
    _end_reads,
    _json_body,
    _problem,
    _unavailable,
    _writer,
    authenticate,
    bp,
    current_manifest,
    log,
    now_,
    reject,
)

# --- reports ---------------------------------------------------------------------------


def _display(snap: DisplaySnapshot) -> Display:
    display = db.session.get(Display, snap.id)
    if display is None or not display.enrolled:
        reject("unknown_token")
    return display


def _truth(snap: DisplaySnapshot, now: datetime) -> sent.Truth:
    return sent.Truth(db.session, snap.id, current_manifest(snap, now).refs, now)


def _suspicious(snap: DisplaySnapshot, truth: sent.Truth, now: datetime) -> None:
    """Flag a display that claimed content it was never sent (logged once), and
    commit the flag whatever the request does next."""
    if not truth.rejected:
        return
    reason = "Meldete Inhalte, die ihr nie gesendet wurden: " + ", ".join(
        dict.fromkeys(truth.rejected)
    )
    sent.flag_suspicious(db.session, snap.id, snap.tenant_id, reason, now)
    db.session.commit()


def _heartbeat_limit(display_id: int, now: datetime) -> None:
    """429 with Retry-After for a display sending heartbeats faster than allowed."""
    cache = caches()
    limiter = cache.heartbeat_limit
    if limiter is None:
        limiter = cache.heartbeat_limit = reports.HeartbeatLimiter(
            per_minute=float(current_app.config.get("AUSHANG_HEARTBEATS_PER_MINUTE", 12)),
            burst=int(current_app.config.get("AUSHANG_HEARTBEAT_BURST", 10)),
        )
    wait_s = limiter.take(display_id, now)
    if wait_s > 0:
        response = _problem(
            429,
            "Zu viele Herzschläge",
            "Dieses Gerät meldet sich zu oft. Bitte später erneut senden.",
            "rate-limited",
        )
        response.headers["Retry-After"] = str(max(1, math.ceil(wait_s)))
        abort(response)


@bp.post("/heartbeat")
def heartbeat():
    snap, _ = authenticate()
    now = now_()
    _heartbeat_limit(snap.id, now)
    body = _json_body()
    beat = reports.heartbeat_row(snap.id, body, now)
    claim = sent.notice_claim(beat.row["current_item"])
    if claim is not None:
        # The heartbeat stays a sign of life; a claim of a notice the display was never
        # sent is not evidence and is not kept as what the screen shows.
        truth = _truth(snap, now)
        if not truth.sent("notice", claim[0], now, version=claim[1]):
            truth.rejected.append(f"Herzschlag mit {beat.row['current_item']}")
            beat = reports.without_item(beat)
            _suspicious(snap, truth, now)
    _end_reads()  # no connection held while the group gathers
    try:
        stored = _writer("heartbeats").submit(beat)
    except SQLAlchemyError as exc:
        log.warning("event=heartbeat_not_stored error=%s", type(exc).__name__)
        _unavailable()
    if not stored:
        reject("unknown_token")
    return jsonify({"server_time": isoz(now)})


@bp.post("/events")
def events():
    snap, _ = authenticate()
    body = _json_body()
    now = now_()
    truth = _truth(snap, now)
    accepted = reports.record_events(db.session, _display(snap), body, now, truth)
    db.session.commit()
    _suspicious(snap, truth, now)
    return jsonify({"accepted": accepted})


@bp.post("/alerts/<alert_id>/ack")
def alert_ack(alert_id: str):
    snap, _ = authenticate()
    body = _json_body()
    if not isinstance(body, dict):
        raise ValidationFailed("Quittung unvollständig.", {})
    if str(body.get("display_id")) != str(snap.id):
        reject("foreign_display", 403, display_id=snap.id, claimed=str(body.get("display_id")))
    number = reports.db_id(alert_id)
    if number is None or str(body.get("alert_id")) != alert_id:
        raise ValidationFailed("alert_id passt nicht zur Adresse.", {"alert_id": alert_id})
    now = now_()
    meta = caches().alerts.get(db.session, number)
    try:
        row = reports.ack_row(snap, number, meta, body, now)
        truth = _truth(snap, now)
        if not truth.sent("alert", number, row["delivered_at"]) and not truth.sent(
            "alert", number, now
        ):
            raise NotFound("Diese Warnung gibt es nicht.")
    except NotFound:
        if meta is not None:  # an existing alert this display was never sent
            truth = sent.Truth(db.session, snap.id, frozenset(), now)
            truth.rejected.append(f"Quittung für Warnung {number}")
            _suspicious(snap, truth, now)
        raise
    _end_reads()
    try:
        failed = _writer("acks").submit(row)
    except SQLAlchemyError as exc:
        log.warning("event=ack_not_stored error=%s", type(exc).__name__)
        _unavailable()
    if failed is not None:  # the display was deleted a moment ago
        reject("unknown_token")
    return jsonify({"alert_id": alert_id, "status": "recorded"})
