"""Attachments of a notice's working version (L5: a released version's files never
change; a correction starts with copies pointing to the same blobs)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from ..domain.errors import NotFound
from ..domain.workflow import Action
from ..models import Attachment, Notice, NoticeVersion, User
from . import audit
from .files import StoredBlob
from .notice_input import safe_filename, strip_control
from .notice_rules import _check, _lock, _record_editor


def attachable_version(notice: Notice, editor: User) -> NoticeVersion:
    """The version an upload would go to; raises like ``add_attachment`` would.

    Lets the web layer refuse before it stores any bytes."""
    _check(Action.UPLOAD, notice, editor)
    version = notice.working_version
    assert version is not None
    return version


def add_attachment(
    session: Session,
    notice: Notice,
    editor: User,
    blob: StoredBlob,
    filename: str,
    title: str,
    now: datetime,
    *,
    text: str = "",
) -> Attachment:
    """Attach an uploaded file to the working version; ``text`` is what the search
    knows of its content (a PDF's text, extracted once at upload)."""
    attachable_version(notice, editor)
    _lock(session, notice)
    version = attachable_version(notice, editor)
    safe_name = safe_filename(filename)
    safe_title = strip_control(title).strip()
    attachment = Attachment(
        filename=safe_name,
        title=(safe_title or safe_name)[:300],
        media_type=blob.media_type,
        size=blob.size,
        sha256=blob.sha256,
        position=len(version.attachments),
        text_content=text,
    )
    version.attachments.append(attachment)
    _record_editor(version, editor, "edited", now)
    notice.updated_at = now
    session.flush()
    audit.record(
        session,
        now=now,
        action="notice.attachment_add",
        object_type="notice_version",
        object_id=version.id,
        actor=editor,
        tenant_id=notice.tenant_id,
        details={"filename": attachment.filename, "sha256": blob.sha256, "size": blob.size},
    )
    return attachment


def remove_attachment(
    session: Session, notice: Notice, editor: User, attachment_id: int, now: datetime
) -> None:
    attachable_version(notice, editor)
    _lock(session, notice)
    version = attachable_version(notice, editor)
    attachment = next((a for a in version.attachments if a.id == attachment_id), None)
    if attachment is None:
        raise NotFound("Diese Anlage gibt es nicht.")
    version.attachments.remove(attachment)
    for i, a in enumerate(version.attachments):
        a.position = i
    _record_editor(version, editor, "edited", now)
    session.flush()
    audit.record(
        session,
        now=now,
        action="notice.attachment_remove",
        object_type="notice_version",
        object_id=version.id,
        actor=editor,
        tenant_id=notice.tenant_id,
        details={"filename": attachment.filename, "sha256": attachment.sha256},
    )
