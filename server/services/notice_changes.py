"""After the release: a Berichtigung as a new version (L5), withdrawal or early end
(L14), and discarding a draft that was never released."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from ..domain.errors import ValidationFailed
from ..domain.workflow import Action
from ..models import Attachment, Notice, NoticeVersion, User
from . import audit
from .notice_input import _apply_version_fields, input_from_version
from .notice_rules import _check, _lock, _record_editor, require_role


def start_correction(
    session: Session, notice: Notice, editor: User, note: str, now: datetime
) -> NoticeVersion:
    """A Berichtigung: a new draft version linked to the current one (L5)."""
    _check(Action.CORRECT, notice, editor)
    _lock(session, notice)
    _check(Action.CORRECT, notice, editor)
    current = notice.current_version
    assert current is not None
    version = NoticeVersion(
        number=notice.versions[-1].number + 1,
        status="draft",
        created_by_id=editor.id,
        created_at=now,
        corrects_version_id=current.id,
    )
    data = input_from_version(notice, current)
    data.correction_note = note
    _apply_version_fields(version, data)
    _record_editor(version, editor, "created", now)
    for a in current.attachments:
        version.attachments.append(
            Attachment(
                filename=a.filename,
                title=a.title,
                media_type=a.media_type,
                size=a.size,
                sha256=a.sha256,
                position=a.position,
                text_content=a.text_content,
            )
        )
    notice.versions.append(version)
    notice.updated_at = now
    session.flush()
    audit.record(
        session,
        now=now,
        action="notice.correction_start",
        object_type="notice_version",
        object_id=version.id,
        actor=editor,
        tenant_id=notice.tenant_id,
        details={"number": notice.number, "corrects_version": current.number, "note": note},
    )
    return version


def withdraw(
    session: Session,
    notice: Notice,
    approver: User,
    kind: str,
    reason: str,
    now: datetime,
) -> Notice:
    """Withdrawal or early removal (L14): status, reason and time; nothing deleted."""
    require_role(approver, notice.tenant_id, "approver")
    if kind not in ("withdrawn", "ended_early"):
        raise ValidationFailed("Unbekannte Art der Rücknahme.", {"kind": "Bitte wählen."})
    if not reason.strip():
        raise ValidationFailed("Bitte einen Grund angeben.", {"reason": "Grund fehlt."})
    _check(Action.WITHDRAW, notice, approver)
    _lock(session, notice)
    _check(Action.WITHDRAW, notice, approver)
    notice.status = "withdrawn"
    notice.withdrawn_at = now
    notice.withdrawn_by_id = approver.id
    notice.withdrawal_kind = kind
    notice.withdrawal_reason = reason.strip()
    notice.updated_at = now
    session.flush()
    audit.record(
        session,
        now=now,
        action=f"notice.{kind}",
        object_type="notice",
        object_id=notice.id,
        actor=approver,
        tenant_id=notice.tenant_id,
        details={"number": notice.number, "reason": notice.withdrawal_reason},
    )
    return notice


def delete_draft(session: Session, notice: Notice, editor: User, now: datetime) -> None:
    """Drafts that were never released may be discarded; released ones never (L14)."""
    _check(Action.DELETE, notice, editor)
    _lock(session, notice)
    _check(Action.DELETE, notice, editor)
    audit.record(
        session,
        now=now,
        action="notice.delete_draft",
        object_type="notice",
        object_id=notice.id,
        actor=editor,
        tenant_id=notice.tenant_id,
        details={"number": notice.number, "title": notice.latest_version.title},
    )
    session.delete(notice)
    session.flush()
