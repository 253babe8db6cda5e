"""NINA dashboards: the poll state stored per Kreis, feed health (W3), the dashboard card."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ...domain.alerts import (
    DetailFailure,
    FeedHealth,
    FeedState,
    LifecycleState,
    nina_dashboard_key,
)
from ...domain.errors import ValidationFailed
from ...models import (
    AlertFeed,
    AlertRecord,
    Tenant,
)
from .display import active_alerts_for_place
from .ingest import _write_back
from .policy import JSON_MEDIA_TYPE, AlertPolicy
from .records import Incoming, _archive, _tracked

# --- NINA --------------------------------------------------------------------------------


def nina_feed_keys(session: Session) -> list[str]:
    """The Kreis dashboards to poll: one per distinct Kreis of the active tenants."""
    keys = set()
    for ars in session.scalars(select(Tenant.ars).where(Tenant.active)):
        try:
            keys.add(nina_dashboard_key(ars))
        except ValidationFailed:
            continue
    return sorted(keys)


def load_feed_state(
    session: Session, key: str
) -> tuple[FeedState, AlertFeed, dict[str, AlertRecord]]:
    """Rebuild the pure poll state of one dashboard from its records."""
    feed = session.get(AlertFeed, key)
    if feed is None:
        feed = AlertFeed(key=key, entries_json="{}", consecutive_failures=0)
        session.add(feed)
    entries = json.loads(feed.entries_json or "{}")

    def fps(obj: Any) -> dict[str, tuple[int, str | None]]:
        return {k: (int(v[0]), v[1]) for k, v in (obj or {}).items()}

    present = fps(entries.get("present"))
    failures = _failures_from(entries.get("failures"))
    records = session.scalars(
        select(AlertRecord).where(
            AlertRecord.feed_key == key,
            or_(
                AlertRecord.phase.in_(("active", "all_clear")),
                AlertRecord.identifier.in_(sorted(present) or [""]),
            ),
        )
    ).all()
    by_key = {r.identifier: r for r in records}
    state = FeedState(
        key=key,
        seen=fps(entries.get("seen")),
        present=present,
        lifecycle=LifecycleState({k: _tracked(r) for k, r in by_key.items()}),
        health=health_of(feed),
        etag=feed.etag,
        last_modified=feed.last_modified,
        detail_failures=failures,
    )
    return state, feed, by_key


def _failures_from(obj: Any) -> dict[str, DetailFailure]:
    found = {}
    for key, value in (obj or {}).items():
        error, attempts, first, next_at = value
        found[key] = DetailFailure(
            str(error),
            int(attempts),
            datetime.fromisoformat(first),
            datetime.fromisoformat(next_at),
        )
    return found


def health_of(feed: AlertFeed) -> FeedHealth:
    """The health stored on a feed row, with the warnings whose details fail (W2, W3)."""
    entries = json.loads(feed.entries_json or "{}")
    failing = {k: str(v[0]) for k, v in (entries.get("failures") or {}).items()}
    return FeedHealth(
        watching_since=feed.watching_since,
        last_attempt_at=feed.last_attempt_at,
        last_success_at=feed.last_success_at,
        consecutive_failures=feed.consecutive_failures or 0,
        last_error=feed.last_error,
        failing=failing,
    )


def store_feed_state(
    session: Session,
    feed: AlertFeed,
    state: FeedState,
    before: dict[str, AlertRecord],
    documents: Mapping[str, bytes],
    base_url: str,
    now: datetime,
    policy: AlertPolicy,
) -> dict[str, AlertRecord]:
    """Write the poll result back: feed health, validators, records and raw documents."""
    feed.etag = state.etag
    feed.last_modified = state.last_modified
    feed.entries_json = json.dumps(
        {
            "present": {k: list(v) for k, v in state.present.items()},
            "seen": {k: list(v) for k, v in state.seen.items()},
            "failures": {
                k: [
                    f.error,
                    f.attempts,
                    f.first_failed_at.isoformat(),
                    f.next_attempt_at.isoformat(),
                ]
                for k, f in state.detail_failures.items()
            },
        },
        sort_keys=True,
    )
    feed.watching_since = state.health.watching_since
    feed.last_attempt_at = state.health.last_attempt_at
    feed.last_success_at = state.health.last_success_at
    feed.consecutive_failures = state.health.consecutive_failures
    feed.last_error = state.health.last_error
    fresh = {}
    aside: dict[str, bytes] = {}
    for key, raw in documents.items():
        tracked = state.lifecycle.entries.get(key)
        if tracked is None:
            continue
        if _out_of_order(state, key):
            aside[key] = raw
            continue
        fresh[key] = Incoming(
            alert=tracked.alert,
            raw=raw,
            media_type=JSON_MEDIA_TYPE,
            direction="received",
            origin="nina",
            origin_ref=f"{base_url}/warnings/{key}.json",
            source=tracked.source,
        )
    records = _write_back(session, feed.key, before, state.lifecycle, fresh, policy, now)
    for key, raw in aside.items():
        # An older version than the stored one: kept (W14), not applied (W6).
        _archive(
            session,
            records.get(key),
            raw,
            direction="out_of_order",
            media_type=JSON_MEDIA_TYPE,
            origin="nina",
            origin_ref=f"{base_url}/warnings/{key}.json",
            now=now,
        )
    return records


def _out_of_order(state: FeedState, key: str) -> bool:
    """The fetched version of ``key`` is older than the one its lifecycle keeps."""
    tracked = state.lifecycle.entries.get(key)
    seen = state.seen.get(key)
    if tracked is None or seen is None or tracked.version is None:
        return False
    return seen[0] < tracked.version


def feed_health(session: Session, key: str) -> FeedHealth:
    """The health of one NINA dashboard (W3) for the dashboard and the alert page."""
    feed = session.get(AlertFeed, key)
    if feed is None:
        return FeedHealth()
    return health_of(feed)


NINA_OFF_TEXT = (
    "Ausgeschaltet: Diese Installation ruft keine Warnungen von NINA ab. Angezeigt werden "
    "Warnungen von Leitstellen und manuell ausgelöste Warnungen."
)


def health_text(health: FeedHealth, now: datetime, policy: AlertPolicy) -> str:
    """The German one-liner of the NINA feed for staff, honest when NINA is off."""
    if not policy.nina_enabled:
        return NINA_OFF_TEXT
    return health.status_text(now, policy.stale_after)


def disturbed(health: FeedHealth, now: datetime, policy: AlertPolicy) -> bool:
    """Stale, or a listed warning whose details fail; never while NINA is off."""
    return policy.nina_enabled and health.is_disturbed(now, policy.stale_after)


@dataclass(frozen=True)
class WarningStatus:
    """The staff dashboard's warning card: active count and NINA feed health (W3)."""

    active: int
    health_text: str
    stale: bool
    may_alert: bool


def warning_status(
    session: Session, tenant: Tenant, now: datetime, policy: AlertPolicy, may_alert: bool = True
) -> WarningStatus:
    """Active warnings for the tenant's own displays and the health of its NINA feed."""
    health = feed_health(session, nina_dashboard_key(tenant.ars))
    active = active_alerts_for_place(session, tenant=tenant, now=now, policy=policy)
    return WarningStatus(
        active=len(active),
        health_text=health_text(health, now, policy),
        stale=disturbed(health, now, policy),
        may_alert=may_alert,
    )
