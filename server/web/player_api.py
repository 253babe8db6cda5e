"""Player protocol v1 (contract/player-protocol-v1.schema.json): ``/api/player/v1/…``.

Bearer tokens, no cookies, so CSRF does not apply. A long-poll holds its worker thread
but no database connection: it waits on an Event of the change hub (server.notify),
and an idle player's 304 is answered from memory.
"""

from __future__ import annotations

import logging
import math
import re
import time
from datetime import datetime, timedelta
from typing import Any, NoReturn

from flask import Blueprint, Flask, Response, abort, current_app, jsonify, request, send_file
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.http import http_date

from .. import notify
from ..domain.errors import NotFound, PermissionDenied, ValidationFailed
from ..extensions import csrf, db
from ..models import Display, PairingRequest
from ..runtime import caches, runtime
from ..security import token_hash
from ..services import alerts as alert_svc
from ..services import audit, limits
from ..services.displays import enrolment, reports, sent
from ..services.displays.group_commit import GroupCommit
from ..services.displays.manifest import Manifest, isoz, manifest_for
from ..services.displays.snapshot import DisplaySnapshot
from . import jsonbody
from .clock import blob_store, request_now

log = logging.getLogger("aushang.player_api")
bp = Blueprint("player_api", __name__, url_prefix="/api/player/v1")

MAX_WAIT_S = 60
_SHA_RE = re.compile(r"^[0-9a-f]{64}$")


def now_() -> datetime:
    return request_now()


def _problem(status: int, title: str, detail: str, kind: str) -> Response:
    response = jsonify(
        {"type": f"urn:aushang:problem:{kind}", "title": title, "status": status, "detail": detail}
    )
    response.status_code = status
    response.mimetype = "application/problem+json"
    return response


def reject(
    reason: str, status: int = 401, display_id: int | None = None, **details: Any
) -> NoReturn:
    """Refuse a player request (D6): problem+json, a log line and an audit row."""
    remote = request.remote_addr or "?"
    log.warning(
        "event=player_auth_rejected reason=%s status=%s remote=%s path=%s display=%s",
        reason,
        status,
        remote,
        request.path,
        display_id,
    )
    if runtime().player_audit_throttle.allow((remote, reason)):
        db.session.rollback()
        tenant_id = None
        if display_id is not None:
            display = db.session.get(Display, display_id)
            tenant_id = display.tenant_id if display else None
        audit.record(
            db.session,
            now=now_(),
            action="display.auth_rejected",
            object_type="display",
            object_id=display_id if display_id is not None else "-",
            actor="player",
            tenant_id=tenant_id,
            details={"reason": reason, "remote_addr": remote, "path": request.path, **details},
        )
        db.session.commit()
    if status == 403:
        abort(_problem(403, "Nicht erlaubt", "Diese Anfrage gehört nicht zu diesem Gerät.", reason))
    abort(
        _problem(
            401,
            "Token ungültig oder widerrufen",
            "Dieses Gerät ist nicht (mehr) gekoppelt.",
            "token-revoked",
        )
    )


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def authenticate() -> tuple[DisplaySnapshot, str]:
    token = _bearer()
    if token is None:
        reject("missing_token")
    digest = token_hash(token)
    return _snapshot(digest), digest


def _snapshot(digest: str) -> DisplaySnapshot:
    """The display behind a token hash (cached), or a 401 if it is unknown or revoked."""
    tokens = caches().tokens
    snap = tokens.get(digest) or tokens.load(db.session, digest)
    if snap is None:
        reject("unknown_token")
    return snap


def _json_body() -> Any:
    """The request's JSON body, for every player API route: a clear 400 for anything
    else, nesting deeper than jsonbody.MAX_DEPTH included."""
    if not request.is_json:
        abort(_problem(400, "Ungültige Anfrage", "Der Inhalt ist kein gültiges JSON.", "bad-json"))
    try:
        data = jsonbody.loads(request.get_data(cache=True))
    except jsonbody.BadJson as exc:
        abort(_problem(400, "Ungültige Anfrage", exc.detail, "bad-json"))
    if data is None:
        abort(_problem(400, "Ungültige Anfrage", "Der Inhalt ist kein gültiges JSON.", "bad-json"))
    return data


def current_manifest(snap: DisplaySnapshot, now: datetime) -> Manifest:
    return manifest_for(
        db.session,
        snap,
        now,
        store=blob_store(),
        base_url=current_app.config["AUSHANG_BASE_URL"],
        policy=alert_svc.policy_from_config(current_app.config),
        cache=caches(),
    )


# --- enrolment -------------------------------------------------------------------------


# Shared by all worker processes (the database), per real client address.
ENROL_LIMIT = limits.Limit("enrol", 30, timedelta(minutes=10))


@bp.post("/enroll")
def enroll():
    from .auth import client_address, limit_key

    body = _json_body()
    if not isinstance(body, dict) or not isinstance(body.get("player_version"), str):
        raise ValidationFailed("player_version fehlt.", {"player_version": "fehlt"})
    hostname = body.get("hostname") if isinstance(body.get("hostname"), str) else ""
    device_key = body.get("device_key", "")
    if not isinstance(device_key, str) or not (device_key == "" or 16 <= len(device_key) <= 200):
        raise ValidationFailed("device_key ungültig.", {"device_key": "16–200 Zeichen"})
    now = now_()
    remote = client_address()
    key = limit_key("address", remote)
    too_many = _problem(429, "Zu viele Versuche", "Bitte später erneut versuchen.", "rate-limited")
    prov = body.get("provisioning_token")
    if prov is not None:
        # A whole site may enrol behind one address (NAT): only failed tokens use up
        # the budget, so guessing is limited but a rollout of hundreds is not.
        if limits.exceeded(db.session, ENROL_LIMIT, key, now):
            abort(too_many)
        if not isinstance(prov, str) or len(prov) < 8:
            raise ValidationFailed("provisioning_token ungültig.", {"provisioning_token": "≥ 8"})
        try:
            issued = enrolment.enrol_with_provisioning(
                db.session,
                provisioning_token=prov,
                player_version=body["player_version"],
                hostname=hostname,
                now=now,
                device_key=device_key,
                remote_addr=remote,
            )
        except PermissionDenied as exc:
            db.session.rollback()
            limits.record(db.session, ENROL_LIMIT, key, now)
            db.session.commit()
            log.warning("event=provisioning_rejected remote=%s", remote)
            reject("provisioning_rejected", 403, message=exc.message)
        if isinstance(issued, enrolment.Pending):
            answer = _pairing_answer(issued.pairing, issued.secret)
            db.session.commit()
            log.info("event=display_swap_candidate display=%s", issued.pairing.candidate_display_id)
            return jsonify(answer), 201
        db.session.commit()
        log.info("event=display_enrolled display=%s method=provisioning", issued.display.id)
        return _token_answer(issued), 201
    if not limits.hit(db.session, ENROL_LIMIT, key, now):  # each creates a code: count each
        abort(too_many)
    pairing, secret = enrolment.start_pairing(
        db.session,
        player_version=body["player_version"],
        hostname=hostname,
        remote_addr=remote,
        now=now,
        device_key=device_key,
    )
    answer = _pairing_answer(pairing, secret)
    db.session.commit()
    return jsonify(answer), 201


def _pairing_answer(pairing: PairingRequest, secret: str) -> dict[str, Any]:
    return {
        "status": "pending",
        "pairing_code": pairing.code,
        "claim_secret": secret,
        "expires_at": isoz(pairing.expires_at),
        "poll_after_s": enrolment.POLL_AFTER_S,
    }


def _token_answer(issued: enrolment.Issued) -> Response:
    return jsonify(
        {
            "status": "paired",
            "token": issued.token,
            "display": {"id": str(issued.display.id), "name": issued.display.name},
        }
    )


@bp.get("/enroll/<code>")
def enroll_poll(code: str):
    secret = _bearer()
    if secret is None:
        reject("missing_claim_secret")
    try:
        issued = enrolment.collect(db.session, code, secret, now_())
    except enrolment.PairingGone as exc:
        db.session.rollback()
        if exc.status == 410:
            abort(_problem(410, "Code abgelaufen", "Bitte einen neuen Code anfordern.", "expired"))
        abort(_problem(404, "Unbekannter Code", "Bitte einen neuen Code anfordern.", "unknown"))
    if issued is None:
        return jsonify({"status": "pending", "poll_after_s": enrolment.POLL_AFTER_S}), 202
    db.session.commit()
    log.info("event=display_enrolled display=%s method=pairing", issued.display.id)
    return _token_answer(issued), 200


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


def _end_reads() -> None:
    """End the request's read transaction, if it has one (the token and alert caches
    usually answer without the database; creating a session just to end it is not free)."""
    if db.session.registry.has():
        db.session.commit()


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
    snap, digest = authenticate()
    if current_app.config.get("AUSHANG_NOTIFY_LISTENER", True):
        notify.ensure_listener(db.engine, float(current_app.config["AUSHANG_NOTIFY_POLL_SECONDS"]))
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


# --- reports ---------------------------------------------------------------------------


def _display(snap: DisplaySnapshot) -> Display:
    display = db.session.get(Display, snap.id)
    if display is None or not display.enrolled:
        reject("unknown_token")
    return display


def _write_heartbeats(beats: list[reports.HeartbeatRow]) -> list[bool]:
    with db.engine.begin() as conn:
        return reports.store_heartbeats(conn, beats)


def _write_acks(rows: list[dict[str, Any]]) -> list[Exception | None]:
    try:
        with db.engine.begin() as conn:
            reports.store_acks(conn, rows)
        return [None] * len(rows)
    except IntegrityError:
        # A display deleted a moment ago: store the others, refuse only its rows.
        results: list[Exception | None] = []
        for row in rows:
            try:
                with db.engine.begin() as conn:
                    reports.store_acks(conn, [row])
                results.append(None)
            except IntegrityError as exc:
                results.append(exc)
        return results


def _writer(name: str) -> GroupCommit[Any, Any]:
    """The application's group commit for heartbeats, acknowledgements or the record
    of what was sent."""
    writers = caches().writers
    found = writers.get(name)
    if found is None:
        if name == "heartbeats":
            gather = float(current_app.config["AUSHANG_HEARTBEAT_GATHER_SECONDS"])
            found = GroupCommit(_write_heartbeats, gather_s=gather)
        elif name == "sent":
            engine = db.engine  # written after the answer, outside the app context

            def write_sent(items: list[sent.Sending]) -> list[None]:
                with engine.begin() as conn:
                    return sent.record_sent(conn, items)

            found = GroupCommit(write_sent)
        else:
            found = GroupCommit(_write_acks)
        found = writers.setdefault(name, found)
    return found


@bp.errorhandler(OperationalError)
@bp.errorhandler(InterfaceError)
@bp.errorhandler(PoolTimeout)
def _database_down(exc: Exception) -> Response:
    """A connection that dies mid-request (database restarted, pool exhausted) is an
    infrastructure failure: 503 with Retry-After, and the player sends again."""
    log.warning("event=database_unavailable path=%s error=%s", request.path, type(exc).__name__)
    try:
        db.session.rollback()
    except SQLAlchemyError:
        pass
    response = _problem(503, "Vorübergehend nicht verfügbar", "Bitte erneut senden.", "unavailable")
    response.headers["Retry-After"] = "5"
    return response


def _unavailable() -> NoReturn:
    response = _problem(503, "Vorübergehend nicht verfügbar", "Bitte erneut senden.", "unavailable")
    response.headers["Retry-After"] = "5"  # the player retries with its own backoff anyway
    abort(response)


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


@bp.after_request
def headers(response: Response) -> Response:
    response.headers.setdefault("Date", http_date(now_()))
    response.headers.setdefault("Cache-Control", "no-store")
    return response


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
    app.wsgi_app = DeliveryFirst(app.wsgi_app)  # type: ignore[method-assign]
