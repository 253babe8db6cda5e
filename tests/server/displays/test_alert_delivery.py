"""Delivery you can see: per display delivered/shown/latency/online, the reach chart,
the Warntag report's rows from AlertDelivery, and the incident timeline (W14) with the
takeover start and end per display, as HTML, JSON and PDF."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import select

from server.models import AlertDelivery, AlertRecord
from server.services import alert_delivery, warntag
from server.services import alerts as svc
from server.services.displays.manifest import isoz

from ...conftest import login
from .conftest import API, enrolled_display


def _issue(session, dw, user, now, **kw):
    texts = svc.template("hochwasser").texts(dw.tenant.name)
    record = svc.issue_manual(
        session,
        tenant=dw.tenant,
        user=user,
        now=now,
        policy=svc.AlertPolicy(),
        data=svc.ManualAlertInput(
            template_key="hochwasser",
            area_desc=dw.tenant.name,
            tenant_ids=[dw.tenant.id],
            warnstufe=1,
            headline=texts["headline"],
            description=texts["description"],
            instruction=texts["instruction"],
            sender_name="Ordnungsamt",
            **kw,
        ),
    )
    session.commit()
    return record


def _ack(client, dw, token, display, alert_id, delivered, shown):
    body = {
        "alert_id": str(alert_id),
        "display_id": str(display.id),
        "delivered_at": isoz(delivered),
        "shown_at": isoz(shown) if shown else None,
    }
    answer = client.post(f"{API}alerts/{alert_id}/ack", json=body, headers=dw.auth(token))
    assert answer.status_code == 200, answer.get_data(as_text=True)


@pytest.fixture()
def world(dw, session, now):
    alerter = dw.factory.user(dw.tenant, "alerter")
    second, second_token = enrolled_display(session, dw.tenant, "Bahnhof", now, location="Gleis 1")
    session.commit()
    return dw, alerter, second, second_token


def test_delivery_per_display_online_state_and_reach(client, session, world, clock, now):
    dw, alerter, second, _ = world
    record = _issue(session, dw, alerter, now)
    client.post(f"{API}heartbeat", json={"player_version": "1.0"}, headers=dw.auth())
    _ack(client, dw, dw.token, dw.display, record.id, now, None)
    _ack(client, dw, dw.token, dw.display, record.id, now, now + timedelta(seconds=0.4))

    status = alert_delivery.delivery_status(session, record, now + timedelta(seconds=5))
    names = [r.display.name for r in status.rows]
    # The other tenant's display is no target; the one not reached comes first.
    assert names == ["Bahnhof", "Rathaus Foyer"]
    assert (status.total, status.delivered, status.shown) == (2, 1, 1)
    bahnhof, foyer = status.rows
    assert bahnhof.state == "noch nicht erreicht" and not bahnhof.online
    assert foyer.online and foyer.latency_s == pytest.approx(0.4)
    assert [r.display.name for r in status.not_reached] == ["Bahnhof"]
    assert [r.display.name for r in status.offline] == ["Bahnhof"]
    assert [(p.seconds, p.reached) for p in status.chart.points] == [(pytest.approx(0.4), 1)]
    assert status.chart.total == 2

    # The Warntag report (W15) lists the same displays through the registered provider.
    rows = warntag.delivery_rows(client.application.extensions, session, record)
    report = warntag.report_for(record, dw.tenant, rows)
    assert (report.total, report.shown) == (2, 1)
    assert report.latency_max == timedelta(seconds=0.4)


def test_test_messages_target_only_test_displays(session, world, now):
    dw, alerter, second, _ = world
    second.test_display = True
    session.commit()
    record = _issue(session, dw, alerter, now, test_mode=True)
    assert [d.name for d in alert_delivery.target_displays(session, record)] == ["Bahnhof"]


def test_timeline_logs_takeover_start_and_end_per_display(client, session, world, clock, now):
    dw, alerter, second, second_token = world
    record = _issue(session, dw, alerter, now)
    _ack(client, dw, dw.token, dw.display, record.id, now, now + timedelta(seconds=0.3))
    _ack(client, dw, second_token, second, record.id, now, now + timedelta(seconds=0.6))
    later = now + timedelta(minutes=10)
    cancel = svc.cancel_manual(
        session, tenant=dw.tenant, user=alerter, record_id=record.id, now=later,
        policy=svc.AlertPolicy(all_clear_for=timedelta(minutes=15)),
    )  # fmt: skip
    session.commit()
    # Only the foyer reports drawing the Entwarnung; the Bahnhof display was offline.
    _ack(client, dw, dw.token, dw.display, cancel.id, later, later + timedelta(seconds=0.5))

    events = alert_delivery.incident_timeline(session, cancel, later + timedelta(minutes=20))
    kinds = [e.kind for e in events]
    assert kinds.index("alert.issue") < kinds.index("alert.cancel")
    assert kinds.count("document.generated") == 2
    ends = {
        (e.display, e.message): (e.at, dict(e.details)["basis"])
        for e in events
        if e.kind == "display.takeover_end"
    }
    assert ends[("Rathaus Foyer", record.identifier)] == (
        later + timedelta(seconds=0.5),
        "gemeldet",
    )
    assert ends[("Bahnhof", record.identifier)] == (later, "abgeleitet")
    # The Entwarnung screen ends when its time is up.
    assert ends[("Rathaus Foyer", cancel.identifier)] == (
        later + timedelta(minutes=15),
        "abgelaufen",
    )
    starts = [(e.display, e.at) for e in events if e.kind == "display.takeover_start"]
    assert ("Bahnhof", now + timedelta(seconds=0.6)) in starts
    assert [r.id for r in alert_delivery.incident_records(session, record)] == [
        record.id,
        cancel.id,
    ]


def test_alert_page_shows_delivery_chart_and_exports_timeline(client, session, world, now):
    dw, alerter, second, _ = world
    record = _issue(session, dw, alerter, now)
    _ack(client, dw, dw.token, dw.display, record.id, now, now + timedelta(seconds=0.25))
    login(client, alerter.email)
    base = f"/admin/{dw.tenant.slug}/warnungen/{record.id}"
    html = client.get(base).get_data(as_text=True)
    assert "Zustellung an die Anzeigen" in html
    assert "1 von 2" in html and "Noch nicht erreicht:" in html and "Bahnhof" in html
    assert '<svg viewBox="0 0 600 240"' in html and 'role="img"' in html
    assert "Daten des Diagramms als Tabelle" in html and "0,25 s" in html
    assert "Ablauf des Ereignisses" in html and "Warnbildschirm angezeigt" in html
    doc = client.get(base + "/ablauf.json").get_json()
    assert doc["incident"] == record.identifier
    assert {"document.generated", "alert.issue", "display.takeover_start"} <= {
        e["kind"] for e in doc["events"]
    }
    start = next(e for e in doc["events"] if e["kind"] == "display.takeover_start")
    assert start["display"] == "Rathaus Foyer" and start["at"].endswith("+00:00")
    pdf = client.get(base + "/ablauf.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    from pypdf import PdfReader

    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "Ablauf des Ereignisses" in text and "Bahnhof" in text
    # Another tenant's staff cannot read it.
    assert session.get(AlertRecord, record.id) is not None
    other = dw.factory.user(dw.other, "alerter")
    session.commit()
    client.get("/logout")
    login(client, other.email)
    assert (
        client.get(f"/admin/{dw.other.slug}/warnungen/{record.id}/ablauf.json").status_code == 404
    )


def test_first_drawing_counts_and_repeated_acks_change_nothing(client, session, world, now):
    dw, alerter, _, _ = world
    record = _issue(session, dw, alerter, now)
    _ack(client, dw, dw.token, dw.display, record.id, now, now + timedelta(seconds=0.3))
    # Resent after a restart, with a later drawing and a later delivery time.
    _ack(client, dw, dw.token, dw.display, record.id, now + timedelta(seconds=9), None)
    _ack(client, dw, dw.token, dw.display, record.id, now, now + timedelta(seconds=7))
    session.expire_all()
    rows = session.scalars(select(AlertDelivery).where(AlertDelivery.alert_id == record.id)).all()
    assert len(rows) == 1
    assert rows[0].delivered_at == now
    assert rows[0].shown_at == now + timedelta(seconds=0.3)
    assert rows[0].latency_s == pytest.approx(0.3, abs=0.01)
