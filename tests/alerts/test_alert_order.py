"""Order by CAP identity and time (issue 14, W6): older versions, out-of-order
arrivals and Updates/Cancels that predate what they reference."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from server.domain.alerts import ChangeKind, EndReason, LifecycleState, Phase, Source, receive
from server.domain.alerts.manual import build_cancel, build_update
from server.models import AlertDocument, AlertRecord
from server.sources.cap import build_cap_xml

from .test_alerts_api import TEXTS, TOWN_ARS, _allow, _message, _post, now, world  # noqa: F401
from .test_alerts_lifecycle import msg, showing

T0 = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)


def _apply(sequence):
    """Feed ``(message, version)`` pairs through ``receive``; return state and changes."""
    state, changes = LifecycleState(), []
    for i, (message, version) in enumerate(sequence):
        state, got = receive(
            state,
            message,
            T0 + timedelta(minutes=i),
            source=Source.MOWAS,
            key=message.identifier,
            version=version,
        )
        changes.append(got)
    return state, changes


A = msg("A", T0)
A_LATER = msg("A", T0 + timedelta(minutes=10), headline="Neue Lage")
A_CANCEL = msg("A", T0 + timedelta(minutes=20), msg_type="Cancel")
UPDATE_B = msg("B", T0 + timedelta(minutes=5), msg_type="Update", refs=[A])
CANCEL_C = msg("C", T0 + timedelta(minutes=30), msg_type="Cancel", refs=[UPDATE_B])
EARLY_CANCEL = msg("C", T0 - timedelta(minutes=5), msg_type="Cancel", refs=[A])
EARLY_UPDATE = msg("B", T0 - timedelta(minutes=1), msg_type="Update", refs=[A])


@pytest.mark.parametrize(
    ("sequence", "expected", "last_kind"),
    [
        # NINA hands out an older version after the Cancel: nothing re-activates.
        ([(A, 1), (A_CANCEL, 3), (A, 1)], {"A": Phase.ALL_CLEAR}, ChangeKind.OUT_OF_ORDER),
        # A newer version first, the older one afterwards.
        ([(A_LATER, 2), (A, 1)], {"A": Phase.ACTIVE}, ChangeKind.OUT_OF_ORDER),
        # Same sent, higher NINA version: applied.
        ([(A, 1), (A, 2)], {"A": Phase.ACTIVE}, ChangeKind.UPDATED),
        # Same sent, lower NINA version: older, kept aside.
        ([(A, 2), (A, 1)], {"A": Phase.ACTIVE}, ChangeKind.OUT_OF_ORDER),
        # Same sent and version: a duplicate.
        ([(A, 1), (A, 1)], {"A": Phase.ACTIVE}, ChangeKind.DUPLICATE),
        # A Cancel sent before the alert it cancels is refused.
        ([(A, None), (EARLY_CANCEL, None)], {"A": Phase.ACTIVE}, ChangeKind.REFUSED),
        # So is an Update.
        ([(A, None), (EARLY_UPDATE, None)], {"A": Phase.ACTIVE}, ChangeKind.REFUSED),
        # In order: Update replaces, Cancel ends.
        (
            [(A, None), (UPDATE_B, None), (CANCEL_C, None)],
            {"C": Phase.ALL_CLEAR},
            ChangeKind.ALL_CLEAR,
        ),
        # The original arriving after its Update is not shown.
        ([(UPDATE_B, None), (A, None)], {"B": Phase.ACTIVE}, ChangeKind.IGNORED),
    ],
)
def test_active_set_after_sequence(sequence, expected, last_kind):
    state, changes = _apply(sequence)
    assert showing(state) == expected
    assert last_kind in {c.kind for c in changes[-1]}


def test_refusal_names_its_reason_and_both_times():
    state, changes = _apply([(A, None), (EARLY_CANCEL, None)])
    (change,) = changes[-1]
    assert change.reason is EndReason.PREDATES_REFERENCE
    assert "Aufhebung" in change.detail and "„A“" in change.detail
    assert T0.isoformat() in change.detail
    assert state.entries["C"].phase is Phase.ENDED


def test_api_refuses_predated_cancel_and_update_with_422(client, world, now, session):  # noqa: F811
    _allow(world, session, now)
    first = _message("ORD-1", now, TOWN_ARS)
    assert _post(client, world["token"], build_cap_xml(first)).status_code == 201

    early = build_cancel(first, identifier="ORD-2", sent=now - timedelta(minutes=10))
    r = _post(client, world["token"], build_cap_xml(early))
    assert r.status_code == 422, r.get_json()
    assert r.mimetype == "application/problem+json"
    problem = r.get_json()
    assert problem["reason"] == "predates_reference"
    assert "ORD-1" in problem["detail"]
    # Sent again: still refused, never a silent 200.
    assert _post(client, world["token"], build_cap_xml(early)).status_code == 422

    update = build_update(
        first, identifier="ORD-3", sent=now - timedelta(minutes=1), warnstufe=2, texts=TEXTS
    )
    assert _post(client, world["token"], build_cap_xml(update)).status_code == 422

    phases = dict(session.execute(select(AlertRecord.identifier, AlertRecord.phase)).all())
    assert phases == {"ORD-1": "active", "ORD-2": "ended", "ORD-3": "ended"}
    # Both refused messages are archived byte for byte (W14).
    refused = session.scalar(select(AlertRecord).where(AlertRecord.identifier == "ORD-2"))
    assert refused.end_reason == "predates_reference"
    assert refused.document.content == build_cap_xml(early)


def test_api_keeps_an_older_version_aside(client, world, now, session):  # noqa: F811
    _allow(world, session, now)
    newer = _message("ORD-V", now, TOWN_ARS)
    older = _message("ORD-V", now - timedelta(minutes=30), TOWN_ARS, stufe=3)
    assert _post(client, world["token"], build_cap_xml(newer)).status_code == 201
    r = _post(client, world["token"], build_cap_xml(older))
    assert r.status_code == 200
    body = r.get_json()
    assert body["applied"] is False and body["outOfOrder"] is True
    record = session.scalar(select(AlertRecord).where(AlertRecord.identifier == "ORD-V"))
    assert record.warnstufe == 1  # the newer message still stands
    assert record.document.content == build_cap_xml(newer)
    directions = session.scalars(
        select(AlertDocument.direction).where(AlertDocument.alert_id == record.id)
    ).all()
    assert sorted(directions) == ["out_of_order", "received"]
