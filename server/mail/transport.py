"""Handing mail over: SMTP (``AUSHANG_SMTP_URL``) or, unconfigured, a local Maildir.

``AUSHANG_SMTP_URL`` forms:

* ``smtp://user:password@host:587`` — plain connection upgraded with STARTTLS when the
  server offers it (required unless the host is a loopback address);
* ``smtp+starttls://…`` — STARTTLS required;
* ``smtps://…:465`` — TLS from the first byte (SMTPS);
* user and password are URL-encoded; without them no authentication is attempted.
"""

from __future__ import annotations

import mailbox
import smtplib
import ssl
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

LOOPBACK = {"127.0.0.1", "::1", "localhost"}


class TemporaryFailure(Exception):
    """Try again later (server unreachable, 4xx)."""


class PermanentFailure(Exception):
    """This recipient will not take it (5xx for the address)."""


class Connection(Protocol):
    def send(self, message: EmailMessage) -> None: ...


class Transport(Protocol):
    def open(self) -> AbstractContextManager[Connection]: ...

    description: str
    parallel: int  # connections the sender may open at once


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    mode: str  # "starttls", "starttls-if-offered", "tls"
    username: str = ""
    password: str = ""
    timeout: float = 20.0


def parse_smtp_url(url: str) -> SmtpSettings:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    modes = {"smtp": "starttls-if-offered", "smtp+starttls": "starttls", "smtps": "tls"}
    if scheme not in modes or not parts.hostname:
        raise ValueError("AUSHANG_SMTP_URL: smtp://, smtp+starttls:// or smtps://host[:port]")
    mode = modes[scheme]
    if mode == "starttls-if-offered" and parts.hostname not in LOOPBACK:
        mode = "starttls"  # credentials never cross the network in the clear
    return SmtpSettings(
        host=parts.hostname,
        port=parts.port or (465 if mode == "tls" else 587),
        mode=mode,
        username=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
    )


class _SmtpConnection:
    def __init__(self, client: smtplib.SMTP) -> None:
        self.client = client

    def send(self, message: EmailMessage) -> None:
        try:
            refused = self.client.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            if all(c >= 500 for c in codes):
                raise PermanentFailure(str(exc.recipients)) from exc
            raise TemporaryFailure(str(exc.recipients)) from exc
        except smtplib.SMTPResponseException as exc:
            if exc.smtp_code >= 500:
                raise PermanentFailure(f"{exc.smtp_code} {exc.smtp_error!r}") from exc
            raise TemporaryFailure(f"{exc.smtp_code} {exc.smtp_error!r}") from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise TemporaryFailure(repr(exc)) from exc
        if refused:
            raise PermanentFailure(str(refused))


class SmtpTransport:
    def __init__(
        self, settings: SmtpSettings, context: ssl.SSLContext | None = None, parallel: int = 4
    ) -> None:
        self.settings = settings
        self.context = context or ssl.create_default_context()
        self.description = f"SMTP {settings.host}:{settings.port} ({settings.mode})"
        self.parallel = parallel

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        if s.mode == "tls":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                s.host, s.port, timeout=s.timeout, context=self.context
            )
        else:
            client = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
            client.ehlo()
            if s.mode == "starttls" or client.has_extn("starttls"):
                client.starttls(context=self.context)
                client.ehlo()
        if s.username:
            client.login(s.username, s.password)
        return client

    @contextmanager
    def open(self) -> Iterator[Connection]:
        try:
            client = self._connect()
        except (OSError, smtplib.SMTPException) as exc:
            raise TemporaryFailure(f"{self.description}: {exc!r}") from exc
        try:
            yield _SmtpConnection(client)
        finally:
            try:
                client.quit()
            except (OSError, smtplib.SMTPException):
                client.close()


class _MaildirConnection:
    def __init__(self, box: mailbox.Maildir) -> None:
        self.box = box

    def send(self, message: EmailMessage) -> None:
        self.box.add(message)


class MaildirTransport:
    """Development and demo: every mail lands in a Maildir (readable by any mail
    client, and shown on the system admin's page "Postausgang")."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.description = f"Maildir {self.path}"
        self.parallel = 1  # Maildir's unique names count per process, not per thread

    @contextmanager
    def open(self) -> Iterator[Connection]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        box = mailbox.Maildir(self.path, create=True)
        for sub in ("tmp", "new", "cur"):  # an empty folder made by hand is fine too
            (self.path / sub).mkdir(exist_ok=True)
        yield _MaildirConnection(box)


def from_config(config: dict) -> SmtpTransport | MaildirTransport:
    url = config.get("AUSHANG_SMTP_URL") or ""
    if url:
        return SmtpTransport(parse_smtp_url(url))
    return MaildirTransport(config["AUSHANG_MAILDIR"])
