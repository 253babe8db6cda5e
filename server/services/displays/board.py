"""What makes a screen look alive and official (issue 16): the Kommune's name and crest
that every display of the tenant shows in its head line, beside the date and time.

The crest is uploaded by the tenant admin, checked by content (PNG or JPEG, at most
CREST_MAX_BYTES and a sensible number of pixels) and reaches the players as a file of the
manifest like every slide, so it is cached and verified by hash on the device.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, BinaryIO

from sqlalchemy.orm import Session

from ... import notify
from ...domain.errors import ValidationFailed
from ...models import Tenant, User
from ...models.displays import TenantCrest
from .. import audit
from ..files import BlobStore, store_upload
from . import slides

CREST_MAX_BYTES = 2 * 1024 * 1024


def crest_of(session: Session, tenant_id: int) -> TenantCrest | None:
    return session.get(TenantCrest, tenant_id)


def board_json(session: Session, tenant: Tenant, store: BlobStore) -> dict[str, Any]:
    """The manifest's ``board``: the Kommune's name and its crest (a file ref, or null)."""
    crest = crest_of(session, tenant.id)
    ref = None
    if crest is not None and store.exists(crest.sha256):
        ref = slides.blob(crest.sha256, crest.size, crest.media_type)
    return {"kommune": tenant.name, "crest": ref}


def set_crest(
    session: Session,
    store: BlobStore,
    tenant: Tenant,
    user: User,
    stream: BinaryIO,
    filename: str,
    now: datetime,
) -> TenantCrest:
    """Store an uploaded crest; ValidationFailed (field ``crest``) for anything but a
    readable PNG or JPEG of a size a display can decode."""
    if not filename:
        raise ValidationFailed("Bitte eine Bilddatei wählen.", {"crest": "Keine Datei gewählt."})
    try:
        stored = store_upload(store, stream, filename, max_bytes=CREST_MAX_BYTES)
    except ValidationFailed as exc:
        raise ValidationFailed(
            exc.message, {"crest": next(iter(exc.field_errors.values()), exc.message)}
        ) from None
    if stored.media_type not in ("image/png", "image/jpeg"):
        raise ValidationFailed(
            "Das Wappen muss ein Bild sein (PNG oder JPEG), kein PDF.",
            {"crest": "Nur PNG oder JPEG."},
        )
    too_large = slides.image_too_large(store.path_for(stored.sha256))
    if too_large is not None:
        raise ValidationFailed("Das Bild eignet sich nicht als Wappen.", {"crest": too_large})
    crest = crest_of(session, tenant.id) or TenantCrest(tenant_id=tenant.id)
    crest.sha256, crest.media_type, crest.size = stored.sha256, stored.media_type, stored.size
    crest.updated_at, crest.updated_by_id = now, user.id
    session.add(crest)
    _record(session, tenant, user, now, "display.crest_set", sha256=stored.sha256)
    return crest


def remove_crest(session: Session, tenant: Tenant, user: User, now: datetime) -> bool:
    crest = crest_of(session, tenant.id)
    if crest is None:
        return False
    session.delete(crest)
    _record(session, tenant, user, now, "display.crest_remove")
    return True


def _record(
    session: Session, tenant: Tenant, user: User, now: datetime, action: str, **details: str
) -> None:
    # Every screen of the Kommune shows the head line: they all get a new manifest.
    notify.mark_changed(session, notify.tenant_scope(tenant.id))
    session.flush()
    audit.record(
        session,
        now=now,
        action=action,
        object_type="tenant",
        object_id=tenant.id,
        actor=user,
        tenant_id=tenant.id,
        details=details,
    )
