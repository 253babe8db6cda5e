"""Is the tenant's NINA feed current? (W3) For the staff banner and the public feeds.

One primary-key lookup of the Kreis dashboard's :class:`~server.models.AlertFeed` row,
so the staff area can ask on every page. The texts are German and say the time of the
last good data in the tenant's zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from ..domain.alerts import FeedHealth, nina_dashboard_key
from ..domain.errors import ValidationFailed
from ..domain.posting import to_local
from ..models import AlertFeed, Tenant
from .alerts import AlertPolicy
from .alerts.health import health_of


def _clock(value: datetime, tz: str, now: datetime) -> str:
    local, today = to_local(value, tz), to_local(now, tz)
    if local.date() == today.date():
        return local.strftime("%H:%M Uhr")
    return local.strftime("%d.%m.%Y, %H:%M Uhr")


def _age(age: timedelta) -> str:
    seconds = max(int(age.total_seconds()), 0)
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 2 * 3600:
        return f"{seconds // 60} min"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} Tagen"


@dataclass(frozen=True)
class NinaStatus:
    """The health of one tenant's NINA dashboard at ``now``."""

    key: str
    now: datetime
    health: FeedHealth
    stale: bool  # stale, or a listed warning whose details fail: a disturbance
    polled: bool  # False: the feed was never polled (no scheduler yet)
    enabled: bool = True  # False: the operator did not switch NINA on

    @property
    def last_success_at(self) -> datetime | None:
        return self.health.last_success_at

    @property
    def age(self) -> timedelta | None:
        """Age of the last good data; ``None`` if there never was any."""
        return self.health.data_age(self.now)

    def banner_text(self, tz: str) -> str:
        """The staff banner, e.g. „Warnmeldungen von NINA seit 09:12 Uhr nicht aktualisiert“."""
        if self.health.failing and not self.health.is_stale(self.now):
            return f"Störung beim NINA-Abruf: {self.health.failing_text()}."
        if self.last_success_at is not None:
            text = (
                f"Warnmeldungen von NINA seit {_clock(self.last_success_at, tz, self.now)} "
                f"nicht aktualisiert (vor {_age(self.age or timedelta())})."
            )
        else:
            since = self.health.watching_since or self.now
            text = (
                "Warnmeldungen von NINA konnten noch nie abgerufen werden "
                f"(Abruf versucht seit {_clock(since, tz, self.now)})."
            )
        if self.health.last_error:
            text += f" Letzter Fehler: {self.health.last_error}"
        return text

    def public_text(self, tz: str) -> str:
        """For citizens: how old the warning data is."""
        if not self.enabled:
            return (
                "Diese Seite zeigt Warnungen der Kommune und ihrer Leitstelle; Warnungen "
                "von NINA werden hier nicht abgerufen. Alle amtlichen Warnungen: warnung.bund.de"
            )
        if self.last_success_at is None:
            return "Warnmeldungen von NINA: noch keine Daten abgerufen."
        when = _clock(self.last_success_at, tz, self.now)
        if self.stale and self.health.failing and not self.health.is_stale(self.now):
            return (
                f"Achtung: Eine gemeldete Warnung von NINA konnte nicht abgerufen werden "
                f"(zuletzt abgerufen um {when}). Aktuelle Warnungen: warnung.bund.de"
            )
        if self.stale:
            return (
                f"Achtung: Warnmeldungen von NINA seit {when} nicht aktualisiert "
                f"(vor {_age(self.age or timedelta())}). Aktuelle Warnungen: warnung.bund.de"
            )
        return f"Warnmeldungen von NINA zuletzt abgerufen um {when}."


def nina_status(session: Session, tenant: Tenant, now: datetime, policy: AlertPolicy) -> NinaStatus:
    """The health of the tenant's Kreis dashboard (one primary-key lookup)."""
    try:
        key = nina_dashboard_key(tenant.ars)
    except ValidationFailed:
        key = ""
    if not policy.nina_enabled:
        return NinaStatus(key, now, FeedHealth(), stale=False, polled=False, enabled=False)
    feed = session.get(AlertFeed, key) if key else None
    if feed is None:
        return NinaStatus(key=key, now=now, health=FeedHealth(), stale=False, polled=False)
    health = health_of(feed)
    return NinaStatus(
        key=key,
        now=now,
        health=health,
        stale=health.is_disturbed(now, policy.stale_after),
        polled=True,
    )
