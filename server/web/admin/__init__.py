"""Staff area: ``/admin/<tenant>/…`` (roles per tenant) and ``/admin/system/…``.

One module per page group; each registers its views on ``bp``.
"""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from . import (  # noqa: E402,F401
    alert_delivery,
    alert_reports,
    alert_setup,
    alerts,
    archive_export,
    availability,
    common,
    dashboard,
    display_board,
    display_ops,
    displays,
    feedback,
    notice_actions,
    notices,
    oparl_sources,
    people_mailbox,
    preview,
    system,
    tenant,
    users,
)
