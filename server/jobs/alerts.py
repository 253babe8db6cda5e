"""Jobs of the warning area: poll NINA (W2) and let time pass for warnings (W6)."""

from __future__ import annotations

import logging
from datetime import datetime

from flask import current_app
from sqlalchemy.orm import Session

from ..domain.alerts import PollConfig
from ..mail import staff as mail_staff
from ..services import alerts as svc
from ..sources.nina import NinaClient, poll
from . import JobSpec

log = logging.getLogger("aushang.jobs.alerts")


def nina_client() -> NinaClient:
    """The NINA client configured for this installation."""
    return NinaClient(
        current_app.config["AUSHANG_NINA_BASE_URL"],
        current_app.config["AUSHANG_NINA_USER_AGENT"],
    )


def poll_nina(session: Session, now: datetime, client: NinaClient | None = None) -> int:
    """Poll the dashboard of every Kreis that has an active tenant; return the changes.

    Only when the operator enabled it (``AUSHANG_NINA_ENABLED``): the installation makes
    no outgoing connection that nobody configured. Tests pass their own ``client``.
    """
    if client is None and not current_app.config.get("AUSHANG_NINA_ENABLED"):
        return 0
    policy = svc.policy_from_config(current_app.config)
    client = client or nina_client()
    config = PollConfig(stale_after=policy.stale_after, lifecycle=policy.lifecycle)
    changed = 0
    for key in svc.nina_feed_keys(session):
        state, feed, before = svc.load_feed_state(session, key)
        outcome = poll(client, state, now, config)
        svc.store_feed_state(
            session, feed, outcome.state, before, outcome.documents, client.base_url, now, policy
        )
        if outcome.state.health.is_stale(now, policy.stale_after) and not feed.stale_notified:
            log.error("nina feed=%s event=stale error=%r", key, outcome.state.health.last_error)
            feed.stale_notified = True
            mail_staff.nina_health(session, key, True, outcome.state.health.last_error or "", now)
        elif not outcome.state.health.is_stale(now, policy.stale_after) and feed.stale_notified:
            log.info("nina feed=%s event=recovered", key)
            feed.stale_notified = False
            mail_staff.nina_health(session, key, False, "", now)
        changed += len(outcome.changes)
    return changed


def tick_alerts(session: Session, now: datetime) -> int:
    """End expired warnings and Entwarnungen whose time is up."""
    return svc.tick_alerts(session, now, svc.policy_from_config(current_app.config))


JOBS = [
    JobSpec(
        id="alerts.poll_nina",
        func=poll_nina,
        seconds=30,
        description="NINA-Warnungen der Landkreise abrufen",
    ),
    JobSpec(
        id="alerts.tick",
        func=tick_alerts,
        seconds=15,
        description="Abgelaufene Warnungen und Entwarnungen beenden",
    ),
]
