"""The "nachrichtlicher Hinweis" (L13): its text, when it is due, and its posting."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from ..domain import posting
from ..domain.errors import ValidationFailed
from ..domain.workflow import Action
from ..models import Notice, User
from . import audit
from .notice_rules import _check


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
