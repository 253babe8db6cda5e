"""Citizens' e-mail subscriptions (issue 18, Build 3): double opt-in, one-click
unsubscribe (RFC 8058), expired links, repeated subscriptions, malformed addresses,
and no answer that tells whether an address is subscribed."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import delete, func, select

from server.extensions import db
from server.jobs.messages import queue_citizen_messages
from server.models import EmailSubscription, Notice, OutboxMessage
from server.services.notice_phases import record_phase_changes

from ..factories import issue_template_alert
from .test_invitations import Statements

NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
PAGE = "/musterstadt/benachrichtigungen"


@pytest.fixture()
def town(app_ctx, factory):
    app_ctx.config["AUSHANG_CLOCK"] = lambda: NOW
    tenant = factory.tenant("musterstadt", name="Musterstadt")
    cats = (factory.category(tenant, "Satzungen"), factory.category(tenant, "Bauleitplanung"))
    editor = factory.user(tenant, "editor", "alerter", email="editor@m.example")
    approver = factory.user(tenant, "approver", email="approver@m.example")
    db.session.commit()
    return tenant, cats, editor, approver


def _form(email: str, **kw) -> dict:
    data = {"email": email, "notices": "1", "mode": "immediate"}
    data.update(kw)
    return data


def _confirm_path(message) -> str:
    text = message.get_body(("plain",)).get_content()
    [url] = re.findall(r"http://\S+/bestaetigen/\S+", text)
    return urlsplit(url).path


def _subscribe_and_confirm(client, smtp, send, email: str, **kw) -> None:
    before = len(smtp.to(email))
    assert client.post(PAGE, data=_form(email, **kw)).status_code == 200
    send(NOW)
    path = _confirm_path(smtp.to(email)[before])
    assert client.post(path).status_code == 200


def test_double_opt_in_stores_nothing_before_the_confirmation(town, app_ctx, smtp, send):
    tenant, cats, _, _ = town
    client = app_ctx.test_client()
    page = client.get(PAGE).get_data(as_text=True)
    assert "Gespeichert werden nur Ihre E-Mail-Adresse und diese Auswahl" in page
    r = client.post(PAGE, data=_form("Buerger@Example.de", categories=[str(cats[0].id)]))
    assert r.status_code == 200 and "Fast geschafft" in r.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(EmailSubscription)) == 0
    send(NOW)
    [mail] = smtp.to("buerger@example.de")
    assert mail["Subject"] == "Bitte bestätigen: Benachrichtigungen aus Musterstadt"
    text = mail.get_body(("plain",)).get_content()
    assert "Bekanntmachungen der Kategorien Satzungen, sofort bei Aushang" in text
    path = _confirm_path(mail)
    shown = client.get(path)  # a link scanner's GET subscribes nobody
    assert shown.status_code == 200 and "Jetzt bestätigen" in shown.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(EmailSubscription)) == 0
    done = client.post(path)
    assert done.status_code == 200 and "Abonnement bestätigt" in done.get_data(as_text=True)
    sub = db.session.scalars(select(EmailSubscription)).one()
    assert (sub.email, sub.category_ids(), sub.mode, sub.warnings) == (
        "buerger@example.de",
        {cats[0].id},
        "immediate",
        False,
    )


def test_no_answer_tells_whether_an_address_is_subscribed(town, app_ctx, smtp, send):
    client = app_ctx.test_client()
    _subscribe_and_confirm(client, smtp, send, "bekannt@example.de")
    answers = []
    for email in ("bekannt@example.de", "fremd@example.de"):
        db.session.remove()
        with Statements() as sql:
            r = client.post(PAGE, data=_form(email))
        answers.append((r.status_code, r.get_data(as_text=True).replace(email, "ADDR"), sql.seen))
    assert answers[0] == answers[1]
    assert not any("email_subscription" in s for s in answers[0][2])


def test_repeated_subscription_replaces_the_choice(town, app_ctx, smtp, send):
    tenant, cats, _, _ = town
    client = app_ctx.test_client()
    _subscribe_and_confirm(client, smtp, send, "b@example.de")
    _subscribe_and_confirm(
        client,
        smtp,
        send,
        "b@example.de",
        categories=[str(cats[1].id)],
        mode="digest",
        warnings="1",
    )
    sub = db.session.scalars(select(EmailSubscription)).one()
    assert (sub.category_ids(), sub.mode, sub.warnings) == ({cats[1].id}, "digest", True)


def test_expired_and_forged_confirmation_links(town, app_ctx, smtp, send):
    client = app_ctx.test_client()
    client.post(PAGE, data=_form("spaet@example.de"))
    send(NOW)
    path = _confirm_path(smtp.to("spaet@example.de")[0])
    assert client.get(path[:-2] + "xx").status_code == 404
    app_ctx.config["AUSHANG_CLOCK"] = lambda: NOW + timedelta(hours=48, seconds=1)
    r = client.post(path)
    assert r.status_code == 410 and "abgelaufen" in r.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(EmailSubscription)) == 0


@pytest.mark.parametrize(
    "address",
    ["", "kein-at", "a@b", "zwei@@example.de", "leer zeichen@example.de", "x" * 250 + "@e.de"],
)
def test_malformed_addresses_are_refused_with_a_field_error(town, app_ctx, address):
    client = app_ctx.test_client()
    r = client.post(PAGE, data=_form(address))
    assert r.status_code == 422
    assert 'id="email-error"' in r.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_bad_choices_and_rate_limits(town, app_ctx):
    tenant, cats, _, _ = town
    client = app_ctx.test_client()
    r = client.post(PAGE, data={"email": "a@example.de", "mode": "immediate"})
    assert r.status_code == 422 and 'id="what-error"' in r.get_data(as_text=True)
    r = client.post(PAGE, data=_form("a@example.de", categories=["999"]))
    assert r.status_code == 422 and 'id="categories-error"' in r.get_data(as_text=True)
    codes = [client.post(PAGE, data=_form("viel@example.de")).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]  # per address
    other = app_ctx.test_client()
    other.environ_base["REMOTE_ADDR"] = "198.51.100.7"
    codes = [other.post(PAGE, data=_form(f"n{i}@example.de")).status_code for i in range(21)]
    assert codes[:20] == [200] * 20 and codes[20] == 429  # per client


def test_notice_mail_with_one_click_unsubscribe(town, app_ctx, factory, smtp, send):
    tenant, cats, editor, approver = town
    client = app_ctx.test_client()
    _subscribe_and_confirm(client, smtp, send, "satzung@example.de", categories=[str(cats[0].id)])
    _subscribe_and_confirm(client, smtp, send, "bau@example.de", categories=[str(cats[1].id)])
    _subscribe_and_confirm(client, smtp, send, "alles@example.de")
    factory.released_notice(tenant, cats[0], editor, approver, title="Hundesteuersatzung")
    db.session.execute(delete(OutboxMessage).where(OutboxMessage.kind.like("staff.%")))
    record_phase_changes(db.session, NOW)  # "in Aushang": the event subscribers hear of
    db.session.commit()
    smtp.received.clear()
    send(NOW)
    assert sorted(r[0] for r, _ in smtp.received) == ["alles@example.de", "satzung@example.de"]
    [mail] = smtp.to("satzung@example.de")
    assert mail["Subject"] == "Neue Bekanntmachung: Hundesteuersatzung"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = urlsplit(mail["List-Unsubscribe"].strip("<>")).path
    text = mail.get_body(("plain",)).get_content()
    [notice_url] = re.findall(r"http://\S+/bekanntmachungen/\S+", text)
    assert app_ctx.test_client().get(urlsplit(notice_url).path).status_code == 200
    # RFC 8058: the mail client posts this body, without cookies or a form token.
    mailer = app_ctx.test_client()
    body = "List-Unsubscribe=One-Click"
    first = mailer.post(unsubscribe, data=body, content_type="application/x-www-form-urlencoded")
    again = mailer.post(unsubscribe, data=body, content_type="application/x-www-form-urlencoded")
    assert first.status_code == again.status_code == 200
    assert first.get_data() == again.get_data()  # the same answer, nothing left to tell
    left = set(db.session.scalars(select(EmailSubscription.email)))
    assert left == {"bau@example.de", "alles@example.de"}
    assert mailer.get(unsubscribe).status_code == 200  # the page with the button


def test_warnings_of_the_kommune_as_an_option_of_their_own(town, app_ctx, smtp, send):
    tenant, _, editor, _ = town
    client = app_ctx.test_client()
    _subscribe_and_confirm(client, smtp, send, "warn@example.de", notices="", warnings="1")
    _subscribe_and_confirm(client, smtp, send, "nur-bekanntmachungen@example.de")
    issue_template_alert(db.session, tenant, editor, NOW, sender_name="Stadt Musterstadt")
    db.session.commit()
    assert queue_citizen_messages(db.session, NOW) == 1
    assert queue_citizen_messages(db.session, NOW + timedelta(minutes=1)) == 0  # once
    db.session.commit()
    smtp.received.clear()
    send(NOW)
    [mail] = smtp.to("warn@example.de")
    assert mail["Subject"].startswith("Warnung für Musterstadt: ")
    assert mail["List-Unsubscribe"] and len(smtp.received) == 1
    assert "Handlungsempfehlung:" in mail.get_body(("plain",)).get_content()


def test_daily_digest(town, app_ctx, factory, smtp, send):
    tenant, cats, editor, approver = town
    client = app_ctx.test_client()
    _subscribe_and_confirm(client, smtp, send, "taeglich@example.de", mode="digest")
    factory.released_notice(tenant, cats[0], editor, approver, title="Erste Satzung")
    factory.released_notice(tenant, cats[1], editor, approver, title="Zweiter Plan")
    db.session.commit()
    smtp.received.clear()
    tomorrow = NOW + timedelta(days=1)
    for notice in db.session.scalars(select(Notice)):
        notice.starts_at = NOW + timedelta(hours=1)
    assert queue_citizen_messages(db.session, NOW + timedelta(hours=2)) == 0  # not a day yet
    assert queue_citizen_messages(db.session, tomorrow) == 1
    assert queue_citizen_messages(db.session, tomorrow + timedelta(hours=1)) == 0
    db.session.commit()
    send(tomorrow)
    [mail] = smtp.to("taeglich@example.de")
    assert mail["Subject"] == "Neue Bekanntmachungen aus Musterstadt (2)"
    text = mail.get_body(("plain",)).get_content()
    assert "Erste Satzung" in text and "Zweiter Plan" in text and mail["List-Unsubscribe"]
