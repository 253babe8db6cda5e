"""Player API: what every route shares — problems, token checks, the JSON body,
the group-commit writers and the answers to a database that is gone."""

from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import Any, NoReturn

from flask import Blueprint, Response, abort, current_app, jsonify, request
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.http import http_date

from ... import notify
from ...extensions import db
from ...models import Display
from ...runtime import caches, runtime
from ...security import token_hash
from ...services import alerts as alert_svc
from ...services import audit
from ...services.displays import reports, sent
from ...services.displays.group_commit import GroupCommit
from ...services.displays.manifest import Manifest, manifest_for
from ...services.displays.snapshot import DisplaySnapshot
from .. import jsonbody
from ..clock import blob_store, request_now

log = logging.getLogger("aushang.player_api")
bp = Blueprint("player_api", __name__, url_prefix="/api/player/v1")
bp_v2 = Blueprint("player_api_v2", __name__, url_prefix="/api/player/v2")

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


def listen_for_changes() -> None:
    """This process's caches (tokens, built parts) follow changes other processes commit
    (the control-centre API, staff, the scheduler) through the NOTIFY listener; every
    player route starts it, not only the long-poll: a v2 process never long-polls."""
    if current_app.config.get("AUSHANG_NOTIFY_LISTENER", True):
        notify.ensure_listener(db.engine, float(current_app.config["AUSHANG_NOTIFY_POLL_SECONDS"]))


def authenticate() -> tuple[DisplaySnapshot, str]:
    token = _bearer()
    if token is None:
        reject("missing_token")
    listen_for_changes()
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


def _end_reads() -> None:
    """End the request's read transaction, if it has one (the token and alert caches
    usually answer without the database; creating a session just to end it is not free)."""
    if db.session.registry.has():
        db.session.commit()


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
@bp_v2.errorhandler(OperationalError)
@bp_v2.errorhandler(InterfaceError)
@bp_v2.errorhandler(PoolTimeout)
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


@bp.after_request
@bp_v2.after_request
def headers(response: Response) -> Response:
    response.headers.setdefault("Date", http_date(now_()))
    response.headers.setdefault("Cache-Control", "no-store")
    return response
