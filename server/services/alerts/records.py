"""Stored records <-> domain messages: skeletons, parsed documents (cached), archives."""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from ...domain.alerts import (
    Alert,
    Change,
    Info,
    Phase,
    Source,
    Tracked,
    dedup_key,
    warnstufe_for,
)
from ...domain.alerts.lifecycle import EndReason
from ...domain.alerts.model import reference_datetime
from ...domain.alerts.policy import behaviour_for
from ...domain.alerts.relevance import warning_ars_codes
from ...models import (
    AlertDocument,
    AlertRecord,
    ApiToken,
    Tenant,
    User,
)
from ...sources.cap import alert_from_cap_json, parse_cap
from .policy import CAP_MEDIA_TYPE, AlertPolicy

# --- records <-> domain ---------------------------------------------------------------


def skeleton(record: AlertRecord) -> Alert:
    """The lifecycle-relevant part of a stored message, without parsing its document."""
    info = Info(
        categories=("Other",),
        event=record.event,
        urgency=record.urgency,
        severity=record.severity,
        certainty=record.certainty,
        language="de-DE",
        headline=record.headline,
        expires=record.expires,
    )
    return Alert(
        identifier=record.identifier,
        sender=record.sender,
        sent=record.sent,
        status=record.status,
        msg_type=record.msg_type,
        scope=record.scope,
        references=record.references or None,
        infos=(info,),
    )


def parse_document(doc: AlertDocument) -> Alert:
    """Parse an archived document (CAP XML or CAP-as-JSON) into a message."""
    if doc.media_type == CAP_MEDIA_TYPE:
        return parse_cap(doc.content, max_bytes=max(len(doc.content), 1)).alert
    return alert_from_cap_json(json.loads(doc.content))


class MessageCache:
    """Parsed messages by archived document, least recently used dropped first.

    Archived documents are never changed (W14), so a parsed message stays valid for
    as long as its document exists; the key includes the stored SHA-256, so a reused
    row id (a restored backup, a truncated test database) can never return a stale
    message. Every display asks for its warnings on each long-poll wake-up, so without
    this the same XML would be parsed once per display per change.
    """

    def __init__(
        self, maxsize: int = 1024, parse: Callable[[AlertDocument], Alert] = parse_document
    ) -> None:
        self.maxsize = maxsize
        self.parse = parse
        self._items: OrderedDict[tuple[int, str], Alert] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, doc: AlertDocument) -> Alert:
        if doc.id is None:  # not flushed yet: nothing stable to key on
            return self.parse(doc)
        key = (doc.id, doc.sha256)
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
                return found
        alert = self.parse(doc)  # outside the lock: parsing is the slow part
        with self._lock:
            self._items[key] = alert
            self._items.move_to_end(key)
            while len(self._items) > self.maxsize:
                self._items.popitem(last=False)
        return alert

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


message_cache = MessageCache()


def load_message(record: AlertRecord, cache: MessageCache | None = None) -> Alert:
    """The full message from the archived document (CAP XML or CAP-as-JSON)."""
    doc = record.document
    if doc is None:
        return skeleton(record)
    return (cache if cache is not None else message_cache).get(doc)


def _tracked(record: AlertRecord) -> Tracked:
    return Tracked(
        key=record.identifier,
        alert=skeleton(record),
        source=Source(record.source),
        phase=Phase(record.phase),
        received_at=record.received_at,
        all_clear_until=record.all_clear_until,
        ended_at=record.ended_at,
        end_reason=EndReason(record.end_reason) if record.end_reason else None,
        missing_polls=record.missing_polls,
        version=record.nina_version,
    )


def _fill_header(record: AlertRecord, alert: Alert, source: Source, policy: AlertPolicy) -> None:
    info = alert.primary_info()
    record.sender = alert.sender
    record.sent = alert.sent
    record.sent_text = reference_datetime(alert.sent)
    record.status = alert.status
    record.msg_type = alert.msg_type
    record.scope = alert.scope
    record.references = alert.references or ""
    record.source = source.value
    record.event = (info.event if info else "")[:300]
    record.headline = alert.headline
    record.severity = alert.severity
    record.urgency = alert.urgency
    record.certainty = info.certainty if info else "Unknown"
    record.sender_name = ((info.sender_name or "") if info else "")[:300]
    record.onset = info.onset if info else None
    record.expires = alert.expires
    record.warnstufe = warnstufe_for(alert, policy.table)
    record.behaviour = behaviour_for(alert, source, policy.table).value
    record.target_ars = ",".join(warning_ars_codes(alert))
    record.dedup_key = dedup_key(alert)[:120]


def _archive_incoming(
    session: Session,
    record: AlertRecord | None,
    incoming: Incoming,
    now: datetime,
    *,
    direction: str | None = None,
) -> AlertDocument:
    """Archive an incoming message's raw bytes as they arrived (W14)."""
    return _archive(
        session,
        record,
        incoming.raw,
        direction=direction or incoming.direction,
        media_type=incoming.media_type,
        origin=incoming.origin,
        origin_ref=incoming.origin_ref,
        now=now,
    )


def _archive(
    session: Session,
    record: AlertRecord | None,
    content: bytes,
    *,
    direction: str,
    media_type: str,
    origin: str,
    origin_ref: str,
    now: datetime,
) -> AlertDocument:
    doc = AlertDocument(
        alert=record,
        direction=direction,
        media_type=media_type,
        origin=origin,
        origin_ref=origin_ref[:500],
        content=content,
        sha256=hashlib.sha256(content).hexdigest(),
        received_at=now,
    )
    session.add(doc)
    return doc


@dataclass
class Incoming:
    """A message to fold into a lifecycle, with what we know about where it came from."""

    alert: Alert
    raw: bytes
    media_type: str
    direction: str  # received | generated
    origin: str  # manual | api | nina
    origin_ref: str = ""
    source: Source = Source.API
    issuer: Tenant | None = None
    user: User | None = None
    token: ApiToken | None = None
    targets: Sequence[Tenant] = ()
    # Tenant id -> the W4 key that made the message relevant there ("warncell:8…").
    matches: Mapping[int, str] = field(default_factory=dict)
    # A held record (awaiting confirmation) that becomes this message's record.
    held: AlertRecord | None = None


@dataclass
class Outcome:
    record: AlertRecord
    changes: tuple[Change, ...]
    duplicate: bool = False
    touched: list[AlertRecord] = field(default_factory=list)
    # An older message than the stored one: archived, not applied (W6).
    out_of_order: bool = False
    # Why the message was refused (an Update/Cancel older than its reference), German.
    refused: str = ""
