"""The lifecycle of warnings (W5, W6) as a pure state machine.

``receive`` takes one message, ``observe_presence`` one successful dashboard poll and
``tick`` the passing of time; each returns a new :class:`LifecycleState` and the list
of changes to log and to push to displays. Nothing is mutated in place.

Rules:

* ``Alert`` creates a warning; the same identifier with the same ``sent`` again is a
  duplicate and changes nothing (W5, and idempotency for the control-centre API).
* Order is by CAP identity and time: a message under a known identifier applies only
  if it is newer than what it replaces (``sent``, then the NINA version). An older one
  is kept (archived) but not applied (``OUT_OF_ORDER``): a dashboard that hands out a
  stale version never re-activates a cancelled warning.
* An ``Update`` or ``Cancel`` sent before a message it references is refused
  (``REFUSED``, reason ``PREDATES_REFERENCE``): it cannot replace what did not yet exist.
* ``Update`` replaces the messages named in ``references`` (NINA also publishes a new
  version under the same id: the new version replaces the old one).
* ``Cancel`` ends the messages it references and shows an Entwarnung for a configurable
  time (default 15 minutes). Its severity is ignored. A Cancel that references nothing
  we showed ends nothing and shows no Entwarnung: an all-clear for a warning nobody saw
  only confuses.
* Passing ``expires`` ends a warning; a warning without ``expires`` runs until it is
  updated, cancelled or withdrawn.
* An entry missing from the dashboard for 3 successful polls in a row ends (withdrawn).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum

from .model import Alert
from .policy import Source, strip_nina_prefix


class Phase(StrEnum):
    ACTIVE = "active"
    ALL_CLEAR = "all_clear"  # the Entwarnung is on screen
    ENDED = "ended"


class EndReason(StrEnum):
    SUPERSEDED = "superseded"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"  # gone from the dashboard
    ALL_CLEAR_OVER = "all_clear_over"
    NOTHING_TO_CANCEL = "nothing_to_cancel"
    ALREADY_REPLACED = "already_replaced"
    PREDATES_REFERENCE = "predates_reference"  # refused: sent before what it references


PHASE_LABELS = {
    Phase.ACTIVE: "aktiv",
    Phase.ALL_CLEAR: "Entwarnung",
    Phase.ENDED: "beendet",
}
END_REASON_LABELS = {
    EndReason.SUPERSEDED: "durch Aktualisierung ersetzt",
    EndReason.CANCELLED: "aufgehoben (Entwarnung)",
    EndReason.EXPIRED: "abgelaufen",
    EndReason.WITHDRAWN: "nicht mehr im NINA-Datenbestand",
    EndReason.ALL_CLEAR_OVER: "Entwarnung beendet",
    EndReason.NOTHING_TO_CANCEL: "Aufhebung ohne bekannte Warnung",
    EndReason.ALREADY_REPLACED: "bereits durch neuere Meldung ersetzt",
    EndReason.PREDATES_REFERENCE: "abgelehnt: älter als die Meldung, auf die sie verweist",
}
# End reasons that mean "refused on arrival": the message never took effect.
REFUSED_REASONS = frozenset({EndReason.PREDATES_REFERENCE})


class ChangeKind(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    ALL_CLEAR = "all_clear"
    ENDED = "ended"
    DUPLICATE = "duplicate"
    IGNORED = "ignored"
    OUT_OF_ORDER = "out_of_order"  # older than the stored version: kept, not applied
    REFUSED = "refused"  # an Update/Cancel that predates what it references


@dataclass(frozen=True)
class Change:
    """One state change, for the log, the incident timeline and the displays."""

    kind: ChangeKind
    key: str
    reason: EndReason | None = None
    replaces: tuple[str, ...] = ()
    detail: str = ""  # German, for refusals: why


@dataclass(frozen=True)
class LifecycleConfig:
    """Tunable durations (W6)."""

    all_clear_for: timedelta = timedelta(minutes=15)
    missing_polls_to_end: int = 3


@dataclass(frozen=True)
class Tracked:
    """A message and where it stands."""

    key: str
    alert: Alert
    source: Source
    phase: Phase
    received_at: datetime
    all_clear_until: datetime | None = None
    ended_at: datetime | None = None
    end_reason: EndReason | None = None
    replaced_by: str | None = None
    missing_polls: int = 0
    version: int | None = None  # NINA's payload version, if the message came from NINA

    @property
    def showing(self) -> bool:
        return self.phase is not Phase.ENDED

    def ended(self, now: datetime, reason: EndReason, by: str | None = None) -> Tracked:
        return replace(self, phase=Phase.ENDED, ended_at=now, end_reason=reason, replaced_by=by)


@dataclass(frozen=True)
class LifecycleState:
    """All messages known to one lifecycle (one NINA feed, or the local alerts)."""

    entries: Mapping[str, Tracked] = field(default_factory=dict)

    def showing(self) -> list[Tracked]:
        """Active warnings and running Entwarnungen, oldest first."""
        return sorted(
            (t for t in self.entries.values() if t.showing), key=lambda t: (t.alert.sent, t.key)
        )


def _norm(identifier: str) -> str:
    return strip_nina_prefix(identifier.strip())


def compare_versions(stored: Tracked, alert: Alert, version: int | None = None) -> int:
    """-1 if ``alert`` is older than ``stored``, 0 if it is the same, 1 if newer.

    ``sent`` decides; on equal ``sent`` NINA's payload version does (when both sides
    have one). Instants are compared, not texts: ``06:20+02:00`` equals ``04:20+00:00``.
    """
    if alert.sent != stored.alert.sent:
        return 1 if alert.sent > stored.alert.sent else -1
    if version is not None and stored.version is not None and version != stored.version:
        return 1 if version > stored.version else -1
    return 0


def _arrived_ended(
    key: str,
    alert: Alert,
    source: Source,
    now: datetime,
    reason: EndReason,
    version: int | None,
) -> Tracked:
    """A message that is over the moment it arrives (refused, expired, nothing to do)."""
    return Tracked(
        key, alert, source, Phase.ENDED, now, ended_at=now, end_reason=reason, version=version
    )


def _predated(alert: Alert, targets: Iterable[Tracked]) -> Tracked | None:
    """The first referenced message that was sent after ``alert`` (if any)."""
    return next((t for t in targets if t.alert.sent > alert.sent), None)


def _refusal(
    key: str, alert: Alert, source: Source, now: datetime, newer: Tracked, version: int | None
) -> tuple[Tracked, Change]:
    what = "Aktualisierung" if alert.msg_type == "Update" else "Aufhebung"
    detail = (
        f"Die {what} wurde am {alert.sent.isoformat()} gesendet, die Meldung "
        f"„{newer.alert.identifier}“, auf die sie verweist, erst am "
        f"{newer.alert.sent.isoformat()}: Sie kann sie nicht ersetzen."
    )
    entry = _arrived_ended(key, alert, source, now, EndReason.PREDATES_REFERENCE, version)
    return entry, Change(ChangeKind.REFUSED, key, EndReason.PREDATES_REFERENCE, detail=detail)


def _against_stored(
    existing: Tracked | None, alert: Alert, key: str, version: int | None
) -> Change | None:
    """A repetition or an older version of a stored message: nothing to apply."""
    if existing is None:
        return None
    order = compare_versions(existing, alert, version)
    if order == 0:
        return Change(ChangeKind.DUPLICATE, key)
    if order < 0:
        return Change(ChangeKind.OUT_OF_ORDER, key)
    return None


def _referenced(entries: Mapping[str, Tracked], key: str, alert: Alert) -> list[Tracked]:
    """The showing messages ``alert`` references (by key or by identifier)."""
    wanted = {_norm(i) for i in alert.referenced_identifiers()}
    return [
        t
        for k, t in entries.items()
        if t.showing and k != key and (_norm(k) in wanted or _norm(t.alert.identifier) in wanted)
    ]


def _end_targets(
    entries: dict[str, Tracked],
    targets: list[Tracked],
    key: str,
    now: datetime,
    reason: EndReason,
) -> list[Change]:
    """End every target that ``key`` replaces (not ``key`` itself)."""
    changes: list[Change] = []
    for target in targets:
        if target.key != key:
            entries[target.key] = target.ended(now, reason, by=key)
            changes.append(Change(ChangeKind.ENDED, target.key, reason))
    return changes


def _apply_cancel(
    entries: dict[str, Tracked],
    key: str,
    alert: Alert,
    source: Source,
    now: datetime,
    targets: list[Tracked],
    config: LifecycleConfig,
    version: int | None,
) -> tuple[LifecycleState, tuple[Change, ...]]:
    if not targets:
        entries[key] = _arrived_ended(key, alert, source, now, EndReason.NOTHING_TO_CANCEL, version)
        return LifecycleState(entries), (
            Change(ChangeKind.IGNORED, key, EndReason.NOTHING_TO_CANCEL),
        )
    changes = _end_targets(entries, targets, key, now, EndReason.CANCELLED)
    entries[key] = Tracked(
        key,
        alert,
        source,
        Phase.ALL_CLEAR,
        now,
        all_clear_until=now + config.all_clear_for,
        version=version,
    )
    changes.append(Change(ChangeKind.ALL_CLEAR, key, replaces=tuple(t.key for t in targets)))
    return LifecycleState(entries), tuple(changes)


def _apply_alert(
    entries: dict[str, Tracked],
    key: str,
    alert: Alert,
    source: Source,
    now: datetime,
    targets: list[Tracked],
    version: int | None,
) -> tuple[LifecycleState, tuple[Change, ...]]:
    """An Alert or Update: it replaces its targets and runs until it expires."""
    changes = _end_targets(entries, targets, key, now, EndReason.SUPERSEDED)
    expires = alert.expires
    if expires is not None and expires <= now:
        entries[key] = _arrived_ended(key, alert, source, now, EndReason.EXPIRED, version)
        changes.append(Change(ChangeKind.IGNORED, key, EndReason.EXPIRED))
        return LifecycleState(entries), tuple(changes)
    entries[key] = Tracked(key, alert, source, Phase.ACTIVE, now, version=version)
    kind = ChangeKind.UPDATED if targets else ChangeKind.CREATED
    changes.append(Change(kind, key, replaces=tuple(t.key for t in targets)))
    return LifecycleState(entries), tuple(changes)


def receive(
    state: LifecycleState,
    alert: Alert,
    now: datetime,
    *,
    source: Source,
    key: str | None = None,
    config: LifecycleConfig | None = None,
    version: int | None = None,
) -> tuple[LifecycleState, tuple[Change, ...]]:
    """Apply one received or issued message (``key`` defaults to its identifier).

    ``version`` is NINA's payload version of the entry, compared when ``sent`` is equal.
    """
    config = config or LifecycleConfig()
    key = key or alert.identifier
    entries = dict(state.entries)
    existing = entries.get(key)
    if alert.msg_type not in ("Alert", "Update", "Cancel"):
        return state, (Change(ChangeKind.IGNORED, key),)
    unchanged = _against_stored(existing, alert, key, version)
    if unchanged is not None:
        return state, (unchanged,)
    targets = _referenced(entries, key, alert)
    newer = _predated(alert, targets) if alert.msg_type in ("Update", "Cancel") else None
    if newer is not None:
        entries[key], change = _refusal(key, alert, source, now, newer, version)
        return LifecycleState(entries), (change,)
    if existing is not None and existing.showing:
        targets.append(existing)  # a new version under the same id replaces the old one
    if existing is None and _replaced_already(entries.values(), key, alert):
        entries[key] = _arrived_ended(key, alert, source, now, EndReason.ALREADY_REPLACED, version)
        return LifecycleState(entries), (
            Change(ChangeKind.IGNORED, key, EndReason.ALREADY_REPLACED),
        )
    if alert.msg_type == "Cancel":
        return _apply_cancel(entries, key, alert, source, now, targets, config, version)
    return _apply_alert(entries, key, alert, source, now, targets, version)


def _replaced_already(entries: Iterable[Tracked], key: str, alert: Alert) -> bool:
    """True if a message we hold already references this one (it arrived late)."""
    names = {_norm(key), _norm(alert.identifier)}
    for t in entries:
        if t.alert.msg_type in ("Update", "Cancel") and t.alert.sent >= alert.sent:
            if names & {_norm(i) for i in t.alert.referenced_identifiers()}:
                return True
    return False


def tick(
    state: LifecycleState, now: datetime, config: LifecycleConfig | None = None
) -> tuple[LifecycleState, tuple[Change, ...]]:
    """End expired warnings and Entwarnungen whose time is up."""
    entries = dict(state.entries)
    changes: list[Change] = []
    for key, t in state.entries.items():
        if t.phase is Phase.ACTIVE and t.alert.expires is not None and t.alert.expires <= now:
            entries[key] = t.ended(now, EndReason.EXPIRED)
            changes.append(Change(ChangeKind.ENDED, key, EndReason.EXPIRED))
        elif (
            t.phase is Phase.ALL_CLEAR
            and t.all_clear_until is not None
            and t.all_clear_until <= now
        ):
            entries[key] = t.ended(now, EndReason.ALL_CLEAR_OVER)
            changes.append(Change(ChangeKind.ENDED, key, EndReason.ALL_CLEAR_OVER))
    if not changes:
        return state, ()
    return LifecycleState(entries), tuple(changes)


def observe_presence(
    state: LifecycleState,
    present: Iterable[str],
    now: datetime,
    config: LifecycleConfig | None = None,
) -> tuple[LifecycleState, tuple[Change, ...]]:
    """Count successful polls in which an active warning was missing from the feed.

    Only call this after a *successful* poll: a failed poll says nothing about which
    warnings still stand.
    """
    config = config or LifecycleConfig()
    seen = set(present)
    entries = dict(state.entries)
    changes: list[Change] = []
    for key, t in state.entries.items():
        if t.phase is not Phase.ACTIVE:
            continue
        if key in seen:
            if t.missing_polls:
                entries[key] = replace(t, missing_polls=0)
            continue
        missing = t.missing_polls + 1
        if missing >= config.missing_polls_to_end:
            entries[key] = replace(t, missing_polls=missing).ended(now, EndReason.WITHDRAWN)
            changes.append(Change(ChangeKind.ENDED, key, EndReason.WITHDRAWN))
        else:
            entries[key] = replace(t, missing_polls=missing)
    return LifecycleState(entries), tuple(changes)


def prune(
    state: LifecycleState,
    now: datetime,
    *,
    keep: Iterable[str] = (),
    older_than: timedelta = timedelta(days=1),
) -> LifecycleState:
    """Forget ended messages that ended long ago and are not in ``keep``."""
    keep_set = set(keep)
    entries = {
        k: t
        for k, t in state.entries.items()
        if t.showing or k in keep_set or t.ended_at is None or now - t.ended_at < older_than
    }
    if len(entries) == len(state.entries):
        return state
    return LifecycleState(entries)


def dedup_key(alert: Alert) -> str:
    """A key that is equal for the same warning delivered several times (W5).

    DWD names the warning in a ``code`` ``id:…`` (the same DWD warning appears under
    several NINA ids, one per group of municipalities); otherwise the content counts:
    sender, event, headline, description, onset and expiry of the primary info.
    """
    for code in alert.codes:
        if code.startswith("id:"):
            return code
    info = alert.primary_info()
    parts = [alert.sender, alert.msg_type]
    if info is not None:
        parts += [
            info.event,
            info.headline or "",
            info.description or "",
            info.onset.isoformat() if info.onset else "",
            info.expires.isoformat() if info.expires else "",
        ]
    return "content:" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def deduplicate(tracked: Iterable[Tracked]) -> list[Tracked]:
    """One entry per warning; of several copies the most recently sent one wins."""
    best: dict[str, Tracked] = {}
    for t in tracked:
        k = dedup_key(t.alert)
        if k not in best or (t.alert.sent, t.key) > (best[k].alert.sent, best[k].key):
            best[k] = t
    return sorted(best.values(), key=lambda t: (t.alert.sent, t.key))
