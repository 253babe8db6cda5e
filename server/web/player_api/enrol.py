"""Player protocol: enrolment by provisioning token or pairing code (D6)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Response, abort, jsonify

from ...domain.errors import PermissionDenied, ValidationFailed
from ...extensions import db
from ...models import PairingRequest
from ...services import limits
from ...services.displays import enrolment
from ...services.displays.manifest import isoz
from .common import (
    _bearer,
    _json_body,
    _problem,
    bp,
    log,
    now_,
    reject,
)

# --- enrolment -------------------------------------------------------------------------


# Shared by all worker processes (the database), per real client address.
ENROL_LIMIT = limits.Limit("enrol", 30, timedelta(minutes=10))


@bp.post("/enroll")
def enroll():
    from ..auth import client_address, limit_key

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
