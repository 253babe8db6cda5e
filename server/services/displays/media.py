"""The Kommune's media library (issue 16): a picture is uploaded once and used by any
number of mixed-in content items on any of the Kommune's displays. Files are stored by
hash, so the same picture is one file however often it is used or uploaded."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ...domain.errors import Conflict, NotFound
from ...models import ContentItem, Tenant, User
from ...models.displays import MediaFile
from ...services.files import StoredBlob
from .. import audit


def register(
    session: Session, tenant: Tenant, user: User, stored: StoredBlob, name: str, now: datetime
) -> MediaFile:
    """The library entry of an uploaded (already checked) picture; one per file."""
    media = session.scalar(
        select(MediaFile).where(MediaFile.tenant_id == tenant.id, MediaFile.sha256 == stored.sha256)
    )
    if media is not None:
        return media
    media = MediaFile(
        tenant_id=tenant.id,
        name=(name or "Bild").strip()[:300] or "Bild",
        sha256=stored.sha256,
        media_type=stored.media_type,
        size=stored.size,
        uploaded_at=now,
        uploaded_by_id=user.id,
    )
    session.add(media)
    session.flush()
    audit.record(
        session,
        now=now,
        action="display.media_add",
        object_type="display_media",
        object_id=media.id,
        actor=user,
        tenant_id=tenant.id,
        details={"name": media.name, "sha256": media.sha256},
    )
    return media


def library(session: Session, tenant: Tenant) -> list[tuple[MediaFile, int]]:
    """Every picture of the Kommune with the number of content items using it."""
    uses = (
        select(ContentItem.image_sha256, func.count().label("n"))
        .where(ContentItem.tenant_id == tenant.id)
        .group_by(ContentItem.image_sha256)
        .subquery()
    )
    rows = session.execute(
        select(MediaFile, func.coalesce(uses.c.n, 0))
        .outerjoin(uses, uses.c.image_sha256 == MediaFile.sha256)
        .where(MediaFile.tenant_id == tenant.id)
        .order_by(MediaFile.name, MediaFile.id)
    ).all()
    return [(m, int(n)) for m, n in rows]


def get(session: Session, tenant: Tenant, media_id: int) -> MediaFile:
    media = session.get(MediaFile, media_id)
    if media is None or media.tenant_id != tenant.id:
        raise NotFound("Dieses Bild gibt es in der Mediathek nicht.")
    return media


def as_blob(media: MediaFile) -> StoredBlob:
    return StoredBlob(sha256=media.sha256, size=media.size, media_type=media.media_type)


def remove(session: Session, tenant: Tenant, user: User, media_id: int, now: datetime) -> None:
    """Remove a picture nobody uses any more (Conflict while a content item shows it)."""
    media = get(session, tenant, media_id)
    used = session.scalar(
        select(func.count())
        .select_from(ContentItem)
        .where(ContentItem.tenant_id == tenant.id, ContentItem.image_sha256 == media.sha256)
    )
    if used:
        raise Conflict(
            f"„{media.name}“ wird noch von {used} Inhalt(en) gezeigt; bitte zuerst diese "
            "Inhalte entfernen oder ein anderes Bild wählen."
        )
    audit.record(
        session,
        now=now,
        action="display.media_remove",
        object_type="display_media",
        object_id=media.id,
        actor=user,
        tenant_id=tenant.id,
        details={"name": media.name},
    )
    session.delete(media)
    session.flush()
