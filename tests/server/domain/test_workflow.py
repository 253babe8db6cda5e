"""Table tests of the notice workflow rules (server.domain.workflow)."""

from __future__ import annotations

import pytest

from server.domain.errors import Conflict, PermissionDenied
from server.domain.workflow import (
    Action,
    Actor,
    FourEyesViolation,
    NoticeState,
    allowed_actions,
    effective_roles,
    refusal,
)

A = Action
EDITOR = Actor(frozenset({"editor"}))
APPROVER = Actor(frozenset({"approver"}))
BOTH = Actor(frozenset({"editor", "approver"}))
BOTH_CHANGED = Actor(frozenset({"editor", "approver"}), changed_working_version=True)
ALERTER = Actor(frozenset({"alerter"}))

DRAFT = NoticeState("draft", "draft")
SUBMITTED = NoticeState("submitted", "submitted")
RELEASED = NoticeState(
    "released", None, has_current=True, ever_released=True, hint_required=True, provided=True
)
CORRECTION = NoticeState("released", "draft", has_current=True, ever_released=True)
CORRECTION_SUBMITTED = NoticeState("released", "submitted", has_current=True, ever_released=True)
WITHDRAWN = NoticeState("withdrawn", None, has_current=True, ever_released=True)
WITHDRAWN_WITH_CORRECTION = NoticeState(
    "withdrawn", "submitted", has_current=True, ever_released=True
)


@pytest.mark.parametrize(
    ("state", "actor", "expected"),
    [
        (DRAFT, EDITOR, {A.EDIT, A.UPLOAD, A.SUBMIT, A.DELETE}),
        (DRAFT, APPROVER, set()),
        (SUBMITTED, EDITOR, {A.RECALL}),
        (SUBMITTED, APPROVER, {A.SEND_BACK, A.RELEASE}),
        (SUBMITTED, BOTH, {A.RECALL, A.SEND_BACK, A.RELEASE}),
        # Four eyes by content: who changed the version may send it back, not release it.
        (SUBMITTED, BOTH_CHANGED, {A.RECALL, A.SEND_BACK}),
        (RELEASED, EDITOR, {A.CORRECT, A.HINT}),
        (RELEASED, APPROVER, {A.WITHDRAW, A.HINT}),
        (CORRECTION, EDITOR, {A.EDIT, A.UPLOAD, A.SUBMIT}),
        (CORRECTION, APPROVER, {A.WITHDRAW}),
        (CORRECTION_SUBMITTED, BOTH_CHANGED, {A.RECALL, A.SEND_BACK, A.WITHDRAW}),
        (CORRECTION_SUBMITTED, APPROVER, {A.SEND_BACK, A.RELEASE, A.WITHDRAW}),
        (WITHDRAWN, BOTH, set()),
        (WITHDRAWN_WITH_CORRECTION, BOTH, set()),
        (SUBMITTED, ALERTER, set()),
        (RELEASED, ALERTER, set()),
    ],
)
def test_allowed_actions(state, actor, expected):
    assert allowed_actions(state, actor) == expected


@pytest.mark.parametrize(
    ("action", "state", "actor", "error", "words"),
    [
        (A.RELEASE, SUBMITTED, EDITOR, PermissionDenied, "Berechtigung"),
        (A.RELEASE, SUBMITTED, BOTH_CHANGED, FourEyesViolation, "Vier-Augen-Prinzip"),
        (A.RELEASE, DRAFT, APPROVER, Conflict, "keine Fassung zur Freigabe"),
        (A.RELEASE, RELEASED, APPROVER, Conflict, "keine Fassung zur Freigabe"),
        (A.RELEASE, WITHDRAWN_WITH_CORRECTION, APPROVER, Conflict, "zurückgezogene"),
        (A.EDIT, SUBMITTED, EDITOR, Conflict, "Holen Sie sie zurück"),
        (A.EDIT, RELEASED, EDITOR, Conflict, "Berichtigung"),
        (A.SUBMIT, SUBMITTED, EDITOR, Conflict, "bereits zur Freigabe"),
        (A.CORRECT, CORRECTION, EDITOR, Conflict, "bereits eine Berichtigung"),
        (A.CORRECT, DRAFT, EDITOR, Conflict, "Nur freigegebene"),
        (A.CORRECT, WITHDRAWN, EDITOR, Conflict, "zurückgezogene"),
        (A.WITHDRAW, WITHDRAWN, APPROVER, Conflict, "bereits zurückgezogen"),
        (A.DELETE, RELEASED, EDITOR, Conflict, "nie freigegebene"),
        (A.HINT, DRAFT, EDITOR, Conflict, "kein Hinweis"),
    ],
)
def test_refusals_name_the_reason(action, state, actor, error, words):
    exc = refusal(action, state, actor)
    assert type(exc) is error and words in exc.message


def test_a_missing_role_is_named_before_the_state():
    assert type(refusal(A.RELEASE, WITHDRAWN, EDITOR)) is PermissionDenied


def test_admins_count_as_every_staff_role():
    assert {"editor", "approver", "alerter"} <= effective_roles({"admin"})
    assert {"editor", "approver"} <= effective_roles(set(), system_admin=True)
    assert effective_roles({"alerter"}) == {"alerter"}
