"""Enrolment (D6): a pairing code on the screen that staff enter, or a provisioning token
in the player's configuration. Only hashes of tokens and claim secrets are stored.

The player's token is generated when the player collects it (not when staff pair), so
the plain token never rests in the database; collecting again within the pairing's
lifetime issues a fresh token and invalidates the earlier one.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...domain.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from ...models import Display, PairingRequest, ProvisioningToken, Tenant, User
from ...security import new_token, token_hash
from .. import audit

PAIRING_TTL = timedelta(minutes=30)
COLLECT_TTL = timedelta(minutes=10)
POLL_AFTER_S = 3
# No 0/O, 1/I/L, 2/Z, 5/S, 8/B: the code is read off a screen and typed by a person.
CODE_ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"


class PairingGone(Exception):
    """The pairing expired or is unknown to this claim secret: the player starts over."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


@dataclass
class Issued:
    display: Display
    token: str


def normalise_code(raw: str) -> str:
    text = "".join(c for c in (raw or "").upper() if c.isalnum())
    return f"{text[:3]}-{text[3:]}" if len(text) == 6 else text


def _new_code(session: Session, now: datetime) -> str:
    for _ in range(20):
        raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(6))
        code = f"{raw[:3]}-{raw[3:]}"
        taken = session.scalar(
            select(PairingRequest.id).where(
                PairingRequest.code == code, PairingRequest.expires_at > now
            )
        )
        if taken is None:
            return code
    raise Conflict("Es konnte kein freier Kopplungscode vergeben werden.")


def start_pairing(
    session: Session, *, player_version: str, hostname: str, remote_addr: str, now: datetime
) -> tuple[PairingRequest, str]:
    secret = secrets.token_hex(24)
    pairing = PairingRequest(
        code=_new_code(session, now),
        claim_secret_hash=token_hash(secret),
        player_version=player_version[:50],
        hostname=hostname[:200],
        remote_addr=remote_addr[:100],
        created_at=now,
        expires_at=now + PAIRING_TTL,
    )
    session.add(pairing)
    session.flush()
    return pairing, secret


def _issue(display: Display, now: datetime) -> str:
    token = new_token("pt")
    display.token_hash = token_hash(token)
    display.enrolled_at = now
    display.revoked_at = None
    return token


def collect(session: Session, code: str, claim_secret: str, now: datetime) -> Issued | None:
    """The player asks whether staff paired it. None: still pending."""
    pairing = session.scalar(
        select(PairingRequest).where(PairingRequest.claim_secret_hash == token_hash(claim_secret))
    )
    if pairing is None or pairing.code != normalise_code(code):
        raise PairingGone(404)
    if pairing.expires_at <= now:
        raise PairingGone(410)
    if pairing.display is None:
        return None
    display = pairing.display
    token = _issue(display, now)
    display.player_version = pairing.player_version or display.player_version
    display.hostname = pairing.hostname or display.hostname
    pairing.collected_at = now
    session.flush()
    audit.record(
        session,
        now=now,
        action="display.enrolled",
        object_type="display",
        object_id=display.id,
        actor="player",
        tenant_id=display.tenant_id,
        details={"method": "pairing", "code": pairing.code, "hostname": pairing.hostname},
    )
    return Issued(display, token)


def pair(session: Session, tenant: Tenant, user: User, code: str, display: Display, now: datetime):
    """Staff enter the code shown on a screen and choose the display (D6)."""
    if display.tenant_id != tenant.id:
        raise NotFound("Diese Anzeige gibt es nicht.")
    normal = normalise_code(code)
    if not normal:
        raise ValidationFailed("Bitte den Code vom Bildschirm eingeben.", {"code": "Code fehlt."})
    pairing = session.scalar(
        select(PairingRequest)
        .where(PairingRequest.code == normal, PairingRequest.expires_at > now)
        .order_by(PairingRequest.id.desc())
    )
    if pairing is None:
        raise ValidationFailed(
            "Zu diesem Code wartet kein Gerät. Bitte den Code prüfen; ein abgelaufener Code "
            "wird auf dem Bildschirm nach kurzer Zeit durch einen neuen ersetzt.",
            {"code": "Unbekannter oder abgelaufener Code."},
        )
    if pairing.display_id is not None:
        raise ValidationFailed(
            "Dieser Code wurde bereits einer Anzeige zugeordnet.", {"code": "Bereits gekoppelt."}
        )
    pairing.display = display
    pairing.paired_at = now
    pairing.paired_by_id = user.id
    pairing.expires_at = max(pairing.expires_at, now + COLLECT_TTL)
    session.flush()
    audit.record(
        session,
        now=now,
        action="display.pair",
        object_type="display",
        object_id=display.id,
        actor=user,
        tenant_id=tenant.id,
        details={"code": pairing.code, "hostname": pairing.hostname},
    )
    return pairing


def enrol_with_provisioning(
    session: Session,
    *,
    provisioning_token: str,
    player_version: str,
    hostname: str,
    now: datetime,
) -> Issued:
    prov = session.scalar(
        select(ProvisioningToken).where(
            ProvisioningToken.token_hash == token_hash(provisioning_token)
        )
    )
    if prov is None or prov.revoked_at is not None:
        raise PermissionDenied("Der Bereitstellungsschlüssel ist unbekannt oder widerrufen.")
    if prov.max_uses is not None and prov.uses >= prov.max_uses:
        raise PermissionDenied("Der Bereitstellungsschlüssel ist aufgebraucht.")
    name = (hostname or "").strip()[:150] or "Neues Gerät"
    display = Display(
        tenant_id=prov.tenant_id,
        name=f"{name} (neu)",
        hostname=hostname[:200],
        player_version=player_version[:50],
        created_at=now,
    )
    if prov.group is not None:
        display.groups.append(prov.group)
    session.add(display)
    session.flush()
    token = _issue(display, now)
    prov.uses += 1
    prov.last_used_at = now
    session.flush()
    audit.record(
        session,
        now=now,
        action="display.enrolled",
        object_type="display",
        object_id=display.id,
        actor="player",
        tenant_id=prov.tenant_id,
        details={"method": "provisioning", "token": prov.name, "hostname": hostname},
    )
    return Issued(display, token)


def create_provisioning_token(
    session: Session,
    tenant: Tenant,
    user: User,
    name: str,
    now: datetime,
    *,
    group_id: int | None = None,
    max_uses: int | None = None,
) -> tuple[ProvisioningToken, str]:
    name = name.strip()
    if not name or len(name) > 200:
        raise ValidationFailed("Bitte eine Bezeichnung angeben.", {"name": "1–200 Zeichen."})
    if max_uses is not None and max_uses < 1:
        raise ValidationFailed("Mindestens 1 Verwendung.", {"max_uses": "Mindestens 1."})
    plain = new_token("prov")
    token = ProvisioningToken(
        tenant_id=tenant.id,
        name=name,
        token_hash=token_hash(plain),
        group_id=group_id,
        max_uses=max_uses,
        created_at=now,
        created_by_id=user.id,
    )
    session.add(token)
    session.flush()
    audit.record(
        session,
        now=now,
        action="display.provisioning_create",
        object_type="provisioning_token",
        object_id=token.id,
        actor=user,
        tenant_id=tenant.id,
        details={"name": name, "max_uses": max_uses},
    )
    return token, plain


def revoke_provisioning_token(
    session: Session, tenant: Tenant, user: User, token_id: int, now: datetime
) -> ProvisioningToken:
    token = session.get(ProvisioningToken, token_id)
    if token is None or token.tenant_id != tenant.id:
        raise NotFound("Diesen Bereitstellungsschlüssel gibt es nicht.")
    if token.revoked_at is None:
        token.revoked_at = now
        audit.record(
            session,
            now=now,
            action="display.provisioning_revoke",
            object_type="provisioning_token",
            object_id=token.id,
            actor=user,
            tenant_id=tenant.id,
            details={"name": token.name},
        )
    return token


def revoke_display(session: Session, display: Display, user: User, now: datetime) -> None:
    """The display's token stops working at once (401 on the next request)."""
    if display.token_hash is None or display.revoked_at is not None:
        raise Conflict("Diese Anzeige ist nicht gekoppelt.")
    display.revoked_at = now
    display.token_hash = None
    session.flush()
    audit.record(
        session,
        now=now,
        action="display.revoke",
        object_type="display",
        object_id=display.id,
        actor=user,
        tenant_id=display.tenant_id,
        details={"name": display.name},
    )
