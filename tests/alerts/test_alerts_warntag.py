"""The Warntag report (W15): detection of test messages, the report from plain delivery
rows, and the staff page as HTML, JSON and PDF."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from server.domain.alerts.warntag import (
    DeliveryRow,
    build_report,
    is_test_alert,
    warntag_date,
)
from server.models import AlertRecord
from server.services import alerts as svc
from server.services import warntag

from ..conftest import login
from .test_alerts_admin import _form

T = datetime(2026, 9, 10, 9, 0, 0, tzinfo=UTC)  # Warntag 2026, 11:00 in Berlin


@pytest.mark.parametrize(
    ("year", "day"),
    [(2024, date(2024, 9, 12)), (2025, date(2025, 9, 11)), (2026, date(2026, 9, 10))],
)
def test_warntag_is_the_second_thursday_of_september(year, day):
    assert warntag_date(year) == day


def test_which_messages_are_tests():
    assert is_test_alert("Exercise", T + timedelta(days=3), ["Hochwasser"])
    assert is_test_alert("Test", T, [""])
    assert is_test_alert("Actual", T, ["Probewarnung", "Warntag 2026"])
    assert is_test_alert("Actual", T + timedelta(minutes=45), ["Entwarnung zum Warntag"])
    assert not is_test_alert("Actual", T, ["Hochwasser an der Helme"])  # a real warning
    assert not is_test_alert("Actual", T + timedelta(hours=4), ["Probewarnung"])
    assert not is_test_alert("Actual", T + timedelta(days=7), ["Probewarnung"])


def _rows(t0=T):
    return [
        DeliveryRow(
            "Rathaus Foyer", "Markt 1", t0 + timedelta(seconds=0.2), t0 + timedelta(seconds=0.5)
        ),
        DeliveryRow(
            "Bahnhof",
            "Bahnhofstr. 3",
            t0 + timedelta(seconds=0.3),
            t0 + timedelta(seconds=1.2),
            latency=timedelta(seconds=0.9),
        ),
        DeliveryRow("Bibliothek", "Kirchgasse 2", t0 + timedelta(seconds=0.4), None),
        DeliveryRow("Sporthalle", "Am Park", None, None),
    ]


def test_report_from_plain_rows():
    report = build_report(
        identifier="DE-1",
        headline="Probewarnung",
        status="Actual",
        is_test=True,
        issued_at=T,
        rows=_rows(),
    )
    assert [r.display for r in report.rows] == [
        "Sporthalle",
        "Bibliothek",
        "Rathaus Foyer",
        "Bahnhof",
    ]
    assert [r.state for r in report.rows] == [
        "nicht erreicht",
        "zugestellt, nicht angezeigt",
        "angezeigt",
        "angezeigt",
    ]
    assert report.rows[2].latency == timedelta(seconds=0.5)  # derived from shown_at
    assert report.rows[3].latency == timedelta(seconds=0.9)  # as given
    assert (report.total, report.delivered, report.shown) == (4, 3, 2)
    assert report.latency_median == timedelta(seconds=0.5)
    assert report.latency_p99 == report.latency_max == timedelta(seconds=0.9)
    doc = report.as_json()
    assert doc["summary"] == {
        "displays": 4,
        "delivered": 3,
        "shown": 2,
        "notReached": 2,
        "latencyMedianSeconds": 0.5,
        "latencyP99Seconds": 0.9,
        "latencyMaxSeconds": 0.9,
    }
    assert doc["displays"][0] == {
        "display": "Sporthalle",
        "location": "Am Park",
        "deliveredAt": None,
        "shownAt": None,
        "latencySeconds": None,
        "state": "nicht erreicht",
    }


def test_staff_page_json_and_pdf(app, client, factory, session, monkeypatch):
    town = factory.tenant("sangerhausen", ars="150870045045", name="Sangerhausen")
    alerter = factory.user(town, "alerter")
    session.commit()
    login(client, alerter.email)
    client.post(
        "/admin/sangerhausen/warnungen/neu", data=_form(town, test_mode="1", action="confirm")
    )
    record = session.scalar(select(AlertRecord))
    assert record.status == "Exercise"

    base = f"/admin/sangerhausen/warnungen/{record.id}/bericht"
    empty = client.get(base).get_data(as_text=True)
    assert "Warntag-Bericht" in empty and "keine Zustelldaten" in empty

    seen = []

    def provider(sess, rec):
        seen.append(rec.id)
        return _rows(rec.received_at)

    monkeypatch.setitem(app.extensions, warntag.PROVIDER_KEY, provider)
    html = client.get(base).get_data(as_text=True)
    assert "Rathaus Foyer" in html and "0,50 s" in html and "nicht erreicht" in html
    assert "2 nicht angezeigt" in html
    doc = client.get(base + ".json").get_json()
    assert doc["isTest"] is True and doc["summary"]["shown"] == 2
    assert doc["identifier"] == record.identifier
    pdf = client.get(base + ".pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.data.startswith(b"%PDF")
    from pypdf import PdfReader

    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "Warntag-Bericht" in text and "Bahnhof" in text
    assert seen == [record.id] * 3
    show = client.get(f"/admin/sangerhausen/warnungen/{record.id}").get_data(as_text=True)
    assert base in show


def test_a_real_warning_gets_a_delivery_report_marked_as_such(factory, session, now):
    town = factory.tenant("sangerhausen", ars="150870045045", name="Sangerhausen")
    alerter = factory.user(town, "alerter")
    texts = svc.template("hochwasser").texts(town.name)
    record = svc.issue_manual(
        session,
        tenant=town,
        user=alerter,
        now=now,
        policy=svc.AlertPolicy(),
        data=svc.ManualAlertInput(
            template_key="hochwasser",
            area_desc=town.name,
            tenant_ids=[town.id],
            warnstufe=1,
            headline=texts["headline"],
            description=texts["description"],
            instruction=texts["instruction"],
            sender_name="Ordnungsamt",
        ),
    )
    report = warntag.report_for(record, town, [])
    assert not report.is_test and report.issued_at == record.received_at


def test_the_pdf_takes_its_renderer_from_the_caller_and_needs_no_app():
    report = build_report(
        identifier="DE-1",
        headline="Probewarnung",
        status="Actual",
        is_test=True,
        issued_at=T,
        rows=_rows(),
    )
    calls = []

    def render(name, **context):
        calls.append((name, context["report"], context["generated_at"]))
        return "<p>Bericht aus dem Renderer</p>"

    pdf = warntag.report_pdf(report, object(), T, render=render)  # no app context here
    assert calls == [("pdf/warntag.html", report, T)]
    from pypdf import PdfReader

    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "Bericht aus dem Renderer" in text
