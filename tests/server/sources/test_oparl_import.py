"""OParl import into draft Sitzungsbekanntmachungen (L21), against the fake OParl server."""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from server.commands import oparl_import
from server.domain.oparl import OParlError
from server.models import AuditEntry, Notice, NoticeMeeting, OParlSource
from server.services import notices as svc
from server.services.oparl_import import FLAG_CANCELLED, FLAG_CHANGED, import_meetings, sync_source
from server.sources.oparl import OParlClient

ORIGIN = "https://oparl.example.org"


@pytest.fixture
def meeting_json(fixtures_dir, fake_oparl):
    text = (fixtures_dir / "oparl" / "Meeting-01.json").read_text("utf-8")
    return json.loads(text.replace(ORIGIN, fake_oparl.base))


@pytest.fixture
def setup(factory, session):
    tenant = factory.tenant("musterstadt")
    category = factory.category(tenant, "Sitzungen", min_days=7)
    editor = factory.user(tenant, "editor")
    approver = factory.user(tenant, "approver")
    session.commit()
    return tenant, category, editor, approver


def serve(fake, meetings):
    return fake.add("/body/1/meeting", json.dumps({"data": meetings, "links": {}}))


def run(session, setup, url, now, **kw):
    tenant, category, editor, _ = setup
    return import_meetings(
        session,
        tenant=tenant,
        category=category,
        author=editor,
        url=url,
        now=now,
        client=OParlClient(timeout=kw.pop("timeout", 5.0)),
        **kw,
    )


def test_fixture_meeting_becomes_one_draft(session, setup, fake_oparl, meeting_json, now):
    url = serve(fake_oparl, [meeting_json])
    result = run(session, setup, url, now)
    session.commit()
    assert len(result.created) == 1 and not result.updated
    notice = session.scalar(select(Notice))
    assert notice.status == "draft" and notice.source == f"oparl:{fake_oparl.base}/meeting/281"
    version = notice.latest_version
    assert version.title == "Einladung zur 4. Sitzung des Finanzausschusses"
    assert "Satzungsänderung für Ausschreibungen" in version.body_md
    assert "Rathaus der Beispielstadt" in version.body_md
    assert "Freitag, 04.01.2013, von 08:00 bis 12:00 Uhr" in version.body_md
    meeting = session.scalar(select(NoticeMeeting))
    assert meeting.notice_id == notice.id
    assert meeting.starts_at.isoformat() == "2013-01-04T07:00:00+00:00"
    assert meeting.place.startswith("Rathaus der Beispielstadt")
    assert meeting.invitation_url.endswith("/files/57739.pdf")
    # The meeting lies in the past: no window is guessed, staff are told.
    assert notice.posting_start is None
    assert any("nicht in der Zukunft" in w for w in result.warnings)


def test_non_public_items_never_reach_the_draft(session, setup, fake_oparl, meeting_json, now):
    secret = dict(
        meeting_json["agendaItem"][0], id="x:2", name="Personalangelegenheit Meier", public=False
    )
    meeting_json["agendaItem"].append(secret)
    run(session, setup, serve(fake_oparl, [meeting_json]), now)
    assert "Meier" not in session.scalar(select(Notice)).latest_version.body_md


def test_future_meeting_gets_a_window_until_the_meeting_day(
    session, setup, fake_oparl, meeting_json, now
):
    meeting_json["start"] = "2026-12-10T17:00:00+01:00"
    meeting_json["end"] = "2026-12-10T19:00:00+01:00"
    run(session, setup, serve(fake_oparl, [meeting_json]), now)
    notice = session.scalar(select(Notice))
    assert (notice.posting_start.isoformat(), notice.posting_end.isoformat()) == (
        "2026-11-20",
        "2026-12-10",
    )


def test_reimport_cancelled_marks_the_draft(session, setup, fake_oparl, meeting_json, now):
    url = serve(fake_oparl, [meeting_json])
    run(session, setup, url, now)
    session.commit()
    again = run(session, setup, url, now + timedelta(hours=1))
    assert again.unchanged == 1
    cancelled = dict(meeting_json, cancelled=True, modified="2013-01-03T10:00:00+01:00")
    serve(fake_oparl, [cancelled])
    result = run(session, setup, url, now + timedelta(hours=2))
    session.commit()
    assert len(result.updated) == 1
    notice = session.scalar(select(Notice))
    assert session.scalar(select(func.count(Notice.id))) == 1
    assert notice.source_flag == FLAG_CANCELLED
    assert notice.latest_version.title.startswith("Absage:")
    assert session.scalar(select(NoticeMeeting)).cancelled is True


def test_released_notice_is_flagged_not_rewritten(session, setup, fake_oparl, meeting_json, now):
    tenant, category, editor, approver = setup
    meeting_json["start"] = "2026-12-10T17:00:00+01:00"
    meeting_json["end"] = "2026-12-10T19:00:00+01:00"
    url = serve(fake_oparl, [meeting_json])
    run(session, setup, url, now)
    notice = session.scalar(select(Notice))
    data = svc.input_from_version(notice, notice.working_version)
    data.file_number, data.signed_on = "10-1/2026", now.date()
    data.signatory_name, data.signatory_function = "Max Muster", "Bürgermeister"
    svc.update_draft(session, notice, editor, data, now)
    svc.submit(session, notice, editor, now)
    svc.release(session, notice, approver, "ok", now)
    session.commit()
    serve(
        fake_oparl,
        [dict(meeting_json, name="4. Sitzung (verlegt)", modified="2026-11-21T10:00:00+01:00")],
    )
    result = run(session, setup, url, now + timedelta(hours=1))
    session.commit()
    assert result.flagged == [notice.number]
    assert notice.source_flag == FLAG_CHANGED
    assert notice.current_version.title == "Einladung zur 4. Sitzung des Finanzausschusses"
    assert (
        session.scalar(
            select(func.count(AuditEntry.id)).where(AuditEntry.action == "notice.oparl_flag")
        )
        == 1
    )


@pytest.mark.parametrize(
    ("route", "error"),
    [
        (
            {
                "body": "<html><body>Fehler 500</body></html>",
                "status": 500,
                "content_type": "text/html",
            },
            "HTML",
        ),
        ({"body": '{"data": [', "status": 200}, "kein gültiges JSON"),
        ({"body": '{"data": []}', "delay": 10.0}, "nicht innerhalb von 0.3 Sekunden"),
    ],
)
def test_source_errors_change_nothing(session, setup, fake_oparl, route, error, now):
    body = route.pop("body")
    url = fake_oparl.add("/body/1/meeting", body, **route)
    with pytest.raises(OParlError, match=error):
        run(session, setup, url, now, timeout=0.3)
    assert session.scalar(select(func.count(Notice.id))) == 0
    assert session.scalar(select(func.count(NoticeMeeting.id))) == 0


def test_scheduled_sync_is_incremental_and_records_errors(
    session, setup, fake_oparl, meeting_json, now
):
    tenant, category, editor, _ = setup
    url = serve(fake_oparl, [meeting_json])
    source = OParlSource(
        tenant_id=tenant.id, url=url, category_id=category.id, author_id=editor.id, last_error=""
    )
    session.add(source)
    session.flush()
    client = OParlClient(timeout=5.0)
    assert sync_source(session, source, now, client) is not None
    assert source.synced_until == now and source.last_error == ""
    # The next run asks only for changes since the last successful one.
    fake_oparl.add(
        "/body/1/meeting?modified_since=2026-11-20T09%3A30%3A00Z",
        json.dumps({"data": [], "links": {}}),
    )
    later = now + timedelta(minutes=15)
    assert sync_source(session, source, later, client) is not None
    assert parse_qs(urlsplit(fake_oparl.requests[-1][0]).query) == {
        "modified_since": ["2026-11-20T09:30:00Z"]
    }
    fake_oparl.routes.clear()
    assert sync_source(session, source, later + timedelta(minutes=15), client) is None
    assert "HTTP-Status 404" in source.last_error
    assert source.synced_until == later
    assert session.scalar(select(func.count(Notice.id))) == 1


def test_cli_import(app_ctx, setup, fake_oparl, meeting_json, session):
    tenant, category, editor, _ = setup
    url = serve(fake_oparl, [meeting_json])
    runner = app_ctx.test_cli_runner()
    args = [url, "--tenant", "musterstadt", "--category", category.slug, "--as", editor.email]
    result = runner.invoke(oparl_import, [*args, "--save"])
    assert result.exit_code == 0, result.output
    assert "1 neu" in result.output
    assert session.scalar(select(func.count(OParlSource.id))) == 1
    fake_oparl.add("/broken", "{kaputt")
    bad = runner.invoke(oparl_import, [f"{fake_oparl.base}/broken", *args[1:]])
    assert bad.exit_code == 1
    assert "nichts wurde geändert" in bad.output and "kein gültiges JSON" in bad.output
