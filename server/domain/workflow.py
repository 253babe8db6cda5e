"""Which lifecycle step a person may take on a notice (L2, L3, L5, L13, L14).

One table of rules for both sides: the services refuse a step with the error this
module names, and the staff pages offer only the steps it allows, so a button never
promises what the service then refuses.

Four eyes by content (L3): nobody who changed the text of a version — created it,
edited it (text or attachments) or submitted it — may release that version. A
correction is a new version; only the people who changed *it* count.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from .errors import Conflict, DomainError, PermissionDenied

STAFF_ROLES = frozenset({"editor", "approver", "alerter"})


class Action(StrEnum):
    """A step on one notice; the value is the key the staff pages use."""

    EDIT = "edit"
    UPLOAD = "upload"  # add or remove an attachment of the working version
    SUBMIT = "submit"
    RECALL = "recall"
    SEND_BACK = "send_back"
    RELEASE = "release"
    CORRECT = "correct"
    WITHDRAW = "withdraw"
    DELETE = "delete"
    HINT = "hint"


REQUIRED_ROLES: dict[Action, frozenset[str]] = {
    Action.EDIT: frozenset({"editor"}),
    Action.UPLOAD: frozenset({"editor"}),
    Action.SUBMIT: frozenset({"editor"}),
    Action.RECALL: frozenset({"editor"}),
    Action.SEND_BACK: frozenset({"approver"}),
    Action.RELEASE: frozenset({"approver"}),
    Action.CORRECT: frozenset({"editor"}),
    Action.WITHDRAW: frozenset({"approver"}),
    Action.DELETE: frozenset({"editor"}),
    Action.HINT: frozenset({"editor", "approver"}),
}


class FourEyesViolation(PermissionDenied):
    """The person changed the version they want to release."""


@dataclass(frozen=True)
class NoticeState:
    """What the rules need to know about a notice.

    ``working`` is the status of the newest unreleased version (``"draft"`` or
    ``"submitted"``), or None when every version is released."""

    status: str  # draft | submitted | released | withdrawn
    working: str | None
    has_current: bool = False
    ever_released: bool = False
    hint_required: bool = False
    provided: bool = False


@dataclass(frozen=True)
class Actor:
    """The person asking: their effective roles in the tenant and whether they
    changed the working version (created, edited or submitted it)."""

    roles: frozenset[str]
    changed_working_version: bool = False


def effective_roles(
    held: set[str] | frozenset[str], *, system_admin: bool = False
) -> frozenset[str]:
    """A tenant admin or system admin counts as every staff role of the tenant."""
    if system_admin or "admin" in held:
        return STAFF_ROLES | {"admin"}
    return frozenset(held)


NO_RIGHT = "Für diese Aktion fehlt Ihnen die Berechtigung."
WITHDRAWN_NO_CHANGE = "Eine zurückgezogene Bekanntmachung kann nicht mehr geändert werden."
RELEASED_IMMUTABLE = (
    "Diese Fassung ist freigegeben und kann nicht mehr geändert werden. "
    "Legen Sie eine Berichtigung an."
)
NOTHING_SUBMITTED = "Es liegt keine Fassung zur Freigabe vor."
FOUR_EYES = (
    "Vier-Augen-Prinzip: Sie haben diese Fassung angelegt, geändert oder vorgelegt. "
    "Eine andere Person muss sie freigeben."
)


def _editing(action: Action, state: NoticeState, actor: Actor) -> DomainError | None:
    if state.status == "withdrawn":
        return Conflict(WITHDRAWN_NO_CHANGE)
    if state.working is None:
        return Conflict(RELEASED_IMMUTABLE)
    if state.working != "submitted":
        return None
    if action is Action.SUBMIT:
        return Conflict("Diese Fassung liegt bereits zur Freigabe vor.")
    if action is Action.EDIT:
        return Conflict(
            "Diese Fassung liegt zur Freigabe vor. Holen Sie sie zurück, um sie zu ändern."
        )
    return Conflict("Diese Fassung liegt zur Freigabe vor und kann nicht geändert werden.")


def _reviewing(action: Action, state: NoticeState, actor: Actor) -> DomainError | None:
    if state.status == "withdrawn":
        return Conflict("Eine zurückgezogene Bekanntmachung kann nicht mehr freigegeben werden.")
    if state.working != "submitted":
        return Conflict(NOTHING_SUBMITTED)
    if action is Action.RELEASE and actor.changed_working_version:
        return FourEyesViolation(FOUR_EYES)
    return None


def _correcting(action: Action, state: NoticeState, actor: Actor) -> DomainError | None:
    if not state.has_current:
        return Conflict("Nur freigegebene Bekanntmachungen können berichtigt werden.")
    if state.status == "withdrawn":
        return Conflict("Eine zurückgezogene Bekanntmachung kann nicht berichtigt werden.")
    if state.working is not None:
        return Conflict("Es gibt bereits eine Berichtigung in Arbeit.")
    return None


def _withdrawing(action: Action, state: NoticeState, actor: Actor) -> DomainError | None:
    if state.status == "withdrawn":
        return Conflict("Diese Bekanntmachung ist bereits zurückgezogen.")
    if state.status != "released":
        return Conflict("Nur freigegebene Bekanntmachungen können zurückgezogen werden.")
    return None


def _deleting(action: Action, state: NoticeState, actor: Actor) -> DomainError | None:
    if state.ever_released or state.status != "draft":
        return Conflict("Nur nie freigegebene Entwürfe können gelöscht werden.")
    return None


def _hinting(action: Action, state: NoticeState, actor: Actor) -> DomainError | None:
    if not state.hint_required or not state.provided:
        return Conflict("Für diese Bekanntmachung ist kein Hinweis nötig.")
    if state.status == "withdrawn":
        return Conflict("Für eine zurückgezogene Bekanntmachung ist kein Hinweis mehr nötig.")
    return None


_RULES = {
    Action.EDIT: _editing,
    Action.UPLOAD: _editing,
    Action.SUBMIT: _editing,
    Action.RECALL: _reviewing,
    Action.SEND_BACK: _reviewing,
    Action.RELEASE: _reviewing,
    Action.CORRECT: _correcting,
    Action.WITHDRAW: _withdrawing,
    Action.DELETE: _deleting,
    Action.HINT: _hinting,
}


def refusal(action: Action, state: NoticeState, actor: Actor) -> DomainError | None:
    """Why ``actor`` may not take ``action`` now (a German, staff-safe error), or None.

    A missing role is reported before the state, so people without the right learn
    nothing about the notice's stage. The rule per kind of step is one small function
    (editing, reviewing, correcting, withdrawing, deleting, the hint)."""
    if not (actor.roles & REQUIRED_ROLES[action]):
        return PermissionDenied(NO_RIGHT)
    return _RULES[action](action, state, actor)


def allowed_actions(state: NoticeState, actor: Actor) -> frozenset[Action]:
    """Every step ``actor`` may take now; what the staff pages offer."""
    return frozenset(a for a in Action if refusal(a, state, actor) is None)


def require(action: Action, state: NoticeState, actor: Actor) -> None:
    """Raise the error of :func:`refusal`, if there is one."""
    error = refusal(action, state, actor)
    if error is not None:
        raise error
