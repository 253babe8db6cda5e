"""The mail component: SMTP hand-over with headers, retries when the server is away,
STARTTLS with authentication, and the Maildir of an unconfigured installation."""

from __future__ import annotations

import mailbox
import ssl
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from server.extensions import db
from server.mail import parse_smtp_url
from server.mail.transport import SmtpTransport
from server.models import OutboxMessage
from server.services import people

from ..server.web.conftest import login_as
from .fakes import SmtpServer, free_port

NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


def links_in(message) -> list[str]:
    text = message.get_body(("plain",)).get_content()
    return [w for w in text.split() if w.startswith("http://")]


def test_a_queued_mail_arrives_once_with_german_parts_and_headers(app_ctx, factory, smtp, send):
    tenant = factory.tenant()
    factory.user(tenant, "editor", email="erika@musterstadt.example", name="Erika Muster")
    people.request_password_reset(db.session, "Erika@Musterstadt.example", NOW)
    db.session.commit()
    assert send(NOW) == 1
    assert send(NOW + timedelta(minutes=5)) == 0  # nothing twice
    [message] = smtp.to("erika@musterstadt.example")
    assert message["Subject"] == "Aushang: Passwort zurücksetzen"
    assert message["From"] == "Aushang <aushang@127.0.0.1>"
    assert message["Message-ID"].endswith("@127.0.0.1>")
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["List-Unsubscribe"] is None  # account mail, not a subscription
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "Guten Tag Erika Muster" in text and 'lang="de"' in html
    [link] = links_in(message)
    assert link in html
    row = db.session.scalars(select(OutboxMessage)).one()
    assert row.status == "sent" and row.message_id == message["Message-ID"]


def test_a_stopped_smtp_server_delays_mail_without_losing_it(app_ctx, factory, smtp, send):
    tenant = factory.tenant()
    factory.user(tenant, "editor", email="erika@musterstadt.example")
    smtp.stop()
    people.request_password_reset(db.session, "erika@musterstadt.example", NOW)
    db.session.commit()
    assert send(NOW) == 1  # tried, deferred
    row = db.session.scalars(select(OutboxMessage)).one()
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.next_attempt_at == NOW + timedelta(minutes=1)
    assert "127.0.0.1" in row.last_error
    assert send(NOW + timedelta(seconds=30)) == 0  # not due yet: no attempt
    assert send(NOW + timedelta(minutes=1)) == 1  # second failure: two minutes now
    db.session.refresh(row)
    assert (row.attempts, row.next_attempt_at) == (2, NOW + timedelta(minutes=3))
    smtp.start()
    assert send(NOW + timedelta(minutes=3)) == 1
    assert len(smtp.to("erika@musterstadt.example")) == 1
    db.session.refresh(row)
    assert row.status == "sent"
    assert send(NOW + timedelta(hours=1)) == 0
    assert len(smtp.received) == 1


def test_without_smtp_url_mail_goes_to_the_maildir_the_system_admin_sees(
    app_ctx, factory, send, tmp_path
):
    app_ctx.config["AUSHANG_SMTP_URL"] = ""
    app_ctx.config["AUSHANG_MAILDIR"] = str(tmp_path / "post")
    tenant = factory.tenant()
    factory.user(tenant, "editor", email="erika@musterstadt.example")
    root = factory.user(None, email="root@aushang.example", system_admin=True)
    people.request_password_reset(db.session, "erika@musterstadt.example", NOW)
    db.session.commit()
    send(NOW)
    [(key, message)] = list(mailbox.Maildir(tmp_path / "post").items())
    assert message["To"] == "erika@musterstadt.example"
    client = app_ctx.test_client()
    login_as(client, root)
    page = client.get("/admin/system/post").get_data(as_text=True)
    assert str(tmp_path / "post") in page and "Aushang: Passwort zurücksetzen" in page
    shown = client.get(f"/admin/system/post/{key}").get_data(as_text=True)
    assert "/passwort-neu/" in shown
    editor = factory.user(tenant, "admin", email="admin@musterstadt.example")
    db.session.commit()
    other = app_ctx.test_client()
    login_as(other, editor)
    assert other.get("/admin/system/post").status_code == 403


def test_smtp_urls():
    s = parse_smtp_url("smtps://post%40stadt.de:g%3Aheim@mail.stadt.de")
    assert (s.host, s.port, s.mode, s.username, s.password) == (
        "mail.stadt.de",
        465,
        "tls",
        "post@stadt.de",
        "g:heim",
    )
    assert parse_smtp_url("smtp://relay.stadt.de").mode == "starttls"  # never plain off-host
    assert parse_smtp_url("smtp://127.0.0.1:2525").mode == "starttls-if-offered"
    assert parse_smtp_url("smtp+starttls://relay:25").port == 25
    with pytest.raises(ValueError):
        parse_smtp_url("http://relay")


def _self_signed(tmp_path):
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(datetime.now(UTC) - timedelta(days=1))
        .not_valid_after(datetime.now(UTC) + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


def test_starttls_and_authentication(app_ctx, tmp_path):
    from email.message import EmailMessage

    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    from .fakes import _Collect

    cert, key = _self_signed(tmp_path)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    box = SmtpServer()
    seen: list[tuple[str, str]] = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        seen.append((auth_data.login.decode(), auth_data.password.decode()))
        return AuthResult(success=auth_data.password == b"Geheim-2026")

    controller = Controller(
        _Collect(box),
        hostname="127.0.0.1",
        port=free_port(),
        tls_context=server_ctx,
        require_starttls=True,
        authenticator=authenticator,
        auth_required=True,
    )
    controller.start()
    try:
        url = f"smtp+starttls://post%40stadt.de:Geheim-2026@127.0.0.1:{controller.port}"
        client_ctx = ssl.create_default_context(cafile=str(cert))
        transport = SmtpTransport(parse_smtp_url(url), context=client_ctx)
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = "a@x.example", "b@x.example", "Test"
        message.set_content("Grüße")
        with transport.open() as conn:
            conn.send(message)
        assert seen == [("post@stadt.de", "Geheim-2026")]
        assert [m["Subject"] for _, m in box.received] == ["Test"]
    finally:
        controller.stop()


def test_delivered_rows_are_forgotten_after_a_month(app_ctx, factory, smtp, send):
    from server.jobs.messages import forget_sent
    from server.mail import outbox

    tenant = factory.tenant()
    factory.user(tenant, "editor", email="erika@musterstadt.example")
    people.request_password_reset(db.session, "erika@musterstadt.example", NOW)
    outbox.mail(db.session, "staff.password_reset", "x@y.example", NOW, dedupe_key="once")
    db.session.commit()
    send(NOW)
    assert forget_sent(db.session, NOW + timedelta(days=29)) == 0
    assert forget_sent(db.session, NOW + timedelta(days=31)) == 1
    # A row with a dedupe key stays: it is what keeps its event from being told twice.
    assert [r.dedupe_key for r in db.session.scalars(select(OutboxMessage))] == ["once"]
