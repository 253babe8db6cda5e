"""Staff hear of what waits for them (issue 18, Build 2): one mail per person and
event, the right people only, German text with a working link, and each person's
choice respected."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import delete

from server.extensions import db
from server.jobs.displays import detect_outages
from server.mail import staff
from server.models import Display, Outage, OutboxMessage
from server.services import notices as svc
from server.services.displays import enrolment
from server.services.displays.reports import record_heartbeat

from ..factories import issue_template_alert
from ..server.web.conftest import login_as

NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


def _people(factory):
    tenant = factory.tenant("musterstadt", name="Stadt Musterstadt")
    other = factory.tenant("anderstadt", ars="150830000000", name="Anderstadt")
    cat = factory.category(tenant, "Satzungen")
    u = {
        "editor": factory.user(tenant, "editor", email="editor@m.example", name="Erika Redlich"),
        "editor2": factory.user(tenant, "editor", email="editor2@m.example"),
        "approver": factory.user(tenant, "approver", email="approver@m.example"),
        "approver2": factory.user(tenant, "approver", email="approver2@m.example"),
        "alerter": factory.user(tenant, "alerter", email="alerter@m.example"),
        "alerter2": factory.user(tenant, "alerter", email="alerter2@m.example"),
        "admin": factory.user(tenant, "admin", email="admin@m.example"),
        "stranger": factory.user(other, "approver", "alerter", "admin", email="b@b.example"),
    }
    db.session.commit()
    return tenant, cat, u


def _subjects(smtp, address: str) -> list[str]:
    # Sorted: mail goes out over several SMTP connections at once, so arrival order is
    # not part of the contract (each message's presence and count is).
    return sorted(m["Subject"] for m in smtp.to(address))


def test_notice_workflow_mail_reaches_approvers_and_author(app_ctx, factory, smtp, send):
    tenant, cat, u = _people(factory)
    staff.set_choices(u["approver2"], set(staff.STAFF_KINDS) - {"notice.submitted"})
    notice = svc.create_notice(
        db.session, tenant, u["editor"], factory.notice_input(cat, title="Friedhofssatzung"), NOW
    )
    svc.submit(db.session, notice, u["editor"], NOW)
    svc.send_back(db.session, notice, u["approver"], "Bitte Datum prüfen.", NOW)
    svc.submit(db.session, notice, u["editor"], NOW)
    svc.release(db.session, notice, u["approver"], "ok", NOW)
    db.session.commit()
    send(NOW)

    assert _subjects(smtp, "approver@m.example") == ["Zur Freigabe: Friedhofssatzung"] * 2
    assert _subjects(smtp, "approver2@m.example") == []  # turned off
    assert _subjects(smtp, "editor@m.example") == [
        "Freigegeben: Friedhofssatzung",
        "Zurückgegeben: Friedhofssatzung",
    ]
    assert _subjects(smtp, "editor2@m.example") == [] and _subjects(smtp, "b@b.example") == []
    (sent_back_mail,) = [
        m for m in smtp.to("editor@m.example") if m["Subject"].startswith("Zurückgegeben")
    ]
    sent_back = sent_back_mail.get_body(("plain",)).get_content()
    assert "Begründung: Bitte Datum prüfen." in sent_back
    [link] = re.findall(r"http://\S+/bekanntmachungen/\S+", sent_back)
    client = app_ctx.test_client()
    login_as(client, u["editor"])
    assert client.get(urlsplit(link).path).status_code == 200
    assert "/konto" in sent_back  # where to change the choice


def test_warning_waiting_for_confirmation_reaches_the_other_alerters(app_ctx, factory, smtp, send):
    tenant, _, u = _people(factory)
    tenant.alerts_need_confirmation = True
    issue_template_alert(db.session, tenant, u["alerter"], NOW, sender_name="Stadt Musterstadt")
    db.session.commit()
    send(NOW)
    assert _subjects(smtp, "alerter@m.example") == []
    [subject] = _subjects(smtp, "alerter2@m.example")
    assert subject.startswith("Warnung wartet auf Bestätigung: ")
    text = smtp.to("alerter2@m.example")[0].get_body(("plain",)).get_content()
    assert "Vier-Augen-Prinzip" in text and "/admin/musterstadt/warnungen/" in text


def test_overdue_hint_is_told_once_to_each_editor(app_ctx, factory, smtp, send):
    tenant, cat, u = _people(factory)
    notice = factory.released_notice(tenant, cat, u["editor"], u["approver"], title="Bebauungsplan")
    notice.hint_required = True
    notice.provided_on = NOW.date() - timedelta(days=10)
    db.session.execute(delete(OutboxMessage))
    db.session.commit()
    assert staff.hint_overdue(db.session, NOW) == 2
    assert staff.hint_overdue(db.session, NOW + timedelta(hours=1)) == 0
    db.session.commit()
    send(NOW)
    for address in ("editor@m.example", "editor2@m.example"):
        assert _subjects(smtp, address) == ["Nachrichtlicher Hinweis überfällig: Bebauungsplan"]
    assert len(smtp.received) == 2


def test_outage_of_a_legal_board_reaches_the_tenant_admins(app_ctx, factory, smtp, send):
    tenant, cat, u = _people(factory)
    factory.released_notice(tenant, cat, u["editor"], u["approver"])
    display = Display(tenant_id=tenant.id, name="Rathaus Foyer", created_at=NOW)
    db.session.add(display)
    db.session.flush()
    enrolment._issue(display, NOW)
    record_heartbeat(db.session, display.id, {"player_version": "0.1.0"}, NOW)
    db.session.execute(delete(OutboxMessage))
    db.session.commit()
    for minute in (6, 8, 10):
        detect_outages(db.session, NOW + timedelta(minutes=minute), minutes=5)
        db.session.commit()
    assert len(db.session.query(Outage).all()) == 1
    send(NOW + timedelta(minutes=10))
    assert _subjects(smtp, "admin@m.example") == ["Ausfall der Anzeige „Rathaus Foyer“"]
    assert len(smtp.received) == 1  # nobody else, once
    text = smtp.to("admin@m.example")[0].get_body(("plain",)).get_content()
    assert "20.11.2026, 10:30 Uhr" in text and "/anzeigen/ausfaelle" in text


def test_nina_disturbed_and_recovered_reach_civil_protection_and_admins(
    app_ctx, factory, smtp, send
):
    tenant, _, u = _people(factory)
    staff.set_choices(u["admin"], {"nina.health"})
    key = tenant.ars[:5] + "0000000"
    staff.nina_health(db.session, key, True, "Zeitüberschreitung", NOW)
    staff.nina_health(db.session, key, False, "", NOW + timedelta(minutes=20))
    db.session.commit()
    send(NOW + timedelta(minutes=20))
    expected = [
        "NINA-Empfang gestört (Stadt Musterstadt)",
        "NINA-Empfang wieder in Ordnung (Stadt Musterstadt)",
    ]
    for who in ("alerter@m.example", "alerter2@m.example", "admin@m.example"):
        assert _subjects(smtp, who) == expected
    assert _subjects(smtp, "editor@m.example") == [] and _subjects(smtp, "b@b.example") == []
    text = smtp.to("alerter@m.example")[0].get_body(("plain",)).get_content()
    assert "Letzter Fehler: Zeitüberschreitung" in text


def test_each_user_chooses_on_the_account_page(app_ctx, factory):
    _, _, u = _people(factory)
    client = app_ctx.test_client()
    login_as(client, u["approver"])
    page = client.get("/konto").get_data(as_text=True)
    assert page.count('name="kinds"') == len(staff.STAFF_KINDS)
    r = client.post("/konto/benachrichtigungen", data={"kinds": ["notice.released", "bogus"]})
    assert r.status_code == 302
    db.session.refresh(u["approver"])
    assert staff.opted_out(u["approver"]) == set(staff.STAFF_KINDS) - {"notice.released"}
