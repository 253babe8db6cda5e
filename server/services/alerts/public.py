"""What the public sees: feed warnings (W16) and the stable CAP document URLs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...domain.alerts import (
    Behaviour,
)
from ...domain.errors import NotFound
from ...models import (
    AlertRecord,
    Tenant,
)
from .display import DisplayAlert, active_alerts_for_place
from .policy import HELD_PHASES


def public_alerts(session: Session, tenant: Tenant, now: datetime) -> list[DisplayAlert]:
    """Active warnings for the public feeds of a tenant (W16): Actual + Public only."""
    return [
        a
        for a in active_alerts_for_place(session, tenant=tenant, now=now)
        if a.presentation.behaviour is not Behaviour.ALL_CLEAR
    ]


def find_document(
    session: Session, identifier: str, *, may_see: Callable[[AlertRecord], bool] | None = None
) -> AlertRecord:
    """The record behind a stable CAP URL; only Actual+Public messages are public.

    ``Exercise`` and ``Test`` messages (W7) are served only if ``may_see(record)`` says
    so (staff of a tenant the message concerns); for everyone else they do not exist.

    NINA's copy wins over a local message with the same identifier: a control centre
    that sent NINA's identifier before NINA published it must not put its own document
    behind the URL that NINA's warning links to in every feed (issue 11).
    """
    record = session.scalar(
        select(AlertRecord)
        .where(AlertRecord.identifier == identifier)
        .order_by(AlertRecord.feed_key.desc(), AlertRecord.id.desc())
    )
    if (
        record is None
        or record.document is None
        or record.scope != "Public"
        or record.phase in HELD_PHASES
        or (record.status != "Actual" and not (may_see is not None and may_see(record)))
    ):
        raise NotFound("Meldung nicht gefunden.")
    return record
