"""Writing and verifying the hash-chained audit log (L17)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from ..domain.integrity import GENESIS_HASH, audit_hash, canonical_json
from ..models import AuditEntry, User


def row_payload(entry: AuditEntry) -> dict[str, Any]:
    """The fields a row's hash covers (with the previous row's hash)."""
    return _row_payload(entry)


def _row_payload(entry: AuditEntry) -> dict[str, Any]:
    return {
        "seq": entry.seq,
        "at": entry.at.isoformat(),
        "tenant_id": entry.tenant_id,
        "actor_id": entry.actor_id,
        "actor": entry.actor,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "details": entry.details,
    }


def record(
    session: Session,
    *,
    now: datetime,
    action: str,
    object_type: str,
    object_id: object,
    actor: User | str | None = None,
    tenant_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one row to the chain.

    On PostgreSQL a transaction-level advisory lock serialises writers so the chain
    never forks; the unique ``seq`` is the second line of defence on every backend.
    """
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(4711001)"))
    last = session.execute(
        select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
    ).first()
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS_HASH)
    if isinstance(actor, User):
        actor_id, actor_label = actor.id, actor.email
    else:
        actor_id, actor_label = None, actor or "system"
    entry = AuditEntry(
        seq=seq,
        at=now,
        tenant_id=tenant_id,
        actor_id=actor_id,
        actor=actor_label,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        details=canonical_json(details or {}),
        prev_hash=prev,
    )
    entry.hash = audit_hash(prev, _row_payload(entry))
    session.add(entry)
    session.flush()
    from ..mail import staff as mail_hook  # mail to the people an event concerns (issue 18)

    mail_hook.on_audit(session, entry)
    return entry


@dataclass
class VerifyResult:
    ok: bool
    rows: int
    broken_seq: int | None = None
    broken_id: int | None = None
    reason: str = ""


def verify(session: Session) -> VerifyResult:
    """Walk the chain in order; report the first row whose hash or link is wrong."""
    prev = GENESIS_HASH
    expected_seq = 1
    count = 0
    for entry in session.scalars(select(AuditEntry).order_by(AuditEntry.seq)).yield_per(1000):
        count += 1
        if entry.seq != expected_seq:
            return VerifyResult(False, count, entry.seq, entry.id, f"Lücke vor Zeile {entry.seq}")
        if entry.prev_hash != prev:
            return VerifyResult(False, count, entry.seq, entry.id, "Verkettung unterbrochen")
        try:
            json.loads(entry.details)
        except ValueError:
            return VerifyResult(False, count, entry.seq, entry.id, "Details unlesbar")
        if audit_hash(prev, _row_payload(entry)) != entry.hash:
            return VerifyResult(False, count, entry.seq, entry.id, "Inhalt verändert")
        prev = entry.hash
        expected_seq += 1
    return VerifyResult(True, count)
