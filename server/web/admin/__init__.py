"""Staff area: ``/admin/<tenant>/…`` (roles per tenant) and ``/admin/system/…``.

One module per page group; each registers its views on ``bp``.
"""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from . import (  # noqa: E402,F401
    alert_delivery,
    alerts,
    archive_export,
    availability,
    common,
    dashboard,
    display_ops,
    displays,
    feedback,
    notice_actions,
    notices,
    oparl_sources,
    preview,
    system,
    tenant,
    users,
)
