"""What staff enter for a notice, and its validation (L2, L11): field labels, required
fields for release, lengths, control characters and the posting window."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy.orm import Session

from ..domain import posting
from ..domain.errors import ValidationFailed
from ..models import Category, Notice, NoticeVersion, Tenant
from ..text import render_markdown

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


def _category(session: Session, tenant: Tenant, data: NoticeInput, errors: dict[str, str]):
    if data.category_id is None:
        return None
    category = session.get(Category, data.category_id)
    if category is None or category.tenant_id != tenant.id:
        errors["category"] = "Bitte eine Kategorie dieser Kommune wählen."
        return None
    return category


def _text_errors(data: NoticeInput, errors: dict[str, str]) -> None:
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


def _required_errors(data: NoticeInput, category: Category | None, errors: dict[str, str]) -> None:
    for name in REQUIRED_FOR_RELEASE:
        value = category if name == "category" else getattr(data, name)
        if value in (None, "") or (isinstance(value, str) and not value.strip()):
            errors.setdefault(name, f"{FIELD_LABELS[name]} fehlt.")


def _window_errors(
    tenant: Tenant, data: NoticeInput, category: Category | None, errors: dict[str, str]
) -> None:
    start, end = data.posting_start, data.posting_end
    if start is not None and end is not None:
        try:
            posting.make_window(
                start, end, min_days=category.min_days if category else 0, tz=tenant.timezone
            )
        except ValidationFailed as exc:
            for k, v in exc.field_errors.items():
                errors.setdefault(k, v)
    elif start is None and end is not None:
        errors.setdefault("posting_start", "Bitte auch den Beginn des Aushangs angeben.")
    elif end is None and start is not None:
        errors.setdefault("posting_end", "Bitte auch das Ende des Aushangs angeben.")


def validate_input(
    session: Session, tenant: Tenant, data: NoticeInput, *, for_release: bool
) -> Category | None:
    """The notice's category, or ValidationFailed naming every field to correct."""
    errors: dict[str, str] = dict(data.extra_errors)
    category = _category(session, tenant, data, errors)
    _text_errors(data, errors)
    if for_release:
        _required_errors(data, category, errors)
    _window_errors(tenant, data, category, errors)
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
