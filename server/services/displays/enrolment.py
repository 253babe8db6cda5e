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
from . import reports

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


@dataclass
class Pending:
    """A device with a new identity under the hostname of an existing display: it shows a
    pairing code until staff choose "Gerät tauschen" or a new display."""

    pairing: PairingRequest
    secret: str


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
    session: Session,
    *,
    player_version: str,
    hostname: str,
    remote_addr: str,
    now: datetime,
    device_key: str = "",
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
        device_key_hash=token_hash(device_key) if device_key else None,
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
    # Pairing a code onto a display is how a device is swapped: the new identity replaces
    # the old one, whose token _issue has just replaced.
    display.device_key_hash = pairing.device_key_hash or display.device_key_hash
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
    device_key: str = "",
    remote_addr: str = "",
) -> Issued | Pending:
    """Enrol a player by provisioning key (D6), keeping one display per device.

    The same device identity returns its display (a reboot of a read-only Pi, a wiped
    cache); a new identity under the hostname of a display that has one is held as a
    "Gerät tauschen" candidate for staff instead of becoming a silent duplicate.
    """
    prov = session.scalar(
        select(ProvisioningToken).where(
            ProvisioningToken.token_hash == token_hash(provisioning_token)
        )
    )
    if prov is None or prov.revoked_at is not None:
        raise PermissionDenied("Der Bereitstellungsschlüssel ist unbekannt oder widerrufen.")
    # Players without an identity (older versions) keep the old rule: a new display.
    key_hash = token_hash(device_key) if device_key else None
    known = _display_for(session, prov.tenant_id, key_hash, hostname, now) if key_hash else None
    # A new identity for a display with one, or any device for a display staff revoked:
    # staff decide.
    if known is not None and (
        known.device_key_hash not in (None, key_hash) or known.revoked_at is not None
    ):
        pairing, secret = start_pairing(
            session,
            player_version=player_version,
            hostname=hostname,
            remote_addr=remote_addr,
            now=now,
            device_key=device_key,
        )
        pairing.candidate_display_id = known.id
        pairing.provisioning_token_id = prov.id
        session.flush()
        return Pending(pairing, secret)
    if known is not None and key_hash is not None:
        return _reenrol(session, known, key_hash, player_version, hostname, now)
    if prov.max_uses is not None and prov.uses >= prov.max_uses:
        raise PermissionDenied("Der Bereitstellungsschlüssel ist aufgebraucht.")
    name = (hostname or "").strip()[:150] or "Neues Gerät"
    display = Display(
        tenant_id=prov.tenant_id,
        name=f"{name} (neu)",
        hostname=hostname[:200],
        player_version=player_version[:50],
        created_at=now,
        device_key_hash=key_hash,
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


def _display_for(
    session: Session, tenant_id: int, key_hash: str, hostname: str, now: datetime
) -> Display | None:
    # The display of this device identity; else an offline one of the same hostname (a
    # re-imaged device, or a display enrolled before players had an identity). A device
    # cannot be in two places: while that display is online, or before it was ever seen
    # (devices of a roll-out enrolling at once), a second device sharing its hostname
    # ("raspberrypi") is a new display. Retired ones never count.
    active = (Display.tenant_id == tenant_id, Display.retired_at.is_(None))
    own = session.scalar(select(Display).where(*active, Display.device_key_hash == key_hash))
    name = hostname.strip()[:200]
    if own is not None or not name:
        return own
    same_name = session.scalar(
        select(Display).where(*active, Display.hostname == name).order_by(Display.id).limit(1)
    )
    if same_name is None or same_name.last_seen is None or reports.is_online(same_name, now):
        return None
    return same_name


def _reenrol(
    session: Session,
    display: Display,
    key_hash: str,
    player_version: str,
    hostname: str,
    now: datetime,
) -> Issued:
    adopted = display.device_key_hash is None
    display.device_key_hash = key_hash
    display.player_version = player_version[:50] or display.player_version
    display.hostname = hostname[:200] or display.hostname
    token = _issue(display, now)
    session.flush()
    audit.record(
        session,
        now=now,
        action="display.reenrolled",
        object_type="display",
        object_id=display.id,
        actor="player",
        tenant_id=display.tenant_id,
        details={"method": "provisioning", "hostname": hostname, "identity_adopted": adopted},
    )
    return Issued(display, token)


def swap_candidates(session: Session, tenant: Tenant, now: datetime) -> list[PairingRequest]:
    """Devices waiting for staff to decide "Gerät tauschen" (newest first)."""
    return list(
        session.scalars(
            select(PairingRequest)
            .join(Display, Display.id == PairingRequest.candidate_display_id)
            .where(
                Display.tenant_id == tenant.id,
                PairingRequest.display_id.is_(None),
                PairingRequest.expires_at > now,
            )
            .order_by(PairingRequest.id.desc())
        )
    )


def decide_swap(
    session: Session,
    tenant: Tenant,
    user: User,
    pairing_id: int,
    now: datetime,
    *,
    as_new: bool,
) -> Display:
    """Staff take a waiting device as the candidate display's new device ("Gerät
    tauschen", its records stay) or as a display of its own."""
    pairing = session.get(PairingRequest, pairing_id)
    candidate = pairing.candidate_display if pairing is not None else None
    if pairing is None or candidate is None or candidate.tenant_id != tenant.id:
        raise NotFound("Dieses wartende Gerät gibt es nicht (mehr).")
    if pairing.display_id is not None or pairing.expires_at <= now:
        raise Conflict(
            "Über dieses Gerät wurde bereits entschieden oder die Anfrage ist abgelaufen."
        )
    target = candidate
    if as_new:
        name = (pairing.hostname or "Neues Gerät")[:150]
        target = Display(
            tenant_id=tenant.id, name=f"{name} (neu)", hostname=pairing.hostname, created_at=now
        )
        prov = pairing.provisioning_token
        if prov is not None and prov.group is not None:
            target.groups.append(prov.group)
        session.add(target)
        session.flush()
    pair(session, tenant, user, pairing.code, target, now)
    return target


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


def retire_display(session: Session, display: Display, user: User, now: datetime) -> None:
    """Außer Betrieb: the token stops working, the record and its evidence stay, and its
    device identity no longer returns it (a re-enrolled device becomes a new display)."""
    if display.retired_at is not None:
        raise Conflict("Diese Anzeige ist bereits außer Betrieb.")
    display.retired_at = now
    display.revoked_at = display.revoked_at or now
    display.token_hash = None
    session.flush()
    audit.record(
        session,
        now=now,
        action="display.retire",
        object_type="display",
        object_id=display.id,
        actor=user,
        tenant_id=display.tenant_id,
        details={"name": display.name},
    )


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
