"""Group membership for many displays at once (issue 16): staff choose displays in the
list and add them to a group or take them out, instead of editing one display at a time."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from ...models import Display, DisplayGroup, Tenant, User
from .. import audit


def assign(
    session: Session,
    tenant: Tenant,
    user: User,
    group: DisplayGroup,
    displays: Sequence[Display],
    add: bool,
    now: datetime,
) -> int:
    """Add ``displays`` to ``group`` (or remove them); returns how many changed."""
    changed = [d for d in displays if (group in d.groups) != add and d.tenant_id == tenant.id]
    for display in changed:
        if add:
            display.groups.append(group)
        else:
            display.groups.remove(group)
    session.flush()
    if changed:
        audit.record(
            session,
            now=now,
            action="display.group_add" if add else "display.group_remove",
            object_type="display_group",
            object_id=group.id,
            actor=user,
            tenant_id=tenant.id,
            details={"group": group.name, "displays": [d.name for d in changed]},
        )
    return len(changed)
