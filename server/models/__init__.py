"""Typed SQLAlchemy 2 models, one module per area of the product.

Importing this package registers every table with the metadata Alembic compares.
"""

from .access import LimitEvent, LoginSession
from .alerts import (
    ALERT_ORIGIN_LABELS,
    ALERT_ORIGINS,
    AlertDocument,
    AlertFeed,
    AlertPermission,
    AlertRecord,
    AlertTarget,
    ApiToken,
    TenantArea,
)
from .audit import AuditEntry
from .displays import (
    CONTENT_KIND_LABELS,
    CONTENT_KINDS,
    ORIENTATION_LABELS,
    ORIENTATIONS,
    OUTAGE_DECISION_LABELS,
    OUTAGE_DECISIONS,
    AlertDelivery,
    ContentItem,
    Display,
    DisplayChange,
    DisplayGroup,
    Heartbeat,
    Outage,
    PairingRequest,
    PlayEvent,
    ProvisioningToken,
    SentItem,
)
from .feedback import Feedback
from .history import DisplayState, InternetOutage, NoticeExtension, ServerHeartbeat
from .meetings import NoticeMeeting, OParlSource
from .messaging import (
    EmailSubscription,
    InstallationKey,
    OutboxMessage,
    PushSubscription,
    StaffInvitation,
)
from .notices import NOTICE_STATUSES, VERSION_STATUSES, Attachment, Notice, NoticeVersion
from .tenants import (
    CHANNEL_KIND_LABELS,
    CHANNEL_KINDS,
    ROLE_LABELS,
    ROLES,
    Category,
    Membership,
    PublicationChannel,
    Tenant,
    User,
    category_binding_channel,
)
from .types import UTCDateTime

__all__ = [
    "DisplayState",
    "InternetOutage",
    "NoticeExtension",
    "ServerHeartbeat",
    "ALERT_ORIGINS",
    "ALERT_ORIGIN_LABELS",
    "AlertDelivery",
    "AlertDocument",
    "AlertFeed",
    "AlertPermission",
    "AlertRecord",
    "AlertTarget",
    "ApiToken",
    "Attachment",
    "AuditEntry",
    "CHANNEL_KINDS",
    "CHANNEL_KIND_LABELS",
    "CONTENT_KINDS",
    "CONTENT_KIND_LABELS",
    "Category",
    "Feedback",
    "ContentItem",
    "Display",
    "DisplayChange",
    "DisplayGroup",
    "Heartbeat",
    "LimitEvent",
    "LoginSession",
    "Membership",
    "NOTICE_STATUSES",
    "Notice",
    "NoticeMeeting",
    "ORIENTATIONS",
    "ORIENTATION_LABELS",
    "OUTAGE_DECISIONS",
    "OUTAGE_DECISION_LABELS",
    "OParlSource",
    "Outage",
    "PairingRequest",
    "PlayEvent",
    "SentItem",
    "ProvisioningToken",
    "NoticeVersion",
    "PublicationChannel",
    "ROLES",
    "ROLE_LABELS",
    "Tenant",
    "User",
    "UTCDateTime",
    "VERSION_STATUSES",
    "category_binding_channel",
    "EmailSubscription",
    "InstallationKey",
    "OutboxMessage",
    "PushSubscription",
    "StaffInvitation",
    "TenantArea",
]
from .push import PushChannel, PushOutbox  # noqa: E402  (issue 15)

__all__ += ["PushChannel", "PushOutbox"]
