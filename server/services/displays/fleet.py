"""The fleet at a glance (issue 16): which displays of a Kommune need someone, for the
staff dashboard. A display needs attention when it is enrolled and offline (or never sent
a heartbeat), or when its screen is not in the state its schedule asks for; devices
waiting for "Gerät tauschen" are counted too. Retired displays never need attention."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...models import Display, Tenant
from . import enrolment, reports

SCREEN_WORDS = {"on": "an", "off": "aus"}


@dataclass(frozen=True)
class Attention:
    display: Display
    problem: str  # German, for the dashboard
    since: datetime | None = None


@dataclass(frozen=True)
class FleetStatus:
    attention: list[Attention]
    displays: int  # in operation (not retired)
    swap_waiting: int


def _screen_problem(display: Display) -> str | None:
    try:
        screen = json.loads(display.screen_state) if display.screen_state else None
    except ValueError:
        return None
    if not isinstance(screen, dict) or not screen.get("mismatch"):
        return None
    actual = SCREEN_WORDS.get(str(screen.get("actual")), "unbekannt")
    desired = SCREEN_WORDS.get(str(screen.get("desired")), "unbekannt")
    return f"Bildschirm ist {actual}, soll laut Zeitplan {desired} sein"


def fleet_status(session: Session, tenant: Tenant, now: datetime) -> FleetStatus:
    """Displays that need attention at ``now``, offline ones first, each once."""
    displays = list(
        session.scalars(
            select(Display)
            .where(Display.tenant_id == tenant.id, Display.retired_at.is_(None))
            .order_by(Display.name)
        )
    )
    offline, screens = [], []
    for display in displays:
        if not display.enrolled:
            continue
        if display.last_seen is None:
            offline.append(Attention(display, "Noch kein Lebenszeichen"))
        elif not reports.is_online(display, now):
            offline.append(Attention(display, "Offline", display.last_seen))
        elif (problem := _screen_problem(display)) is not None:
            screens.append(Attention(display, problem, display.last_seen))
    return FleetStatus(
        attention=offline + screens,
        displays=len(displays),
        swap_waiting=len(enrolment.swap_candidates(session, tenant, now)),
    )
