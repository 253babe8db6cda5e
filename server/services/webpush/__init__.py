"""Web Push to citizens' browsers (RFC 8030), encrypted (RFC 8291, aes128gcm) and
signed with the installation's VAPID key (RFC 8292).

The key pair is made once per installation and kept in the database (table
``installation_key``), so every host signs with the same key and subscriptions
survive restarts. ``pywebpush`` encrypts (through ``http_ece``) and posts; ``py_vapid``
signs; the HTTP side is the adapter ``server/sources/webpush.py``.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from py_vapid import Vapid02
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ...domain.errors import ValidationFailed
from ...models import InstallationKey, PushSubscription, Tenant

VAPID_KEY_NAME = "vapid_private_pem"
MAX_ENDPOINT = 1000


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64url_decode(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def vapid_key(session: Session, now: datetime) -> Vapid02:
    """The installation's VAPID key pair, made on first use."""
    row = session.get(InstallationKey, VAPID_KEY_NAME)
    if row is None:
        key = Vapid02()
        key.generate_keys()
        pem = key.private_pem().decode()
        try:
            with session.begin_nested():  # another process may make it at the same moment
                session.add(InstallationKey(name=VAPID_KEY_NAME, value=pem, created_at=now))
        except IntegrityError:
            pass
        row = session.get(InstallationKey, VAPID_KEY_NAME)
        assert row is not None
    return Vapid02.from_pem(row.value.encode())


def application_server_key(key: Vapid02) -> str:
    """The public key as the browser's ``applicationServerKey`` (base64url, X9.62)."""
    raw = key.public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return _b64url(raw)


# The push services of the browsers in use; the server posts only there, so a
# subscription cannot make it send requests to arbitrary hosts.
DEFAULT_PUSH_SERVICES = (
    "fcm.googleapis.com",
    "push.services.mozilla.com",
    "push.apple.com",
    "notify.windows.com",
)


def endpoint_allowed(endpoint: str, services: tuple[str, ...]) -> bool:
    parts = urlsplit(endpoint)
    host = parts.hostname or ""
    if parts.scheme == "http":  # only a push service on this machine (tests, demo)
        return host == "127.0.0.1" and "127.0.0.1" in services
    return parts.scheme == "https" and any(host == s or host.endswith("." + s) for s in services)


def _check_subscription(data: Any, services: tuple[str, ...]) -> tuple[str, str, str]:
    errors: dict[str, str] = {}
    endpoint = data.get("endpoint") if isinstance(data, dict) else None
    keys = data.get("keys") if isinstance(data, dict) else None
    if not isinstance(endpoint, str) or len(endpoint) > MAX_ENDPOINT:
        errors["endpoint"] = "Die Adresse des Push-Dienstes fehlt oder ist zu lang."
    elif not endpoint_allowed(endpoint, services):
        errors["endpoint"] = "Dieser Push-Dienst wird nicht unterstützt."
    p256dh = keys.get("p256dh") if isinstance(keys, dict) else None
    auth = keys.get("auth") if isinstance(keys, dict) else None
    try:
        if not isinstance(p256dh, str) or len(_b64url_decode(p256dh)) != 65:
            raise ValueError
        if not isinstance(auth, str) or len(_b64url_decode(auth)) != 16:
            raise ValueError
    except ValueError:
        errors["keys"] = "Die Schlüssel des Abonnements sind ungültig."
    if errors:
        raise ValidationFailed("Das Push-Abonnement ist ungültig.", errors)
    return str(endpoint), str(p256dh), str(auth)


def subscribe(
    session: Session,
    tenant: Tenant,
    data: Any,
    now: datetime,
    services: tuple[str, ...] = DEFAULT_PUSH_SERVICES,
    notices: bool = False,
) -> PushSubscription:
    """Store (or refresh) a browser's subscription for the tenant's warnings."""
    endpoint, p256dh, auth = _check_subscription(data, services)
    sub = session.scalar(select(PushSubscription).where(PushSubscription.endpoint == endpoint))
    if sub is None:
        sub = PushSubscription(endpoint=endpoint, created_at=now)
        session.add(sub)
    sub.tenant_id = tenant.id
    sub.p256dh, sub.auth = p256dh, auth
    sub.warnings, sub.notices = True, notices
    session.flush()
    return sub


def unsubscribe(session: Session, endpoint: str) -> None:
    session.execute(delete(PushSubscription).where(PushSubscription.endpoint == endpoint))
