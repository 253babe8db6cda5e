"""Installation-wide settings of the warning area and the phases a held message has."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from ...domain.alerts import (
    LifecycleConfig,
    PriorityTable,
    Source,
    SourceMode,
)

CAP_MEDIA_TYPE = "application/cap+xml"
JSON_MEDIA_TYPE = "application/json"

# Phases of a manual message before it enters the lifecycle (W10, second-person
# confirmation): waiting for a second person, or discarded by one. Such records are
# never shown, never in feeds and never part of a lifecycle state.
AWAITING_CONFIRMATION = "unconfirmed"  # fits phase String(20)
DISCARDED = "discarded"
HELD_PHASES = (AWAITING_CONFIRMATION, DISCARDED)
# An Update or Cancel names the messages it replaces; hundreds would be no real message,
# and each one is a bound parameter in the lookup (SQLite allows a few thousand).
MAX_REFERENCES = 100


@dataclass(frozen=True)
class AlertPolicy:
    """Installation-wide settings of the warning area (from the configuration)."""

    sender: str = "aushang@localhost"
    all_clear_for: timedelta = timedelta(minutes=15)
    banner_sources: tuple[str, ...] = ()
    stale_after: timedelta = timedelta(minutes=3)
    # False: the operator did not switch NINA on (AUSHANG_NINA_ENABLED); pages say so
    # instead of reporting a feed that never answered.
    nina_enabled: bool = True

    @property
    def table(self) -> PriorityTable:
        modes = {s: SourceMode.TAKEOVER for s in Source}
        for name in self.banner_sources:
            try:
                modes[Source(name)] = SourceMode.BANNER
            except ValueError:
                continue
        return PriorityTable(source_modes=modes)

    @property
    def lifecycle(self) -> LifecycleConfig:
        return LifecycleConfig(all_clear_for=self.all_clear_for)


def policy_from_config(config: Mapping[str, Any]) -> AlertPolicy:
    """Build the policy from the Flask config (``AUSHANG_ALERT_*``)."""
    base = str(config.get("AUSHANG_BASE_URL", "http://localhost"))
    host = base.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0] or "localhost"
    return AlertPolicy(
        sender=str(config.get("AUSHANG_ALERT_SENDER") or f"aushang@{host}"),
        all_clear_for=timedelta(minutes=float(config.get("AUSHANG_ALERT_ALL_CLEAR_MINUTES", 15))),
        banner_sources=tuple(config.get("AUSHANG_ALERT_BANNER_SOURCES", ()) or ()),
        stale_after=timedelta(minutes=int(config.get("AUSHANG_NINA_STALE_MINUTES", 3))),
        nina_enabled=bool(config.get("AUSHANG_NINA_ENABLED", True)),
    )
