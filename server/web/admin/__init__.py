"""Staff area: ``/admin/<tenant>/…`` (roles per tenant) and ``/admin/system/…``.

One module per page group; each registers its views on ``bp``.
"""

from . import (  # noqa: F401  (each registers its views on ``bp``)
    alert_cancel,
    alert_delivery,
    alert_reports,
    alert_setup,
    alerts,
    archive_export,
    availability,
    common,
    dashboard,
    display_board,
    display_content,
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
from .blueprint import bp

__all__ = ["bp"]
