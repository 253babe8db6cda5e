"""Lifecycle (W5, W6): examples and a Hypothesis state machine against a simple model."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    rule,
)

from server.domain.alerts import (
    Alert,
    ChangeKind,
    EndReason,
    Info,
    LifecycleConfig,
    LifecycleState,
    Phase,
    Source,
    deduplicate,
    observe_presence,
    receive,
    tick,
)

T0 = datetime(2026, 9, 10, 9, 0, tzinfo=UTC)  # Warntag 2026: 11:00 local
SENDER = "kats@example.org"


def msg(
    identifier: str,
    sent: datetime,
    *,
    msg_type="Alert",
    refs: list[Alert] = (),
    expires: datetime | None = None,
    severity="Extreme",
    codes=(),
    headline="Warnung",
):
    info = Info(
        categories=("Safety",),
        event="Gefahr",
        urgency="Immediate",
        severity=severity,
        certainty="Observed",
        language="de-DE",
        headline=headline,
        expires=expires,
    )
    references = " ".join(str(r.reference()) for r in refs) or None
    return Alert(
        identifier,
        SENDER,
        sent,
        "Actual",
        msg_type,
        "Public",
        codes=tuple(codes),
        references=references,
        infos=(info,),
    )


def showing(state: LifecycleState) -> dict[str, Phase]:
    return {t.key: t.phase for t in state.showing()}


def test_alert_update_cancel_and_all_clear_time():
    state = LifecycleState()
    a = msg("A", T0)
    state, changes = receive(state, a, T0, source=Source.MANUAL)
    assert [c.kind for c in changes] == [ChangeKind.CREATED]
    state, changes = receive(state, a, T0 + timedelta(seconds=5), source=Source.MANUAL)
    assert [c.kind for c in changes] == [ChangeKind.DUPLICATE]

    b = msg("B", T0 + timedelta(minutes=10), msg_type="Update", refs=[a], severity="Severe")
    state, changes = receive(state, b, T0 + timedelta(minutes=10), source=Source.MANUAL)
    assert {c.kind for c in changes} == {ChangeKind.ENDED, ChangeKind.UPDATED}
    assert showing(state) == {"B": Phase.ACTIVE}
    assert state.entries["A"].end_reason is EndReason.SUPERSEDED
    assert state.entries["A"].replaced_by == "B"

    cancel_at = T0 + timedelta(minutes=45)
    c = msg("C", cancel_at, msg_type="Cancel", refs=[b], severity="Extreme")
    state, changes = receive(state, c, cancel_at, source=Source.MANUAL)
    assert showing(state) == {"C": Phase.ALL_CLEAR}
    assert state.entries["B"].end_reason is EndReason.CANCELLED
    assert state.entries["C"].all_clear_until == cancel_at + timedelta(minutes=15)

    state, changes = tick(state, cancel_at + timedelta(minutes=14, seconds=59))
    assert changes == () and showing(state) == {"C": Phase.ALL_CLEAR}
    state, changes = tick(state, cancel_at + timedelta(minutes=15))
    assert showing(state) == {}
    assert state.entries["C"].end_reason is EndReason.ALL_CLEAR_OVER


def test_all_clear_duration_is_configurable():
    config = LifecycleConfig(all_clear_for=timedelta(minutes=2))
    state, _ = receive(LifecycleState(), msg("A", T0), T0, source=Source.API, config=config)
    c = msg("C", T0, msg_type="Cancel", refs=[msg("A", T0)])
    state, _ = receive(state, c, T0 + timedelta(minutes=1), source=Source.API, config=config)
    assert state.entries["C"].all_clear_until == T0 + timedelta(minutes=3)


def test_cancel_without_known_warning_shows_nothing():
    c = msg("C", T0, msg_type="Cancel", refs=[msg("never-seen", T0 - timedelta(hours=1))])
    state, changes = receive(LifecycleState(), c, T0, source=Source.MOWAS)
    assert showing(state) == {}
    assert changes[0].reason is EndReason.NOTHING_TO_CANCEL


def test_new_version_under_the_same_id_replaces_in_place():
    state, _ = receive(LifecycleState(), msg("mow.X", T0), T0, source=Source.MOWAS)
    v2 = msg("mow.X", T0 + timedelta(minutes=5), msg_type="Update", headline="neu")
    state, changes = receive(state, v2, T0 + timedelta(minutes=5), source=Source.MOWAS)
    assert [c.kind for c in changes] == [ChangeKind.UPDATED]
    assert state.entries["mow.X"].alert.headline == "neu"
    v3 = msg("mow.X", T0 + timedelta(minutes=9), msg_type="Cancel")
    state, _ = receive(state, v3, T0 + timedelta(minutes=9), source=Source.MOWAS)
    assert showing(state) == {"mow.X": Phase.ALL_CLEAR}


def test_expiry_ends_and_expired_messages_never_start():
    state, _ = receive(
        LifecycleState(), msg("A", T0, expires=T0 + timedelta(hours=1)), T0, source=Source.DWD
    )
    state, changes = tick(state, T0 + timedelta(hours=1))
    assert changes[0].reason is EndReason.EXPIRED and showing(state) == {}
    old = msg("B", T0 - timedelta(days=2), expires=T0 - timedelta(days=1))
    state, changes = receive(state, old, T0, source=Source.DWD)
    assert showing(state) == {} and changes[0].reason is EndReason.EXPIRED


def test_missing_from_dashboard_three_successful_polls_in_a_row():
    state, _ = receive(LifecycleState(), msg("A", T0), T0, source=Source.MOWAS)
    state, _ = observe_presence(state, [], T0)
    state, _ = observe_presence(state, [], T0)
    state, _ = observe_presence(state, ["A"], T0)  # back again: the count restarts
    state, _ = observe_presence(state, [], T0)
    state, changes = observe_presence(state, [], T0)
    assert showing(state) == {"A": Phase.ACTIVE} and changes == ()
    state, changes = observe_presence(state, [], T0)
    assert showing(state) == {} and changes[0].reason is EndReason.WITHDRAWN


def test_late_original_after_its_update_is_ignored():
    a = msg("A", T0)
    b = msg("B", T0 + timedelta(minutes=1), msg_type="Update", refs=[a])
    state, _ = receive(LifecycleState(), b, T0 + timedelta(minutes=1), source=Source.API)
    state, changes = receive(state, a, T0 + timedelta(minutes=2), source=Source.API)
    assert showing(state) == {"B": Phase.ACTIVE}
    assert changes[0].reason is EndReason.ALREADY_REPLACED


def test_same_warning_several_times_is_shown_once():
    dwd = "id:2.49.0.0.276.0.DWD.PVW.1687470000000.fe90b61b"
    state = LifecycleState()
    for key in ("dwd.1", "dwd.2", "dwd.3"):
        state, _ = receive(state, msg(key, T0, codes=[dwd]), T0, source=Source.DWD)
    state, _ = receive(state, msg("mow.1", T0, headline="anders"), T0, source=Source.MOWAS)
    state, _ = receive(state, msg("mow.2", T0, headline="anders"), T0, source=Source.MOWAS)
    assert len(state.showing()) == 5
    assert len(deduplicate(state.showing())) == 2


# --- Model-based property test -------------------------------------------------------

ALL_CLEAR_FOR = timedelta(minutes=15)


class LifecycleMachine(RuleBasedStateMachine):
    """Random Alert/Update/Cancel/duplicate/time/poll sequences against a plain model."""

    showing_ids = Bundle("showing_ids")

    def __init__(self) -> None:
        super().__init__()
        self.state = LifecycleState()
        self.now = T0
        self.counter = 0
        self.messages: dict[str, Alert] = {}
        self.active: dict[str, datetime | None] = {}  # id -> expires
        self.all_clear: dict[str, datetime] = {}  # id -> until
        self.missing: dict[str, int] = {}

    def _new_id(self) -> str:
        self.counter += 1
        return f"M{self.counter}"

    def _tick(self) -> None:
        self.state, _ = tick(self.state, self.now)
        for k, exp in list(self.active.items()):
            if exp is not None and exp <= self.now:
                del self.active[k]
        for k, until in list(self.all_clear.items()):
            if until <= self.now:
                del self.all_clear[k]

    def _expires(self, minutes: int | None) -> datetime | None:
        return None if minutes is None else self.now + timedelta(minutes=minutes)

    @rule(
        target=showing_ids,
        minutes=st.none() | st.integers(1, 180),
        severity=st.sampled_from(["Extreme", "Severe", "Minor", "Unknown"]),
    )
    def issue(self, minutes, severity):
        key = self._new_id()
        m = msg(key, self.now, expires=self._expires(minutes), severity=severity)
        self.messages[key] = m
        self.state, _ = receive(self.state, m, self.now, source=Source.API)
        self.active[key] = m.expires
        self.missing[key] = 0
        self._tick()
        return key

    @rule(target=showing_ids, old=consumes(showing_ids), minutes=st.none() | st.integers(1, 180))
    def update(self, old, minutes):
        key = self._new_id()
        m = msg(
            key,
            self.now,
            msg_type="Update",
            refs=[self.messages[old]],
            expires=self._expires(minutes),
        )
        self.messages[key] = m
        self.state, _ = receive(self.state, m, self.now, source=Source.API)
        replaced = old in self.active or old in self.all_clear
        self.active.pop(old, None)
        self.all_clear.pop(old, None)
        self.active[key] = m.expires
        self.missing[key] = 0
        assert bool(replaced) == (self.state.entries[old].replaced_by == key)
        self._tick()
        return key

    @rule(old=consumes(showing_ids), severity=st.sampled_from(["Extreme", "Minor", "Unknown"]))
    def cancel(self, old, severity):
        key = self._new_id()
        m = msg(key, self.now, msg_type="Cancel", refs=[self.messages[old]], severity=severity)
        self.messages[key] = m
        self.state, _ = receive(self.state, m, self.now, source=Source.API)
        if old in self.active or old in self.all_clear:
            self.active.pop(old, None)
            self.all_clear.pop(old, None)
            self.all_clear[key] = self.now + ALL_CLEAR_FOR
        self._tick()

    @rule(old=showing_ids)
    def resend(self, old):
        before = self.state
        self.state, changes = receive(self.state, self.messages[old], self.now, source=Source.API)
        assert [c.kind for c in changes] == [ChangeKind.DUPLICATE]
        assert self.state is before

    @rule(seconds=st.integers(1, 3 * 3600))
    def wait(self, seconds):
        self.now += timedelta(seconds=seconds)
        self._tick()

    @rule(data=st.data())
    def poll(self, data):
        present = data.draw(st.sets(st.sampled_from(sorted(self.messages) or ["none"])))
        self.state, _ = observe_presence(self.state, present, self.now)
        for k in list(self.active):
            if k in present:
                self.missing[k] = 0
            else:
                self.missing[k] += 1
                if self.missing[k] >= 3:
                    del self.active[k]
        self._tick()

    @invariant()
    def matches_model(self):
        expected = {k: Phase.ACTIVE for k in self.active}
        expected.update({k: Phase.ALL_CLEAR for k in self.all_clear})
        assert showing(self.state) == expected

    @invariant()
    def ended_entries_say_why(self):
        for t in self.state.entries.values():
            if t.phase is Phase.ENDED:
                assert t.end_reason is not None and t.ended_at is not None
            if t.phase is Phase.ACTIVE and t.alert.expires is not None:
                assert t.alert.expires > self.now
            if t.phase is Phase.ALL_CLEAR:
                assert t.alert.msg_type == "Cancel"
                assert t.all_clear_until == t.received_at + ALL_CLEAR_FOR > self.now


LifecycleMachine.TestCase.settings = settings(
    max_examples=60, stateful_step_count=30, deadline=None
)
TestLifecycleMachine = LifecycleMachine.TestCase


def test_replace_helper_keeps_frozen_state():
    state, _ = receive(LifecycleState(), msg("A", T0), T0, source=Source.API)
    assert replace(state.entries["A"], missing_polls=1).missing_polls == 1
