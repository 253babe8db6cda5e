"""Use cases of the warning area: issue, receive, update, cancel, poll NINA, show.

Every function takes the session and ``now``, adds and flushes, never commits. The
lifecycle rules live in :mod:`server.domain.alerts`; here records are turned into a
small :class:`~server.domain.alerts.LifecycleState`, the rule is applied, and the
result is written back.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from .. import notify
from ..domain.alerts import (
    Alert,
    Behaviour,
    Change,
    ChangeKind,
    FeedHealth,
    FeedState,
    Info,
    LifecycleConfig,
    LifecycleState,
    ManualTexts,
    Phase,
    Place,
    Presentation,
    PriorityTable,
    Source,
    SourceMode,
    Tracked,
    ars_area,
    ars_covers,
    build_alert,
    build_cancel,
    build_update,
    dedup_key,
    make_identifier,
    nina_dashboard_key,
    present,
    receive,
    relevance,
    template,
    tick,
    validate_ars,
    warnstufe_for,
)
from ..domain.alerts.lifecycle import EndReason
from ..domain.alerts.model import reference_datetime
from ..domain.alerts.ownership import (
    Issuer,
    OwnershipRefused,
    Stored,
    check_ownership,
    lookup_names,
)
from ..domain.alerts.policy import WARNSTUFEN, behaviour_for, strip_nina_prefix
from ..domain.alerts.relevance import warning_ars_codes
from ..domain.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from ..models import (
    AlertDocument,
    AlertFeed,
    AlertPermission,
    AlertRecord,
    AlertTarget,
    ApiToken,
    Tenant,
    User,
)
from ..security import new_token, token_hash
from ..sources.cap import alert_from_cap_json, build_cap_xml, parse_cap
from . import audit

log = logging.getLogger("aushang.alerts")

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
    )


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
    # A held record (awaiting confirmation) that becomes this message's record.
    held: AlertRecord | None = None


@dataclass
class Outcome:
    record: AlertRecord
    changes: tuple[Change, ...]
    duplicate: bool = False
    touched: list[AlertRecord] = field(default_factory=list)


def _records_for(session: Session, feed_key: str, keys: Iterable[str]) -> dict[str, AlertRecord]:
    names = set(keys)
    names |= {strip_nina_prefix(k) for k in names}
    if not names:
        return {}
    rows = session.scalars(
        select(AlertRecord).where(
            AlertRecord.feed_key == feed_key,
            AlertRecord.identifier.in_(sorted(names)),
            AlertRecord.phase.not_in(HELD_PHASES),
        )
    ).all()
    return {r.identifier: r for r in rows}


def _write_back(
    session: Session,
    feed_key: str,
    before: dict[str, AlertRecord],
    state: LifecycleState,
    fresh: Mapping[str, Incoming],
    policy: AlertPolicy,
    now: datetime,
) -> dict[str, AlertRecord]:
    """Copy phases from the lifecycle state to records; create records for new keys."""
    records = dict(before)
    for key, t in state.entries.items():
        record = records.get(key)
        incoming = fresh.get(key)
        if record is None:
            if incoming is None:
                continue
            record = incoming.held or AlertRecord(
                feed_key=feed_key,
                identifier=key,
                origin=incoming.origin,
                received_at=now,
                issuer_tenant=incoming.issuer,
                created_by=incoming.user,
                api_token_id=incoming.token.id if incoming.token else None,
            )
            session.add(record)
            records[key] = record
        if incoming is not None and (
            record.sent is None or record.sent != t.alert.sent or not record.sender
        ):
            _fill_header(record, t.alert, t.source, policy)
            record.received_at = now
            _archive_incoming(session, record, incoming, now)
            for tenant in incoming.targets:
                if all(tg.tenant_id != tenant.id for tg in record.targets):
                    record.targets.append(AlertTarget(tenant=tenant))
        record.phase = t.phase.value
        record.all_clear_until = t.all_clear_until
        record.ended_at = t.ended_at
        record.end_reason = t.end_reason.value if t.end_reason else None
        record.missing_polls = t.missing_polls
    session.flush()
    for key, t in state.entries.items():
        if t.replaced_by and key in records and t.replaced_by in records:
            records[key].replaced_by_id = records[t.replaced_by].id
    return records


def _issuer_of(incoming: Incoming) -> Issuer:
    return Issuer(
        tenant_id=incoming.issuer.id if incoming.issuer is not None else None,
        sender=incoming.alert.sender,
    )


def _owner(record: AlertRecord) -> Issuer:
    if record.feed_key:  # a NINA dashboard's record
        return Issuer.nina_source()
    return Issuer(tenant_id=record.issuer_tenant_id, sender=record.sender)


def _check_ownership(session: Session, incoming: Incoming, issuer: Issuer) -> None:
    """Refuse a local message that names a message outside its issuer scope (issue 11).

    Looks at every stored message it could name: local ones in any phase (a held one
    holds its identifier too) and NINA's on every dashboard.
    """
    names = sorted(lookup_names(incoming.alert))
    rows = session.scalars(select(AlertRecord).where(AlertRecord.identifier.in_(names))).all()
    stored = [
        Stored(r.identifier, _owner(r), held=r.phase in HELD_PHASES)
        for r in rows
        if incoming.held is None or r.id != incoming.held.id
    ]
    check_ownership(incoming.alert, issuer, stored)


def fold(
    session: Session,
    incoming: Incoming,
    now: datetime,
    policy: AlertPolicy,
    *,
    feed_key: str = "",
) -> Outcome:
    """Apply one message to the stored lifecycle of ``feed_key`` ("" = local alerts)."""
    alert = incoming.alert
    if alert.msg_type not in ("Alert", "Update", "Cancel"):
        raise ValidationFailed(
            f"Nachrichtentyp „{alert.msg_type}“ wird nicht verarbeitet "
            "(erwartet: Alert, Update oder Cancel).",
            {"msgType": "Alert, Update oder Cancel"},
        )
    if len(alert.referenced_identifiers()) > MAX_REFERENCES:
        raise ValidationFailed(
            f"Die Meldung verweist auf mehr als {MAX_REFERENCES} Meldungen.",
            {"references": f"höchstens {MAX_REFERENCES} Verweise"},
        )
    issuer = _issuer_of(incoming)
    _check_ownership(session, incoming, issuer)
    keys = {alert.identifier} | set(alert.referenced_identifiers())
    before = _records_for(session, feed_key, keys)
    # Late originals: messages that reference this one. Only the same issuer scope's:
    # another sender's Cancel naming an identifier before it exists ends nothing.
    late = session.scalars(
        select(AlertRecord).where(
            AlertRecord.feed_key == feed_key,
            AlertRecord.msg_type.in_(("Update", "Cancel")),
            AlertRecord.references.contains(alert.identifier),
            AlertRecord.phase.not_in(HELD_PHASES),
            AlertRecord.issuer_tenant_id == issuer.tenant_id,
            AlertRecord.sender == issuer.sender,
        )
    ).all()
    for r in late:
        before.setdefault(r.identifier, r)
    state = LifecycleState({k: _tracked(r) for k, r in before.items()})
    state, changes = receive(
        state, alert, now, source=incoming.source, key=alert.identifier, config=policy.lifecycle
    )
    if any(c.kind is ChangeKind.DUPLICATE for c in changes):
        record = before[alert.identifier]
        if incoming.direction == "received":
            # kept (W14), but not the record's current document
            _archive_incoming(session, record, incoming, now, direction="duplicate")
        return Outcome(record, changes, duplicate=True)
    records = _write_back(
        session, feed_key, before, state, {alert.identifier: incoming}, policy, now
    )
    for change in changes:
        log.info("alert=%s feed=%s event=%s", change.key, feed_key or "local", change.kind.value)
    # Displays showing warnings must learn of it at once (their long-polls wake on commit).
    notify.mark_changed(session, notify.ALERTS)
    return Outcome(records[alert.identifier], changes, touched=list(records.values()))


# --- permissions and tokens ------------------------------------------------------------


def alertable_tenants(session: Session, tenant: Tenant) -> list[Tenant]:
    """The tenant itself and every tenant that allowed it to warn its displays."""
    granted = session.scalars(
        select(Tenant)
        .join(AlertPermission, AlertPermission.tenant_id == Tenant.id)
        .where(AlertPermission.grantee_tenant_id == tenant.id, Tenant.active)
        .order_by(Tenant.name)
    ).all()
    return [tenant, *[t for t in granted if t.id != tenant.id]]


def alert_grantees(session: Session, tenant: Tenant) -> list[Tenant]:
    """The tenants this tenant allowed to warn its displays."""
    return list(
        session.scalars(
            select(Tenant)
            .join(AlertPermission, AlertPermission.grantee_tenant_id == Tenant.id)
            .where(AlertPermission.tenant_id == tenant.id)
            .order_by(Tenant.name)
        ).all()
    )


def grant_alert_permission(
    session: Session, *, tenant: Tenant, grantee: Tenant, now: datetime, actor: User | str
) -> AlertPermission:
    """``tenant`` allows ``grantee`` (its Landkreis) to warn its displays."""
    existing = session.get(AlertPermission, (tenant.id, grantee.id))
    if existing is not None:
        return existing
    permission = AlertPermission(tenant=tenant, grantee=grantee, created_at=now)
    session.add(permission)
    audit.record(
        session,
        now=now,
        action="alert.permission_granted",
        object_type="tenant",
        object_id=tenant.id,
        actor=actor,
        tenant_id=tenant.id,
        details={"grantee": grantee.slug},
    )
    session.flush()
    return permission


def create_api_token(
    session: Session, *, tenant: Tenant, name: str, user: User | None, now: datetime
) -> tuple[ApiToken, str]:
    """A new token with the ``alerts`` scope; the plain value is shown once."""
    if not name.strip():
        raise ValidationFailed("Bitte einen Namen für den Zugang angeben.", {"name": "Pflichtfeld"})
    plain = new_token("ahw")
    token = ApiToken(
        tenant=tenant,
        name=name.strip()[:200],
        token_hash=token_hash(plain),
        scopes="alerts",
        created_at=now,
        created_by_id=user.id if user else None,
    )
    session.add(token)
    audit.record(
        session,
        now=now,
        action="alert.token_created",
        object_type="api_token",
        object_id=name,
        actor=user or "system",
        tenant_id=tenant.id,
    )
    session.flush()
    return token, plain


def authenticate_token(session: Session, plain: str, scope: str, now: datetime) -> ApiToken:
    """The active token for a bearer value with ``scope``; raises PermissionDenied."""
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash(plain)))
    if token is None or token.revoked_at is not None or not token.tenant.active:
        raise PermissionDenied("Unbekannter oder widerrufener Zugangsschlüssel.")
    if not token.has_scope(scope):
        raise PermissionDenied(f"Der Zugangsschlüssel hat keine Berechtigung „{scope}“.")
    token.last_used_at = now
    return token


# --- control-centre API ----------------------------------------------------------------


def _overlaps(code: str, ars: str) -> bool:
    """The warning area and the tenant's territory intersect (one contains the other)."""
    return ars_covers(code, ars) or ars_covers(ars, code)


class AlertRefused(DomainError):
    """A control-centre message refused for who sent it; already in the audit chain.

    The caller commits (so the audit row stays) and answers with ``status``.
    """

    def __init__(self, status: int, reason: str, message: str, named: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.named = named


def _record_refusal(
    session: Session, token: ApiToken, alert: Alert, refused: AlertRefused, now: datetime
) -> None:
    log.warning(
        "alert=%s event=refused reason=%s token=%s tenant=%s",
        alert.identifier,
        refused.reason,
        token.id,
        token.tenant_id,
    )
    audit.record(
        session,
        now=now,
        action="alert.refused",
        object_type="api_token",
        object_id=token.id,
        actor=f"token:{token.name}",
        tenant_id=token.tenant_id,
        details={
            "reason": refused.reason,
            "identifier": alert.identifier[:300],
            "sender": alert.sender[:300],
            "msg_type": alert.msg_type,
            "references": (alert.references or "")[:2000],
            "named": refused.named[:300],
        },
    )


def receive_from_api(
    session: Session,
    *,
    token: ApiToken,
    alert: Alert,
    raw: bytes,
    media_type: str,
    now: datetime,
    policy: AlertPolicy,
) -> Outcome:
    """A CAP message posted by a control centre (idempotent by identifier).

    Targets: the token's tenant and the tenants that allowed it, as far as the
    message's area codes overlap their territory; without area codes only the token's
    tenant. A message whose area lies only in tenants that did not allow it is refused,
    and so is one that reuses or references a message outside the token's issuer scope
    (:mod:`server.domain.alerts.ownership`); both raise :class:`AlertRefused` after
    writing an ``alert.refused`` row to the audit chain.
    """
    allowed = alertable_tenants(session, token.tenant)
    codes = warning_ars_codes(alert)
    if codes:
        targets = [t for t in allowed if any(_overlaps(c, t.ars) for c in codes)]
        if not targets:
            refused = AlertRefused(
                PermissionDenied.status,
                "area_outside",
                "Das Warngebiet der Meldung liegt außerhalb der Mandanten, für die dieser "
                "Zugang warnen darf.",
            )
            _record_refusal(session, token, alert, refused, now)
            raise refused
    else:
        targets = [token.tenant]
    incoming = Incoming(
        alert=alert,
        raw=raw,
        media_type=media_type,
        direction="received",
        origin="api",
        origin_ref=f"token:{token.name}",
        source=Source.API,
        issuer=token.tenant,
        token=token,
        targets=targets,
    )
    try:
        outcome = fold(session, incoming, now, policy)
    except OwnershipRefused as exc:
        refused = AlertRefused(exc.status, exc.reason.value, exc.message, exc.identifier)
        _record_refusal(session, token, alert, refused, now)
        raise refused from None
    if not outcome.duplicate:
        audit.record(
            session,
            now=now,
            action=f"alert.{alert.msg_type.lower()}",
            object_type="alert",
            object_id=outcome.record.id,
            actor=f"token:{token.name}",
            tenant_id=token.tenant_id,
            details={"identifier": alert.identifier, "status": alert.status},
        )
    return outcome


# --- manual Schadenslage (W10) ---------------------------------------------------------


@dataclass
class ManualAlertInput:
    """What the alerter submits on the Schadenslage page."""

    template_key: str
    area_desc: str
    tenant_ids: list[int]
    warnstufe: int
    headline: str
    description: str
    instruction: str
    sender_name: str
    extra_ars: list[str] = field(default_factory=list)
    expires: datetime | None = None
    test_mode: bool = False


def check_manual_input(
    session: Session, tenant: Tenant, data: ManualAlertInput, now: datetime
) -> list[Tenant]:
    """Validate the form; return the target tenants. Raises ValidationFailed/PermissionDenied."""
    errors: dict[str, str] = {}
    try:
        template(data.template_key)
    except KeyError:
        errors["template_key"] = "Bitte eine Vorlage wählen."
    if data.warnstufe not in WARNSTUFEN:
        errors["warnstufe"] = "Warnstufe 1, 2 oder 3 wählen."
    for name in ("headline", "description", "instruction", "sender_name", "area_desc"):
        if not getattr(data, name).strip():
            errors[name] = "Pflichtfeld."
    if data.expires is not None and data.expires <= now:
        errors["expires"] = "Das Ende muss in der Zukunft liegen."
    for code in data.extra_ars:
        try:
            validate_ars(code)
        except ValidationFailed:
            errors["extra_ars"] = f"„{code}“ ist kein 12-stelliger Regionalschlüssel."
    allowed = {t.id: t for t in alertable_tenants(session, tenant)}
    unknown = [i for i in data.tenant_ids if i not in allowed]
    if unknown:
        raise PermissionDenied(
            "Sie dürfen nur die eigenen Anzeigen und die Anzeigen der Kommunen warnen, "
            "die das erlaubt haben."
        )
    if not data.tenant_ids:
        errors["tenant_ids"] = "Mindestens ein Gebiet wählen."
    if errors:
        raise ValidationFailed("Die Warnung ist noch nicht vollständig.", errors)
    return [allowed[i] for i in data.tenant_ids]


def _manual_texts(data: ManualAlertInput) -> ManualTexts:
    t = template(data.template_key)
    return ManualTexts(
        event=t.event,
        category=t.category,
        headline=data.headline.strip(),
        description=data.description.strip(),
        instruction=data.instruction.strip(),
        sender_name=data.sender_name.strip(),
        response_type=t.response_type,
    )


def preview_manual(
    session: Session, *, tenant: Tenant, data: ManualAlertInput, now: datetime, policy: AlertPolicy
) -> tuple[Alert, Presentation]:
    """The message as it would be issued, and how a display would show it."""
    targets = check_manual_input(session, tenant, data, now)
    alert = _build_manual(tenant, data, targets, now, policy, token="vorschau")
    shown = present(alert, Source.MANUAL, test_display=data.test_mode, table=policy.table)
    assert shown is not None
    return alert, shown


def _build_manual(
    tenant: Tenant,
    data: ManualAlertInput,
    targets: Sequence[Tenant],
    now: datetime,
    policy: AlertPolicy,
    token: str,
) -> Alert:
    codes = list(dict.fromkeys([t.ars for t in targets] + [c.strip() for c in data.extra_ars]))
    return build_alert(
        identifier=make_identifier(tenant.ars, token),
        sender=policy.sender,
        sent=now.replace(microsecond=0),
        warnstufe=data.warnstufe,
        texts=_manual_texts(data),
        areas=[ars_area(data.area_desc.strip(), codes)],
        expires=data.expires,
        status="Exercise" if data.test_mode else "Actual",
    )


def _generated(alert: Alert, tenant: Tenant, user: User, targets: Sequence[Tenant]) -> Incoming:
    return Incoming(
        alert=alert,
        raw=build_cap_xml(alert),
        media_type=CAP_MEDIA_TYPE,
        direction="generated",
        origin="manual",
        origin_ref=f"user:{user.email}",
        source=Source.MANUAL,
        issuer=tenant,
        user=user,
        targets=targets,
    )


def needs_confirmation(
    tenant: Tenant,
    *,
    warnstufe: int,
    targets: Sequence[Tenant],
    previous: AlertRecord | None = None,
) -> bool:
    """W10: does this manual message wait for a second person?

    Only if the tenant switched the rule on. Then a new alert always waits; an Update
    waits if it escalates: a more severe Warnstufe (1 is the most severe) or displays
    of a tenant the previous message did not reach. A de-escalating or text-only
    Update goes out at once, and an Entwarnung never waits (see :func:`cancel_manual`).
    """
    if not tenant.alerts_need_confirmation:
        return False
    if previous is None:
        return True
    reached = {t.tenant_id for t in previous.targets}
    return warnstufe < previous.warnstufe or any(t.id not in reached for t in targets)


def _hold(session: Session, incoming: Incoming, now: datetime, policy: AlertPolicy) -> AlertRecord:
    """Store a manual message that waits for a second person: archived, never shown.

    The generated document is final: the second person confirms exactly these bytes,
    and confirming folds this record into the lifecycle (``Incoming.held``).
    """
    alert = incoming.alert
    record = AlertRecord(
        feed_key="",
        identifier=alert.identifier,
        origin=incoming.origin,
        received_at=now,
        issuer_tenant=incoming.issuer,
        created_by=incoming.user,
        phase=AWAITING_CONFIRMATION,
        missing_polls=0,
    )
    _fill_header(record, alert, incoming.source, policy)
    session.add(record)
    _archive_incoming(session, record, incoming, now)
    for tenant in incoming.targets:
        record.targets.append(AlertTarget(tenant=tenant))
    session.flush()
    audit.record(
        session,
        now=now,
        action="alert.confirmation_requested",
        object_type="alert",
        object_id=record.id,
        actor=incoming.user,
        tenant_id=incoming.issuer.id if incoming.issuer else None,
        details={
            "identifier": alert.identifier,
            "msg_type": alert.msg_type,
            "references": alert.references or "",
            "warnstufe": record.warnstufe,
            "status": alert.status,
            "targets": [t.slug for t in incoming.targets],
        },
    )
    log.info("alert=%s feed=local event=%s", alert.identifier, AWAITING_CONFIRMATION)
    return record


def issue_manual(
    session: Session,
    *,
    tenant: Tenant,
    user: User,
    data: ManualAlertInput,
    now: datetime,
    policy: AlertPolicy,
) -> AlertRecord:
    """Issue a manual Schadenslage: a CAP Alert stored as generated document.

    With the tenant's second-person rule on, the record is returned awaiting
    confirmation instead (:func:`needs_confirmation`).
    """
    targets = check_manual_input(session, tenant, data, now)
    alert = _build_manual(tenant, data, targets, now, policy, token=str(uuid.uuid4()))
    incoming = _generated(alert, tenant, user, targets)
    if needs_confirmation(tenant, warnstufe=data.warnstufe, targets=targets):
        return _hold(session, incoming, now, policy)
    outcome = fold(session, incoming, now, policy)
    audit.record(
        session,
        now=now,
        action="alert.issue",
        object_type="alert",
        object_id=outcome.record.id,
        actor=user,
        tenant_id=tenant.id,
        details={
            "identifier": alert.identifier,
            "warnstufe": data.warnstufe,
            "status": alert.status,
            "targets": [t.slug for t in targets],
        },
    )
    return outcome.record


def _own_showing(session: Session, tenant: Tenant, record_id: int) -> AlertRecord:
    record = session.get(AlertRecord, record_id)
    if record is None or record.feed_key != "" or record.issuer_tenant_id != tenant.id:
        raise NotFound("Warnung nicht gefunden.")
    if record.phase != "active":
        raise ValidationFailed("Diese Warnung ist nicht mehr aktiv.")
    return record


def update_manual(
    session: Session,
    *,
    tenant: Tenant,
    user: User,
    record_id: int,
    data: ManualAlertInput,
    now: datetime,
    policy: AlertPolicy,
) -> AlertRecord:
    """Issue an Update that replaces an active alert of this tenant."""
    previous_record = _own_showing(session, tenant, record_id)
    targets = check_manual_input(session, tenant, data, now)
    previous = load_message(previous_record)
    codes = list(dict.fromkeys([t.ars for t in targets] + [c.strip() for c in data.extra_ars]))
    alert = build_update(
        previous,
        identifier=make_identifier(tenant.ars, str(uuid.uuid4())),
        sent=max(now.replace(microsecond=0), previous.sent + timedelta(seconds=1)),
        warnstufe=data.warnstufe,
        texts=_manual_texts(data),
        areas=[ars_area(data.area_desc.strip(), codes)],
        expires=data.expires,
    )
    incoming = _generated(alert, tenant, user, targets)
    if needs_confirmation(
        tenant, warnstufe=data.warnstufe, targets=targets, previous=previous_record
    ):
        return _hold(session, incoming, now, policy)
    outcome = fold(session, incoming, now, policy)
    audit.record(
        session,
        now=now,
        action="alert.update",
        object_type="alert",
        object_id=outcome.record.id,
        actor=user,
        tenant_id=tenant.id,
        details={"identifier": alert.identifier, "replaces": previous.identifier},
    )
    return outcome.record


def cancel_manual(
    session: Session,
    *,
    tenant: Tenant,
    user: User,
    record_id: int,
    now: datetime,
    policy: AlertPolicy,
    description: str | None = None,
) -> AlertRecord:
    """Issue the Entwarnung (a Cancel referencing the alert).

    Never waits for a second person, whatever the tenant's rule: lifting a warning
    only ever reduces what the public is told, and a warning that stays on every
    screen after the danger has passed costs trust in the next one, so speed wins.
    Updates of this alert still awaiting confirmation are discarded with it.
    """
    previous_record = _own_showing(session, tenant, record_id)
    previous = load_message(previous_record)
    alert = build_cancel(
        previous,
        identifier=make_identifier(tenant.ars, str(uuid.uuid4())),
        sent=max(now.replace(microsecond=0), previous.sent + timedelta(seconds=1)),
        description=description or None,
    )
    targets = [t.tenant for t in previous_record.targets]
    outcome = fold(session, _generated(alert, tenant, user, targets), now, policy)
    audit.record(
        session,
        now=now,
        action="alert.cancel",
        object_type="alert",
        object_id=outcome.record.id,
        actor=user,
        tenant_id=tenant.id,
        details={"identifier": alert.identifier, "cancels": previous.identifier},
    )
    waiting = session.scalars(
        select(AlertRecord).where(
            AlertRecord.feed_key == "",
            AlertRecord.phase == AWAITING_CONFIRMATION,
            AlertRecord.references.contains(previous.identifier),
        )
    ).all()
    for held in waiting:
        discard_held(session, held, user=user, reason="Entwarnung ausgelöst", now=now)
    return outcome.record


def discard_held(
    session: Session, record: AlertRecord, *, user: User, reason: str, now: datetime
) -> AlertRecord:
    """End a message awaiting confirmation without showing it (with an audit row)."""
    record.phase = DISCARDED
    record.ended_at = now
    record.end_reason = DISCARDED
    audit.record(
        session,
        now=now,
        action="alert.discarded",
        object_type="alert",
        object_id=record.id,
        actor=user,
        tenant_id=record.issuer_tenant_id,
        details={
            "identifier": record.identifier,
            "reason": reason,
            "requested_by": record.created_by.email if record.created_by else None,
        },
    )
    session.flush()
    log.info("alert=%s feed=local event=%s", record.identifier, DISCARDED)
    return record


# --- time passes -----------------------------------------------------------------------


def tick_alerts(session: Session, now: datetime, policy: AlertPolicy) -> int:
    """End expired warnings and finished Entwarnungen (all feeds)."""
    rows = session.scalars(
        select(AlertRecord).where(AlertRecord.phase.in_(("active", "all_clear")))
    ).all()
    state = LifecycleState({str(r.id): replace(_tracked(r), key=str(r.id)) for r in rows})
    state, changes = tick(state, now, policy.lifecycle)
    by_id = {str(r.id): r for r in rows}
    for change in changes:
        t = state.entries[change.key]
        record = by_id[change.key]
        record.phase = t.phase.value
        record.ended_at = t.ended_at
        record.end_reason = t.end_reason.value if t.end_reason else None
        log.info("alert=%s event=ended reason=%s", record.identifier, record.end_reason)
    if changes:
        notify.mark_changed(session, notify.ALERTS)
    session.flush()
    return len(changes)


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
        health=FeedHealth(
            watching_since=feed.watching_since,
            last_attempt_at=feed.last_attempt_at,
            last_success_at=feed.last_success_at,
            consecutive_failures=feed.consecutive_failures or 0,
            last_error=feed.last_error,
        ),
        etag=feed.etag,
        last_modified=feed.last_modified,
    )
    return state, feed, by_key


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
        },
        sort_keys=True,
    )
    feed.watching_since = state.health.watching_since
    feed.last_attempt_at = state.health.last_attempt_at
    feed.last_success_at = state.health.last_success_at
    feed.consecutive_failures = state.health.consecutive_failures
    feed.last_error = state.health.last_error
    fresh = {}
    for key, raw in documents.items():
        tracked = state.lifecycle.entries.get(key)
        if tracked is None:
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
    return _write_back(session, feed.key, before, state.lifecycle, fresh, policy, now)


def feed_health(session: Session, key: str) -> FeedHealth:
    """The health of one NINA dashboard (W3) for the dashboard and the alert page."""
    feed = session.get(AlertFeed, key)
    if feed is None:
        return FeedHealth()
    return FeedHealth(
        watching_since=feed.watching_since,
        last_attempt_at=feed.last_attempt_at,
        last_success_at=feed.last_success_at,
        consecutive_failures=feed.consecutive_failures or 0,
        last_error=feed.last_error,
    )


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
        health_text=health.status_text(now, policy.stale_after),
        stale=health.is_stale(now, policy.stale_after),
        may_alert=may_alert,
    )


# --- what a display shows (the seam for the player work) -------------------------------


@dataclass(frozen=True)
class DisplayAlert:
    """One warning for one display: the record, its message and how to show it."""

    record: AlertRecord
    alert: Alert
    presentation: Presentation


def _still_showing(record: AlertRecord, now: datetime) -> bool:
    # Correctness never depends on the tick job having run.
    if record.phase == "active":
        return record.expires is None or record.expires > now
    if record.phase == "all_clear":
        return record.all_clear_until is not None and record.all_clear_until > now
    return False


def active_alerts_for_place(
    session: Session,
    *,
    tenant: Tenant,
    place: Place | None = None,
    test_display: bool = False,
    now: datetime,
    policy: AlertPolicy | None = None,
    cache: MessageCache | None = None,
) -> list[DisplayAlert]:
    """Warnings a display of ``tenant`` at ``place`` shows now, most urgent first.

    Local (manual/API) alerts count if the tenant is a target and, when the display
    has its own ARS, the message's area covers it; NINA alerts of the display's Kreis
    dashboard count if relevant (W4). Status filter (W7), priority (W8) and
    de-duplication (W5) are applied. Messages are parsed once per document
    (``cache``, the process-wide :data:`message_cache` by default).
    """
    policy = policy or AlertPolicy()
    place = place or Place(tenant.ars)
    local = session.scalars(
        select(AlertRecord)
        .join(AlertTarget, AlertTarget.alert_id == AlertRecord.id)
        .where(
            AlertTarget.tenant_id == tenant.id,
            AlertRecord.feed_key == "",
            AlertRecord.phase.in_(("active", "all_clear")),
        )
        .options(selectinload(AlertRecord.documents))
    ).all()
    nina = session.scalars(
        select(AlertRecord)
        .where(
            AlertRecord.feed_key == nina_dashboard_key(place.ars),
            AlertRecord.phase.in_(("active", "all_clear")),
        )
        .options(selectinload(AlertRecord.documents))
    ).all()
    result: dict[str, DisplayAlert] = {}
    for record in [*local, *nina]:
        if not _still_showing(record, now):
            continue
        alert = load_message(record, cache)
        if record.feed_key:
            if not relevance(alert, place, from_own_dashboard=True).relevant:
                continue
        elif record.target_ars and not relevance(alert, place).relevant:
            if place.ars != tenant.ars:
                continue
        shown = present(alert, Source(record.source), test_display=test_display, table=policy.table)
        if shown is None:
            continue
        key = record.dedup_key or f"id:{record.id}"
        if key not in result or record.sent > result[key].record.sent:
            result[key] = DisplayAlert(record, alert, shown)

    def urgency(item: DisplayAlert) -> tuple[int, int, datetime]:
        rank = item.presentation.behaviour.rank
        return (-rank, item.presentation.warnstufe, item.record.sent)

    return sorted(result.values(), key=urgency)


def takeover_needed(alerts: Sequence[DisplayAlert]) -> bool:
    """True if any of the warnings takes over the screen."""
    return any(
        a.presentation.behaviour in (Behaviour.TAKEOVER, Behaviour.ALTERNATE) for a in alerts
    )


def public_alerts(session: Session, tenant: Tenant, now: datetime) -> list[DisplayAlert]:
    """Active warnings for the public feeds of a tenant (W16): Actual + Public only."""
    return [
        a
        for a in active_alerts_for_place(session, tenant=tenant, now=now)
        if a.presentation.behaviour is not Behaviour.ALL_CLEAR
    ]


def find_document(session: Session, identifier: str) -> AlertRecord:
    """The record behind a stable CAP URL; only Actual+Public messages are public.

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
    ):
        raise NotFound("Meldung nicht gefunden.")
    return record
