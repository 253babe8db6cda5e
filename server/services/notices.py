"""The notice lifecycle: draft → submitted → released (→ in Aushang → ended), plus
corrections (new versions), withdrawal and the hint notice (L1–L6, L11–L15)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ..domain import posting, workflow
from ..domain.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from ..domain.integrity import sha256_hex, version_canonical_text
from ..domain.workflow import Action
from ..models import Attachment, Category, Notice, NoticeVersion, Tenant, User
from ..models.notices import VersionEditor
from ..text import render_markdown
from . import audit, search
from .files import StoredBlob

FIELD_LABELS = {
    "title": "Titel",
    "category": "Kategorie",
    "issuing_office": "Erlassende Stelle",
    "file_number": "Aktenzeichen",
    "signed_on": "Datum der Unterzeichnung",
    "signatory_name": "Unterzeichnet von (Name)",
    "signatory_function": "Funktion der unterzeichnenden Person",
    "posting_start": "Aushang vom",
    "posting_end": "Aushang bis",
    "body_md": "Text",
}
REQUIRED_FOR_RELEASE = (
    "title",
    "category",
    "issuing_office",
    "file_number",
    "signed_on",
    "signatory_name",
    "signatory_function",
    "posting_start",
    "posting_end",
)
MAX_LENGTHS = {
    "title": 300,
    "issuing_office": 300,
    "file_number": 100,
    "legal_basis": 500,
    "signatory_name": 200,
    "signatory_function": 200,
}
MAX_BODY = 200_000
TEXT_INPUTS = (
    "title",
    "summary",
    "body_md",
    "issuing_office",
    "file_number",
    "legal_basis",
    "signatory_name",
    "signatory_function",
    "correction_note",
)


def strip_control(text: str) -> str:
    """``text`` without control characters (NUL, ESC, DEL, line breaks): PostgreSQL
    refuses NUL, and none of them belongs in a name. Format characters (emoji joiners,
    bidi marks) stay: names are shown literally, escaped (tests/server/test_xss_corpus)."""
    return "".join(c for c in text if unicodedata.category(c) != "Cc")


def safe_filename(filename: str) -> str:
    """The last path segment of an uploaded file's name, printable, at most 255
    characters; "anlage" when nothing is left."""
    name = strip_control(filename.replace("\\", "/").rsplit("/", 1)[-1]).strip()
    return name[:255] or "anlage"


@dataclass
class NoticeInput:
    """What staff enter for a notice; every field optional until release."""

    title: str = ""
    category_id: int | None = None
    summary: str = ""
    body_md: str = ""
    issuing_office: str = ""
    file_number: str = ""
    legal_basis: str = ""
    signed_on: date | None = None
    signatory_name: str = ""
    signatory_function: str = ""
    posting_start: date | None = None
    posting_end: date | None = None
    contains_personal_data: bool = False
    correction_note: str = ""
    extra_errors: dict[str, str] = field(default_factory=dict)


# --- permissions -------------------------------------------------------------------


def has_role(user: User, tenant_id: int, *roles: str) -> bool:
    """System admins may do everything; others need one of ``roles`` in the tenant
    (a tenant admin counts as every staff role of that tenant)."""
    if user.is_system_admin:
        return True
    held = user.roles_in(tenant_id)
    return bool(held & (set(roles) | {"admin"}))


def require_role(user: User, tenant_id: int, *roles: str) -> None:
    if not has_role(user, tenant_id, *roles):
        raise PermissionDenied("Für diese Aktion fehlt Ihnen die Berechtigung.")


def workflow_state(notice: Notice) -> workflow.NoticeState:
    wv = notice.working_version
    return workflow.NoticeState(
        status=notice.status,
        working=wv.status if wv is not None else None,
        has_current=notice.current_version_id is not None,
        ever_released=bool(notice.released_versions),
        hint_required=notice.hint_required,
        provided=notice.provided_on is not None,
    )


def workflow_actor(user: User, notice: Notice) -> workflow.Actor:
    wv = notice.working_version
    return workflow.Actor(
        roles=workflow.effective_roles(
            user.roles_in(notice.tenant_id), system_admin=user.is_system_admin
        ),
        changed_working_version=wv is not None and user.id in wv.editor_ids,
    )


def refusal(action: Action, notice: Notice, user: User) -> DomainError | None:
    """Why ``user`` may not take ``action`` on ``notice`` now, or None (the rules live
    in server.domain.workflow; the staff pages ask the same question)."""
    return workflow.refusal(action, workflow_state(notice), workflow_actor(user, notice))


def allowed_actions(notice: Notice, user: User) -> frozenset[Action]:
    return workflow.allowed_actions(workflow_state(notice), workflow_actor(user, notice))


def _check(action: Action, notice: Notice, user: User) -> None:
    workflow.require(action, workflow_state(notice), workflow_actor(user, notice))


def _lock(session: Session, notice: Notice) -> None:
    """Serialise lifecycle steps on one notice, then re-read its state.

    A no-op UPDATE of the notice row is the lock that works on both databases: on
    PostgreSQL it takes the row lock (a parallel step waits until this transaction
    ends), on SQLite it takes the database's write lock. What was loaded before may be
    stale by then, so the notice and its versions are read again: of two parallel
    releases or corrections, the second sees the first and is refused."""
    result = session.execute(
        update(Notice)
        .where(Notice.id == notice.id)
        .values(updated_at=Notice.updated_at)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount == 0:  # type: ignore[attr-defined]
        raise NotFound("Diese Bekanntmachung gibt es nicht mehr.")
    loaded = list(notice.__dict__.get("versions") or [])
    session.expire(notice)
    for v in loaded:
        session.expire(v)


def _record_editor(version: NoticeVersion, user: User, kind: str, now: datetime) -> None:
    """Remember that ``user`` changed ``version`` (four eyes by content)."""
    for e in version.editors:
        if e.user_id == user.id and e.kind == kind:
            e.last_at = now
            return
    version.editors.append(VersionEditor(user=user, kind=kind, first_at=now, last_at=now))


# --- queries -----------------------------------------------------------------------


def get_notice(session: Session, tenant: Tenant, number: str) -> Notice:
    notice = session.scalar(
        select(Notice).where(Notice.tenant_id == tenant.id, Notice.number == number)
    )
    if notice is None:
        raise NotFound("Diese Bekanntmachung gibt es nicht.")
    return notice


def notice_phase(notice: Notice, now: datetime) -> posting.Phase:
    return posting.phase(notice.status, notice.starts_at, notice.ends_at, now)


def is_public(notice: Notice, now: datetime) -> bool:
    """Whether the public may see the notice at all (L7, L15)."""
    if notice.current_version_id is None or notice.provided_at is None:
        return False
    if now < notice.provided_at:
        return False
    if notice.contains_personal_data:
        # Personal data leaves the public pages after the period or on withdrawal.
        ph = notice_phase(notice, now)
        return ph in (posting.Phase.IN_AUSHANG, posting.Phase.SCHEDULED)
    return True


# --- validation --------------------------------------------------------------------


def _validate_input(
    session: Session, tenant: Tenant, data: NoticeInput, *, for_release: bool
) -> Category | None:
    errors: dict[str, str] = dict(data.extra_errors)
    category = None
    if data.category_id is not None:
        category = session.get(Category, data.category_id)
        if category is None or category.tenant_id != tenant.id:
            errors["category"] = "Bitte eine Kategorie dieser Kommune wählen."
            category = None
    if not data.title.strip():
        errors["title"] = "Bitte einen Titel angeben."
    for name in TEXT_INPUTS:
        # PostgreSQL refuses NUL in text; no notice needs any other control character.
        if any(unicodedata.category(c) == "Cc" and c not in "\n\r\t" for c in getattr(data, name)):
            errors[name] = "Steuerzeichen (z. B. NUL) sind hier nicht erlaubt."
    for name, limit in MAX_LENGTHS.items():
        if len(getattr(data, name) or "") > limit:
            errors[name] = f"Höchstens {limit} Zeichen."
    if len(data.body_md) > MAX_BODY:
        errors["body_md"] = f"Der Text ist zu lang (höchstens {MAX_BODY} Zeichen)."
    if for_release:
        for name in REQUIRED_FOR_RELEASE:
            value = category if name == "category" else getattr(data, name)
            if value in (None, "") or (isinstance(value, str) and not value.strip()):
                errors.setdefault(name, f"{FIELD_LABELS[name]} fehlt.")
    if data.posting_start is not None or data.posting_end is not None or for_release:
        if data.posting_start is not None and data.posting_end is not None:
            try:
                posting.make_window(
                    data.posting_start,
                    data.posting_end,
                    min_days=category.min_days if category else 0,
                    tz=tenant.timezone,
                )
            except ValidationFailed as exc:
                for k, v in exc.field_errors.items():
                    errors.setdefault(k, v)
        elif data.posting_start is None and data.posting_end is not None:
            errors.setdefault("posting_start", "Bitte auch den Beginn des Aushangs angeben.")
        elif data.posting_end is None and data.posting_start is not None:
            errors.setdefault("posting_end", "Bitte auch das Ende des Aushangs angeben.")
    if errors:
        missing = [FIELD_LABELS.get(k, k) for k in errors]
        raise ValidationFailed(
            "Bitte prüfen Sie die markierten Felder: " + ", ".join(missing) + ".", errors
        )
    return category


def input_from_version(notice: Notice, version: NoticeVersion) -> NoticeInput:
    return NoticeInput(
        title=version.title,
        category_id=notice.category_id,
        summary=version.summary,
        body_md=version.body_md,
        issuing_office=version.issuing_office,
        file_number=version.file_number,
        legal_basis=version.legal_basis,
        signed_on=version.signed_on,
        signatory_name=version.signatory_name,
        signatory_function=version.signatory_function,
        posting_start=notice.posting_start,
        posting_end=notice.posting_end,
        contains_personal_data=notice.contains_personal_data,
        correction_note=version.correction_note,
    )


def _apply_version_fields(version: NoticeVersion, data: NoticeInput) -> None:
    version.title = data.title.strip()
    version.summary = data.summary.strip()
    version.body_md = data.body_md
    version.body_html = render_markdown(data.body_md)
    version.issuing_office = data.issuing_office.strip()
    version.file_number = data.file_number.strip()
    version.legal_basis = data.legal_basis.strip()
    version.signed_on = data.signed_on
    version.signatory_name = data.signatory_name.strip()
    version.signatory_function = data.signatory_function.strip()
    version.correction_note = data.correction_note.strip()


def _apply_notice_fields(notice: Notice, tenant: Tenant, data: NoticeInput) -> None:
    notice.category_id = data.category_id  # type: ignore[assignment]
    notice.posting_start = data.posting_start
    notice.posting_end = data.posting_end
    if data.posting_start and data.posting_end:
        notice.starts_at = posting.local_midnight(data.posting_start, tenant.timezone)
        notice.ends_at = posting.local_midnight(
            data.posting_end + timedelta(days=1), tenant.timezone
        )
    else:
        notice.starts_at = notice.ends_at = None
    notice.contains_personal_data = data.contains_personal_data


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
    _validate_input(session, tenant, data, for_release=False)
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
    _validate_input(session, notice.tenant, data, for_release=False)
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


def submit(session: Session, notice: Notice, editor: User, now: datetime) -> NoticeVersion:
    """Hand the working version to an approver; it must be complete (L2)."""
    _check(Action.SUBMIT, notice, editor)
    _lock(session, notice)
    _check(Action.SUBMIT, notice, editor)
    version = notice.working_version
    assert version is not None
    _validate_input(session, notice.tenant, input_from_version(notice, version), for_release=True)
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
    _validate_input(session, notice.tenant, input_from_version(notice, version), for_release=True)
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


def hint_text(notice: Notice, public_url: str) -> str:
    """The "nachrichtlicher Hinweis" for the paper board or Amtsblatt (L13)."""
    version = notice.current_version
    assert version is not None and notice.provided_on is not None
    return (
        f"Nachrichtlicher Hinweis: {notice.tenant.name} hat die Bekanntmachung "
        f"„{version.title}“ (Az. {version.file_number}) am "
        f"{notice.provided_on:%d.%m.%Y} im Internet unter {public_url} bereitgestellt. "
        "Die Bekanntmachung ist mit der Bereitstellung bewirkt. Sie kann während der "
        "Öffnungszeiten in der Verwaltung eingesehen werden."
    )


def hint_due_on(notice: Notice) -> date | None:
    if not notice.hint_required or notice.provided_on is None:
        return None
    return notice.provided_on + timedelta(days=notice.tenant.hint_due_days)


def hint_overdue(notice: Notice, now: datetime) -> bool:
    due = hint_due_on(notice)
    if due is None or notice.hint_posted_on is not None or notice.status == "withdrawn":
        return False
    return posting.local_date(now, notice.tenant.timezone) > due


def mark_hint_posted(
    session: Session, notice: Notice, user: User, posted_on: date, note: str, now: datetime
) -> None:
    _check(Action.HINT, notice, user)
    if notice.provided_on and posted_on < notice.provided_on:
        raise ValidationFailed(
            "Der Hinweis kann nicht vor der Bereitstellung ausgehängt worden sein.",
            {"posted_on": "Datum liegt vor dem Bereitstellungstag."},
        )
    notice.hint_posted_on = posted_on
    notice.hint_posted_by_id = user.id
    notice.hint_note = note.strip()
    session.flush()
    audit.record(
        session,
        now=now,
        action="notice.hint_posted",
        object_type="notice",
        object_id=notice.id,
        actor=user,
        tenant_id=notice.tenant_id,
        details={"posted_on": posted_on, "note": notice.hint_note},
    )
