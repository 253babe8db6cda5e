"""Use cases of the warning area: issue, receive, update, cancel, poll NINA, show.

Every function takes the session and ``now``, adds and flushes, never commits. The
lifecycle rules live in :mod:`server.domain.alerts`; here records are turned into a
small :class:`~server.domain.alerts.LifecycleState`, the rule is applied, and the
result is written back.

Modules, one seam each: ``policy`` (settings, held phases), ``records`` (records <->
messages, the parse cache, archives), ``ingest`` (fold, the control-centre API, tick),
``access`` (permissions, tokens), ``manual`` (W10), ``health`` (NINA feed state, W3),
``display`` (what a display shows), ``public`` (feeds, CAP URLs). Everything is
re-exported here, private helpers included, so ``from server.services import alerts as
svc; svc.name`` keeps working; a name patched in a test must be patched in its module.
"""

# The warning templates (W10) were reachable as ``svc.template`` before the split.
from ...domain.alerts import template
from .access import (
    alert_grantees,
    alertable_tenants,
    authenticate_token,
    create_api_token,
    grant_alert_permission,
    list_api_tokens,
    revoke_api_token,
)
from .display import (
    DisplayAlert,
    _still_showing,
    active_alerts_for_place,
    takeover_needed,
)
from .health import (
    WarningStatus,
    feed_health,
    load_feed_state,
    nina_feed_keys,
    store_feed_state,
    warning_status,
)
from .ingest import (
    AlertRefused,
    _check_ownership,
    _issuer_of,
    _overlaps,
    _owner,
    _record_refusal,
    _records_for,
    _write_back,
    fold,
    receive_from_api,
    tick_alerts,
)
from .manual import (
    ManualAlertInput,
    _build_manual,
    _generated,
    _hold,
    _manual_texts,
    _own_showing,
    cancel_manual,
    check_manual_input,
    discard_held,
    issue_manual,
    needs_confirmation,
    preview_manual,
    update_manual,
)
from .policy import (
    AWAITING_CONFIRMATION,
    CAP_MEDIA_TYPE,
    DISCARDED,
    HELD_PHASES,
    JSON_MEDIA_TYPE,
    MAX_REFERENCES,
    AlertPolicy,
    policy_from_config,
)
from .public import (
    find_document,
    public_alerts,
)
from .records import (
    Incoming,
    MessageCache,
    Outcome,
    _archive,
    _archive_incoming,
    _fill_header,
    _tracked,
    load_message,
    message_cache,
    parse_document,
    skeleton,
)

__all__ = [
    "template",
    "AWAITING_CONFIRMATION",
    "AlertPolicy",
    "AlertRefused",
    "CAP_MEDIA_TYPE",
    "DISCARDED",
    "DisplayAlert",
    "HELD_PHASES",
    "Incoming",
    "JSON_MEDIA_TYPE",
    "MAX_REFERENCES",
    "ManualAlertInput",
    "MessageCache",
    "Outcome",
    "WarningStatus",
    "_archive",
    "_archive_incoming",
    "_build_manual",
    "_check_ownership",
    "_fill_header",
    "_generated",
    "_hold",
    "_issuer_of",
    "_manual_texts",
    "_overlaps",
    "_own_showing",
    "_owner",
    "_record_refusal",
    "_records_for",
    "_still_showing",
    "_tracked",
    "_write_back",
    "active_alerts_for_place",
    "alert_grantees",
    "alertable_tenants",
    "authenticate_token",
    "cancel_manual",
    "check_manual_input",
    "create_api_token",
    "discard_held",
    "feed_health",
    "find_document",
    "fold",
    "grant_alert_permission",
    "list_api_tokens",
    "revoke_api_token",
    "issue_manual",
    "load_feed_state",
    "load_message",
    "message_cache",
    "needs_confirmation",
    "nina_feed_keys",
    "parse_document",
    "policy_from_config",
    "preview_manual",
    "public_alerts",
    "receive_from_api",
    "skeleton",
    "store_feed_state",
    "takeover_needed",
    "tick_alerts",
    "update_manual",
    "warning_status",
]
