"""The ownership rule as a table (pure, no database): who may reuse or reference what."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from server.domain.alerts.model import Alert
from server.domain.alerts.ownership import (
    Issuer,
    OwnershipRefused,
    RefusalReason,
    Stored,
    check_ownership,
    lookup_names,
)

SENT = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
A = Issuer(tenant_id=1, sender="ls@a.example")
A_OTHER_SENDER = Issuer(tenant_id=1, sender="zweite@a.example")
B_AS_A = Issuer(tenant_id=2, sender="ls@a.example")  # tenant B claiming A's sender
NINA = Issuer.nina_source()


def _msg(ident: str, msg_type: str = "Alert", references: str | None = None) -> Alert:
    return Alert(
        identifier=ident,
        sender="ls@a.example",
        sent=SENT,
        status="Actual",
        msg_type=msg_type,
        scope="Public",
        references=references,
    )


REF = "ls@a.example,X-1,2026-12-03T11:00:00+01:00"


@pytest.mark.parametrize(
    ("issuer", "alert", "stored", "refused"),
    [
        # identifier reuse
        (A, _msg("X-1"), [Stored("X-1", A)], None),
        (A_OTHER_SENDER, _msg("X-1"), [Stored("X-1", A)], RefusalReason.IDENTIFIER_TAKEN),
        (B_AS_A, _msg("X-1"), [Stored("X-1", A)], RefusalReason.IDENTIFIER_TAKEN),
        (A, _msg("X-1"), [Stored("X-1", A, held=True)], RefusalReason.IDENTIFIER_TAKEN),
        (A, _msg("mow.X"), [Stored("mow.X", NINA)], RefusalReason.NINA_IDENTIFIER),
        (A, _msg("X"), [Stored("mow.X", NINA)], RefusalReason.NINA_IDENTIFIER),
        # references
        (A, _msg("X-2", "Update", REF), [Stored("X-1", A)], None),
        (B_AS_A, _msg("X-2", "Cancel", REF), [Stored("X-1", A)], RefusalReason.FOREIGN_REFERENCE),
        (
            A,
            _msg("X-2", "Update", REF.replace("ls@a", "fremd@b")),
            [Stored("X-1", A)],
            RefusalReason.FOREIGN_REFERENCE,
        ),
        (
            A,
            _msg("X-2", "Cancel", "a,mow.X,2026-12-03T11:00:00+01:00"),
            [Stored("mow.X", NINA)],
            RefusalReason.NINA_REFERENCE,
        ),
        # NINA's mixed format without prefixes still finds NINA's message
        (
            A,
            _msg("X-2", "Update", "X Y,2026-12-03T11:00:00+01:00"),
            [Stored("mow.X", NINA)],
            RefusalReason.NINA_REFERENCE,
        ),
        # a reference to nothing anybody holds is left to the lifecycle
        (B_AS_A, _msg("X-2", "Cancel", REF), [], None),
        (
            Issuer(tenant_id=None, sender="ls@a.example"),
            _msg("X-1"),
            [Stored("X-1", A)],
            RefusalReason.IDENTIFIER_TAKEN,
        ),
    ],
)
def test_check_ownership(issuer, alert, stored, refused):
    if refused is None:
        check_ownership(alert, issuer, stored)
        return
    with pytest.raises(OwnershipRefused) as info:
        check_ownership(alert, issuer, stored)
    assert info.value.reason is refused
    assert info.value.status == (409 if "identifier" in refused.value else 403)
    assert info.value.message


def test_lookup_names_cover_nina_prefixes():
    names = lookup_names(_msg("DE-1", "Update", "mow.DE-2 DE-3,2026-12-03T11:00:00+01:00"))
    assert {"DE-1", "DE-2", "mow.DE-2", "DE-3", "mow.DE-3", "dwd.DE-1"} <= names


def test_a_nina_scope_never_acts_for_anyone():
    assert not NINA.may_act_for(NINA)
    assert not NINA.may_act_for(A)
    assert A.may_act_for(replace(A))
    assert not A.may_act_for(A_OTHER_SENDER)
