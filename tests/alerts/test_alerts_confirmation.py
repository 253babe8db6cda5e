"""Optional second-person confirmation of manual warnings (W10)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from server.domain.errors import Conflict
from server.models import AlertDocument, AlertRecord, AuditEntry, Tenant
from server.services import alert_confirmation as confirmation
from server.services import alerts as svc

from ..conftest import login
from .test_alerts_admin import _form

TOWN_ARS = "150870045045"


@pytest.fixture
def now():
    return datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def town(factory, session):
    tenant = factory.tenant("sangerhausen", ars=TOWN_ARS, name="Sangerhausen")
    tenant.alerts_need_confirmation = True
    session.commit()
    return tenant


@pytest.fixture
def people(factory, town, session):
    first = factory.user(town, "alerter", name="Anna Erste")
    second = factory.user(town, "alerter", name="Bernd Zweiter")
    admin = factory.user(town, "admin", name="Carla Admin")
    editor = factory.user(town, "editor")
    session.commit()
    return {"first": first, "second": second, "admin": admin, "editor": editor}


def _actions(session, record):
    rows = session.scalars(
        select(AuditEntry)
        .where(AuditEntry.object_type == "alert", AuditEntry.object_id == str(record.id))
        .order_by(AuditEntry.seq)
    ).all()
    return [(r.action, r.actor) for r in rows]


def _data(town, stufe=1, headline="Hochwasser an der Gonna", tenant_ids=None):
    texts = svc.template("hochwasser").texts(town.name)
    return svc.ManualAlertInput(
        template_key="hochwasser",
        area_desc=town.name,
        tenant_ids=tenant_ids or [town.id],
        warnstufe=stufe,
        headline=headline,
        description=texts["description"],
        instruction=texts["instruction"],
        sender_name="Ordnungsamt",
    )


def test_admin_switches_the_rule_on_the_settings_page(client, factory, session):
    tenant = factory.tenant("sangerhausen", ars=TOWN_ARS)
    admin = factory.user(tenant, "admin")
    session.commit()
    login(client, admin.email)
    page = client.get("/admin/sangerhausen/einstellungen").get_data(as_text=True)
    assert "Warnungen brauchen eine zweite Bestätigung" in page
    form = {
        "name": tenant.name,
        "ars": tenant.ars,
        "timezone": "Europe/Berlin",
        "hint_due_days": "3",
        "alerts_need_confirmation": "1",
    }
    assert client.post("/admin/sangerhausen/einstellungen", data=form).status_code == 302
    session.expire_all()
    assert session.get(Tenant, tenant.id).alerts_need_confirmation is True
    row = session.scalars(select(AuditEntry).where(AuditEntry.action == "tenant.settings")).one()
    assert "alerts_need_confirmation" in json.loads(row.details)["changed"]
    page = client.get("/admin/sangerhausen/einstellungen").get_data(as_text=True)
    assert 'name="alerts_need_confirmation" value="1" checked' in page

    form.pop("alerts_need_confirmation")
    client.post("/admin/sangerhausen/einstellungen", data=form)
    session.expire_all()
    assert session.get(Tenant, tenant.id).alerts_need_confirmation is False


def test_held_until_a_second_person_confirms(client, town, people, session, now):
    login(client, people["first"].email)
    done = client.post("/admin/sangerhausen/warnungen/neu", data=_form(town, action="confirm"))
    assert done.status_code == 302
    record = session.scalar(select(AlertRecord))
    assert record.phase == svc.AWAITING_CONFIRMATION
    # Nowhere to be seen: no display (not even a test display), no feed, no CAP URL.
    assert svc.active_alerts_for_place(session, tenant=town, test_display=True, now=now) == []
    assert client.get("/sangerhausen/feeds/warnungen.json").get_json()["warnings"] == []
    assert client.get(f"/warnungen/cap/{record.identifier}.xml").status_code == 404

    page = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "Wartet auf Bestätigung durch eine zweite Person" in page
    assert "Sie haben diese Warnung selbst ausgelöst" in page
    assert "Bestätigen und jetzt warnen" not in page
    assert "Vorschau der Anzeige" in page  # the second person sees what will be shown

    # The issuer cannot confirm their own warning.
    r = client.post(f"/admin/sangerhausen/warnungen/{record.id}/bestaetigen")
    assert r.status_code == 403 and "zweite" in r.get_data(as_text=True)
    session.expire_all()
    assert session.get(AlertRecord, record.id).phase == svc.AWAITING_CONFIRMATION

    client.get("/logout")
    login(client, people["second"].email)
    index = client.get("/admin/sangerhausen/warnungen/").get_data(as_text=True)
    assert "Wartet auf Bestätigung (1)" in index and "Anna Erste" in index
    page = client.get(f"/admin/sangerhausen/warnungen/{record.id}").get_data(as_text=True)
    assert "Bestätigen und jetzt warnen" in page
    r = client.post(f"/admin/sangerhausen/warnungen/{record.id}/bestaetigen")
    assert r.status_code == 302

    session.expire_all()
    record = session.get(AlertRecord, record.id)
    assert record.phase == "active"
    shown = svc.active_alerts_for_place(session, tenant=town, now=datetime.now(UTC))
    assert [a.record.id for a in shown] == [record.id]
    assert client.get(f"/warnungen/cap/{record.identifier}.xml").status_code == 200
    # Exactly the document the first person generated goes out: one archived copy.
    assert len(session.scalars(select(AlertDocument)).all()) == 1
    assert _actions(session, record) == [
        ("alert.confirmation_requested", people["first"].email),
        ("alert.confirmed", people["second"].email),
    ]
    page = client.get(f"/admin/sangerhausen/warnungen/{record.id}").get_data(as_text=True)
    assert "bestätigt von " + people["second"].email in page
    # Confirming twice is refused.
    r = client.post(f"/admin/sangerhausen/warnungen/{record.id}/bestaetigen")
    assert r.status_code == 409


def test_discard_needs_a_reason_and_shows_nothing(client, town, people, session, now):
    record = svc.issue_manual(
        session,
        tenant=town,
        user=people["first"],
        data=_data(town),
        now=now,
        policy=svc.AlertPolicy(),
    )
    session.commit()
    login(client, people["admin"].email)
    url = f"/admin/sangerhausen/warnungen/{record.id}/verwerfen"
    r = client.post(url, data={"reason": "  "})
    assert r.status_code == 422 and "warum" in r.get_data(as_text=True)
    r = client.post(url, data={"reason": "Falscher Ortsteil gewählt"})
    assert r.status_code == 302
    session.expire_all()
    record = session.get(AlertRecord, record.id)
    assert record.phase == svc.DISCARDED
    assert svc.active_alerts_for_place(session, tenant=town, test_display=True, now=now) == []
    page = client.get(f"/admin/sangerhausen/warnungen/{record.id}").get_data(as_text=True)
    assert "Verworfen – nicht ausgelöst" in page and "Falscher Ortsteil gewählt" in page
    assert _actions(session, record)[-1] == ("alert.discarded", people["admin"].email)
    assert client.post(f"/admin/sangerhausen/warnungen/{record.id}/bestaetigen").status_code == 409


def test_editor_may_neither_confirm_nor_discard(client, town, people, session, now):
    record = svc.issue_manual(
        session,
        tenant=town,
        user=people["first"],
        data=_data(town),
        now=now,
        policy=svc.AlertPolicy(),
    )
    session.commit()
    login(client, people["editor"].email)
    assert client.post(f"/admin/sangerhausen/warnungen/{record.id}/bestaetigen").status_code == 403
    r = client.post(f"/admin/sangerhausen/warnungen/{record.id}/verwerfen", data={"reason": "x"})
    assert r.status_code == 403
    assert not confirmation.may_confirm(people["editor"], town, record)
    assert not confirmation.may_confirm(people["first"], town, record)
    assert confirmation.may_confirm(people["admin"], town, record)


def test_escalating_update_waits_and_entwarnung_never_does(town, people, session, now, factory):
    policy = svc.AlertPolicy()
    first, second = people["first"], people["second"]
    held = svc.issue_manual(
        session, tenant=town, user=first, data=_data(town, stufe=2), now=now, policy=policy
    )
    alert = confirmation.confirm(
        session, tenant=town, user=second, record_id=held.id, now=now, policy=policy
    )
    assert alert.phase == "active"

    # De-escalation (Warnstufe 2 → 3) goes out at once.
    t1 = now + timedelta(minutes=1)
    calmer = svc.update_manual(
        session,
        tenant=town,
        user=first,
        record_id=alert.id,
        data=_data(town, stufe=3, headline="Pegel sinkt"),
        now=t1,
        policy=policy,
    )
    assert calmer.phase == "active" and alert.phase == "ended"

    # Escalation (3 → 1) waits; the current warning stays on screen meanwhile.
    t2 = now + timedelta(minutes=2)
    worse = svc.update_manual(
        session,
        tenant=town,
        user=first,
        record_id=calmer.id,
        data=_data(town, stufe=1, headline="Deich gebrochen"),
        now=t2,
        policy=policy,
    )
    assert worse.phase == svc.AWAITING_CONFIRMATION and calmer.phase == "active"
    shown = svc.active_alerts_for_place(session, tenant=town, now=t2)
    assert [a.record.id for a in shown] == [calmer.id]

    # Reaching a tenant the warning did not reach is an escalation too.
    other = factory.tenant("helbra", ars="150875063015")
    svc.grant_alert_permission(session, tenant=other, grantee=town, now=now, actor="test")
    assert svc.needs_confirmation(town, warnstufe=3, targets=[town, other], previous=calmer)
    assert not svc.needs_confirmation(town, warnstufe=3, targets=[town], previous=calmer)

    # The Entwarnung goes out at once, by the same person, and discards the held update.
    t3 = now + timedelta(minutes=3)
    cancel = svc.cancel_manual(
        session, tenant=town, user=first, record_id=calmer.id, now=t3, policy=policy
    )
    assert cancel.phase == "all_clear" and calmer.phase == "ended"
    assert worse.phase == svc.DISCARDED
    assert _actions(session, worse)[-1] == ("alert.discarded", first.email)
    with pytest.raises(Conflict):
        confirmation.confirm(
            session, tenant=town, user=second, record_id=worse.id, now=t3, policy=policy
        )


def test_held_update_of_a_warning_that_ended_meanwhile_is_refused(town, people, session, now):
    policy = svc.AlertPolicy()
    town.alerts_need_confirmation = False
    alert = svc.issue_manual(
        session,
        tenant=town,
        user=people["first"],
        data=_data(town, stufe=3),
        now=now,
        policy=policy,
    )
    town.alerts_need_confirmation = True
    worse = svc.update_manual(
        session,
        tenant=town,
        user=people["first"],
        record_id=alert.id,
        data=_data(town, stufe=1),
        now=now + timedelta(minutes=1),
        policy=policy,
    )
    assert worse.phase == svc.AWAITING_CONFIRMATION
    # Someone issues a text-only update directly: the held one now replaces nothing.
    svc.update_manual(
        session,
        tenant=town,
        user=people["second"],
        record_id=alert.id,
        data=_data(town, stufe=3, headline="Neuer Text"),
        now=now + timedelta(minutes=2),
        policy=policy,
    )
    with pytest.raises(Conflict, match="nicht mehr aktiv"):
        confirmation.confirm(
            session,
            tenant=town,
            user=people["second"],
            record_id=worse.id,
            now=now + timedelta(minutes=3),
            policy=policy,
        )


def test_expired_before_confirmation_is_refused(town, people, session, now):
    policy = svc.AlertPolicy()
    data = _data(town)
    data.expires = now + timedelta(minutes=30)
    held = svc.issue_manual(
        session, tenant=town, user=people["first"], data=data, now=now, policy=policy
    )
    with pytest.raises(Conflict, match="bereits vorbei"):
        confirmation.confirm(
            session,
            tenant=town,
            user=people["second"],
            record_id=held.id,
            now=now + timedelta(hours=1),
            policy=policy,
        )


def test_without_the_rule_nothing_waits(town, people, session, now):
    town.alerts_need_confirmation = False
    record = svc.issue_manual(
        session,
        tenant=town,
        user=people["first"],
        data=_data(town),
        now=now,
        policy=svc.AlertPolicy(),
    )
    assert record.phase == "active"
    assert confirmation.awaiting(session, town) == []
