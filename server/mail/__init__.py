"""Outgoing mail and push (issue 18): the outbox, composers, transports, the sender.

Importing the package registers every composer (account, staff, citizens).
"""

from . import account, citizens, staff  # noqa: F401  (register composers)
from .outbox import backoff, bulk_rows, enqueue, mail
from .sender import Outcome, deliver_mail, deliver_push, expand_fanouts
from .transport import MaildirTransport, SmtpTransport, from_config, parse_smtp_url

__all__ = [
    "MaildirTransport",
    "Outcome",
    "SmtpTransport",
    "backoff",
    "bulk_rows",
    "deliver_mail",
    "deliver_push",
    "enqueue",
    "expand_fanouts",
    "from_config",
    "mail",
    "parse_smtp_url",
]
