"""The notice lifecycle: draft → submitted → released (→ in Aushang → ended), plus
corrections (new versions), withdrawal and the hint notice (L1–L6, L11–L15)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..domain import posting
from ..domain.errors import ValidationFailed
from ..domain.integrity import sha256_hex, version_canonical_text
from ..domain.workflow import Action
from ..models import Notice, NoticeVersion, Tenant, User
from . import audit, search
from .notice_input import (
    NoticeInput,
    _apply_notice_fields,
    _apply_version_fields,
    input_from_version,
    validate_input,
)
from .notice_rules import (  # noqa: F401  (the rest re-exported for notices.<name>)
    _check,
    _lock,
    _record_editor,
    allowed_actions,
    get_notice,
    has_role,
    is_public,
    notice_phase,
    refusal,
    require_role,
    workflow_actor,
    workflow_state,
)


def _next_number(session: Session, tenant: Tenant, now: datetime) -> str:
    year = posting.local_date(now, tenant.timezone).year
    prefix = f"{year}-"
    count = session.scalar(
        select(func.count())
        .select_from(Notice)
        .where(Notice.tenant_id == tenant.id, Notice.number.like(prefix + "%"))
    )
    return f"{prefix}{(count or 0) + 1:04d}"


# --- commands ----------------------------------------------------------------------


def create_notice(
    session: Session,
    tenant: Tenant,
    author: User,
    data: NoticeInput,
    now: datetime,
    *,
    source: str = "manual",
) -> Notice:
    """A new notice with its first draft version."""
    require_role(author, tenant.id, "editor")
    if data.category_id is None:
        data.extra_errors.setdefault("category", "Bitte eine Kategorie wählen.")
    validate_input(session, tenant, data, for_release=False)
    notice = Notice(
        tenant_id=tenant.id,
        number=_next_number(session, tenant, now),
        status="draft",
        created_by_id=author.id,
        created_at=now,
        updated_at=now,
        source=source,
    )
    _apply_notice_fields(notice, tenant, data)
    version = NoticeVersion(number=1, status="draft", created_by_id=author.id, created_at=now)
    _apply_version_fields(version, data)
    _record_editor(version, author, "created", now)
    notice.versions.append(version)
    session.add(notice)
    session.flush()
    audit.record(
        session,
        now=now,
        action="notice.create",
        object_type="notice",
        object_id=notice.id,
        actor=author,
        tenant_id=tenant.id,
        details={"number": notice.number, "title": version.title},
    )
    return notice


def _content(notice: Notice, version: NoticeVersion) -> tuple[object, ...]:
    """What a save can change, to tell an edit from a save without changes."""
    return (
        notice.category_id,
        notice.posting_start,
        notice.posting_end,
        notice.contains_personal_data,
        version.title,
        version.summary,
        version.body_md,
        version.issuing_office,
        version.file_number,
        version.legal_basis,
        version.signed_on,
        version.signatory_name,
        version.signatory_function,
        version.correction_note,
    )


def update_draft(
    session: Session, notice: Notice, editor: User, data: NoticeInput, now: datetime
) -> NoticeVersion:
    """Change the working version. A released version is immutable (L5 → 409)."""
    _check(Action.EDIT, notice, editor)
    _lock(session, notice)
    _check(Action.EDIT, notice, editor)
    version = notice.working_version
    assert version is not None
    if data.category_id is None:
        data.category_id = notice.category_id
    validate_input(session, notice.tenant, data, for_release=False)
    if notice.released_versions:
        # A correction changes the text, not the window, category or Bereitstellung.
        data.category_id = notice.category_id
        data.posting_start, data.posting_end = notice.posting_start, notice.posting_end
        data.contains_personal_data = notice.contains_personal_data or data.contains_personal_data
    before = _content(notice, version)
    _apply_notice_fields(notice, notice.tenant, data)
    _apply_version_fields(version, data)
    if _content(notice, version) != before:
        _record_editor(version, editor, "edited", now)
    notice.updated_at = now
    session.flush()
    audit.record(
        session,
        now=now,
        action="notice.update",
        object_type="notice_version",
        object_id=version.id,
        actor=editor,
        tenant_id=notice.tenant_id,
        details={"number": notice.number, "version": version.number},
    )
    return version


def submit(session: Session, notice: Notice, editor: User, now: datetime) -> NoticeVersion:
    """Hand the working version to an approver; it must be complete (L2)."""
    _check(Action.SUBMIT, notice, editor)
    _lock(session, notice)
    _check(Action.SUBMIT, notice, editor)
    version = notice.working_version
    assert version is not None
    validate_input(session, notice.tenant, input_from_version(notice, version), for_release=True)
    version.status = "submitted"
    version.submitted_by_id = editor.id
    version.submitted_at = now
    _record_editor(version, editor, "submitted", now)
    if notice.status == "draft":
        notice.status = "submitted"
    notice.updated_at = now
    session.flush()
    audit.record(
        session,
        now=now,
        action="notice.submit",
        object_type="notice_version",
        object_id=version.id,
        actor=editor,
        tenant_id=notice.tenant_id,
        details={"number": notice.number, "version": version.number},
    )
    return version


def send_back(
    session: Session, notice: Notice, approver: User, comment: str, now: datetime
) -> NoticeVersion:
    """An approver returns a submitted version to the editors, with a reason."""
    _check(Action.SEND_BACK, notice, approver)
    _lock(session, notice)
    _check(Action.SEND_BACK, notice, approver)
    version = notice.working_version
    assert version is not None
    if not comment.strip():
        raise ValidationFailed(
            "Bitte begründen Sie die Rückgabe.", {"comment": "Begründung fehlt."}
        )
    version.status = "draft"
    if notice.status == "submitted":
        notice.status = "draft"
    notice.updated_at = now
    session.flush()
    audit.record(
        session,
        now=now,
        action="notice.send_back",
        object_type="notice_version",
        object_id=version.id,
        actor=approver,
        tenant_id=notice.tenant_id,
        details={"comment": comment.strip()},
    )
    return version


def recall(session: Session, notice: Notice, editor: User, now: datetime) -> NoticeVersion:
    """The author takes a submitted version back to edit it."""
    _check(Action.RECALL, notice, editor)
    _lock(session, notice)
    _check(Action.RECALL, notice, editor)
    version = notice.working_version
    assert version is not None
    version.status = "draft"
    if notice.status == "submitted":
        notice.status = "draft"
    session.flush()
    audit.record(
        session,
        now=now,
        action="notice.recall",
        object_type="notice_version",
        object_id=version.id,
        actor=editor,
        tenant_id=notice.tenant_id,
    )
    return version


def release(
    session: Session,
    notice: Notice,
    approver: User,
    comment: str,
    now: datetime,
) -> NoticeVersion:
    """Four-eyes release (L3) of the submitted version.

    Sets the content hash (L6); the first release fixes the Bereitstellung (L4); a
    correction replaces the current version, the old one stays reachable (L5).
    """
    _check(Action.RELEASE, notice, approver)
    _lock(session, notice)
    # Again with what is stored now: a parallel release, recall or edit may have won.
    _check(Action.RELEASE, notice, approver)
    version = notice.working_version
    assert version is not None
    category = notice.category
    validate_input(session, notice.tenant, input_from_version(notice, version), for_release=True)
    if not category.binding_channels:
        raise ValidationFailed(
            f"Für die Kategorie „{category.name}“ ist keine rechtsverbindliche "
            "Bekanntmachungsform festgelegt (Hauptsatzung).",
            {"category": "Keine verbindliche Bekanntmachungsform hinterlegt."},
        )
    assert notice.starts_at is not None and notice.posting_end is not None
    if notice.ends_at is not None and notice.ends_at <= now and not notice.released_versions:
        raise ValidationFailed(
            "Die Aushangfrist ist bereits abgelaufen.",
            {"posting_end": "Das Ende der Aushangfrist liegt in der Vergangenheit."},
        )
    fields = {
        "title": version.title,
        "summary": version.summary,
        "body_md": version.body_md,
        "issuing_office": version.issuing_office,
        "file_number": version.file_number,
        "legal_basis": version.legal_basis,
        "signed_on": version.signed_on,
        "signatory_name": version.signatory_name,
        "signatory_function": version.signatory_function,
        "posting_start": notice.posting_start,
        "posting_end": notice.posting_end,
    }
    version.content_hash = sha256_hex(
        version_canonical_text(fields, [a.sha256 for a in version.attachments])
    )
    version.status = "released"
    version.released_by_id = approver.id
    version.released_at = now
    version.release_comment = comment.strip()
    previous = notice.current_version
    notice.current_version = version
    if notice.provided_at is None:
        notice.provided_at = posting.provided_at(now, notice.starts_at)
        notice.provided_on = posting.local_date(notice.provided_at, notice.tenant.timezone)
    notice.hint_required = any(c.kind == "internet" for c in category.binding_channels)
    notice.status = "released"
    search.index_notice(notice)
    notice.updated_at = now
    session.flush()
    audit.record(
        session,
        now=now,
        action="notice.release",
        object_type="notice_version",
        object_id=version.id,
        actor=approver,
        tenant_id=notice.tenant_id,
        details={
            "number": notice.number,
            "version": version.number,
            "content_hash": version.content_hash,
            "comment": version.release_comment,
            "replaces_version": previous.number if previous else None,
            "provided_on": notice.provided_on,
        },
    )
    return version


# The lifecycle's other parts live in their own modules (none imports this one);
# re-exported so that callers keep using ``notices.<name>``.
from .notice_changes import delete_draft, start_correction, withdraw  # noqa: E402,F401
from .notice_files import add_attachment, attachable_version, remove_attachment  # noqa: E402,F401
from .notice_hint import hint_due_on, hint_overdue, hint_text, mark_hint_posted  # noqa: E402,F401
from .notice_input import (  # noqa: E402,F401
    FIELD_LABELS,
    MAX_BODY,
    MAX_LENGTHS,
    REQUIRED_FOR_RELEASE,
    TEXT_INPUTS,
    safe_filename,
    strip_control,
)
