"""The manual Schadenslage pages (W10): roles, preview, confirmation, update, Entwarnung."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from server.models import AlertRecord
from server.services import alerts as svc
from server.sources.cap import parse_cap

from ..conftest import login
from .test_alerts_cap import _validate

TOWN_ARS = "150870045045"


@pytest.fixture
def now():
    return datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def town(factory, session):
    tenant = factory.tenant("sangerhausen", ars=TOWN_ARS, name="Sangerhausen")
    session.commit()
    return tenant


def _form(tenant, **kw):
    t = svc.template("hochwasser")
    texts = t.texts("Ortsteil Oberröblingen")
    data = {
        "template_key": "hochwasser",
        "area_desc": "Ortsteil Oberröblingen",
        "tenant_ids": str(tenant.id),
        "warnstufe": "1",
        "headline": texts["headline"],
        "description": texts["description"],
        "instruction": texts["instruction"],
        "sender_name": "Stadt Sangerhausen, Ordnungsamt",
        "extra_ars": "",
        "expires": "",
    }
    data.update(kw)
    return data


def test_only_alerters_and_admins(client, factory, town, session):
    editor = factory.user(town, "editor")
    session.commit()
    login(client, editor.email)
    assert client.get("/admin/sangerhausen/warnungen/").status_code == 403
    assert client.post("/admin/sangerhausen/warnungen/neu", data=_form(town)).status_code == 403
    assert session.scalar(select(AlertRecord)) is None


def test_preview_confirm_update_and_cancel(client, factory, town, session, cap_xsd):
    alerter = factory.user(town, "alerter")
    session.commit()
    login(client, alerter.email)
    page = client.get("/admin/sangerhausen/warnungen/neu?vorlage=trinkwasser")
    assert page.status_code == 200
    assert "Abkochgebot für Trinkwasser in Sangerhausen" in page.get_data(as_text=True)

    preview = client.post("/admin/sangerhausen/warnungen/neu", data=_form(town, action="preview"))
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200
    assert "Vorschau" in html and "Jetzt warnen" in html and "Warnstufe 1" in html
    assert session.scalar(select(AlertRecord)) is None  # a preview issues nothing

    done = client.post("/admin/sangerhausen/warnungen/neu", data=_form(town, action="confirm"))
    assert done.status_code == 302
    record = session.scalar(select(AlertRecord))
    assert record.phase == "active" and record.behaviour == "takeover"
    assert record.origin == "manual" and record.document.direction == "generated"
    assert re.match(r"DE-150870045045-AUSHANG-[0-9a-f-]{36}$", record.identifier)
    _validate(cap_xsd, record.document.content)
    show = client.get(done.headers["Location"])
    assert show.status_code == 200 and "Entwarnung auslösen" in show.get_data(as_text=True)

    updated = client.post(
        f"/admin/sangerhausen/warnungen/{record.id}/aktualisieren",
        data=_form(town, warnstufe="2", headline="Hochwasser: Lage stabil"),
    )
    assert updated.status_code == 302
    new = session.scalar(select(AlertRecord).where(AlertRecord.msg_type == "Update"))
    assert new.phase == "active" and new.warnstufe == 2
    message = parse_cap(new.document.content).alert
    assert message.referenced_identifiers() == {record.identifier}
    _validate(cap_xsd, new.document.content)

    # The page's Entwarnung leads to a confirmation that restates what will happen and
    # carries the text on; only its POST ends the warning.
    confirm_url = f"/admin/sangerhausen/warnungen/{new.id}/entwarnung/bestaetigen"
    assert f'action="{confirm_url}"' in client.get(f"/admin/sangerhausen/warnungen/{new.id}").text
    confirm = client.get(confirm_url, query_string={"all_clear_text": "Pegel sinkt."})
    page = confirm.get_data(as_text=True)
    assert confirm.status_code == 200 and "Was dann geschieht" in page and "Pegel sinkt." in page
    assert f'action="/admin/sangerhausen/warnungen/{new.id}/entwarnung"' in page
    assert session.scalar(select(AlertRecord).where(AlertRecord.msg_type == "Cancel")) is None
    cancelled = client.post(f"/admin/sangerhausen/warnungen/{new.id}/entwarnung", data={})
    assert cancelled.status_code == 302
    # Once ended, the confirmation page sends back to the warning instead.
    again = client.get(confirm_url)
    assert again.status_code == 302 and again.headers["Location"].endswith(f"/warnungen/{new.id}")
    cancel = session.scalar(select(AlertRecord).where(AlertRecord.msg_type == "Cancel"))
    assert cancel.phase == "all_clear"
    _validate(cap_xsd, cancel.document.content)
    phases = {r.msg_type: r.phase for r in session.scalars(select(AlertRecord))}
    assert phases == {"Alert": "ended", "Update": "ended", "Cancel": "all_clear"}
    assert client.get("/admin/sangerhausen/warnungen/").status_code == 200


def test_incomplete_form_and_foreign_targets(client, factory, town, session):
    other = factory.tenant("magdeburg", ars="150030000000")
    alerter = factory.user(town, "alerter")
    session.commit()
    login(client, alerter.email)
    r = client.post(
        "/admin/sangerhausen/warnungen/neu", data=_form(town, headline="", action="confirm")
    )
    assert r.status_code == 422 and "Pflichtfeld" in r.get_data(as_text=True)
    r = client.post(
        "/admin/sangerhausen/warnungen/neu",
        data=_form(town, tenant_ids=str(other.id), action="confirm"),
    )
    assert r.status_code == 403
    assert session.scalar(select(AlertRecord)) is None


def test_test_mode_is_labelled_exercise(client, factory, town, session, now):
    alerter = factory.user(town, "alerter")
    session.commit()
    login(client, alerter.email)
    client.post(
        "/admin/sangerhausen/warnungen/neu", data=_form(town, test_mode="1", action="confirm")
    )
    record = session.scalar(select(AlertRecord))
    assert record.status == "Exercise"
    assert svc.active_alerts_for_place(session, tenant=town, now=now) == []
    shown = svc.active_alerts_for_place(session, tenant=town, test_display=True, now=now)
    assert shown[0].presentation.status_label == "Übung"


def test_dashboard_shows_warning_card_with_feed_health(client, factory, town, session):
    alerter = factory.user(town, "alerter")
    editor = factory.user(town, "editor")
    session.commit()
    login(client, alerter.email)
    html = client.get("/admin/sangerhausen/").get_data(as_text=True)
    # NINA is off unless the operator switches it on: the card says so, not "no poll yet".
    assert "Warnungen (0)" in html and "NINA: Ausgeschaltet" in html
    assert "Noch keine erfolgreiche Abfrage" not in html and "STÖRUNG" not in html
    assert "Zu den Warnungen" in html
    client.get("/logout")
    login(client, editor.email)
    html = client.get("/admin/sangerhausen/").get_data(as_text=True)
    assert "NINA:" in html and "Zu den Warnungen" not in html
