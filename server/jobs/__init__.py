"""Periodic work declared as data; ``runner.py`` is the only APScheduler import."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session


@dataclass(frozen=True)
class JobSpec:
    """One periodic job: ``func(session, now)`` runs every ``seconds``."""

    id: str
    func: Callable[[Session, datetime], Any]
    seconds: int
    description: str = ""
    kwargs: dict[str, Any] = field(default_factory=dict)


def all_jobs() -> list[JobSpec]:
    """Every job of the installation. Areas add their specs here."""
    from . import alerts, displays, messages, notices, oparl

    return [*notices.JOBS, *oparl.JOBS, *alerts.JOBS, *displays.JOBS, *messages.JOBS]
