"""The Internet channel's own availability and outages with a remedy (issue 17,
builds 2 and 3): a stopped server leaves an outage record after the restart; the
decision "Aushang wird verlängert" extends the window without a new version."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from server.domain.errors import PermissionDenied, ValidationFailed
from server.jobs import all_jobs
from server.jobs.runner import run_job
from server.models import InternetOutage, Notice, NoticeExtension, ServerHeartbeat
from server.services import availability, extensions
from server.services.evidence import build_aushangvermerk

from ...conftest import login
from ..publicworld import make_world
from ..test_documents import pdf_text

THRESHOLD = timedelta(minutes=5)


def _job():
    return next(j for j in all_jobs() if j.id == "notices.server_heartbeat")


@pytest.fixture()
def world(factory, app_ctx):
    return make_world(factory, app_ctx)


def test_a_stopped_server_yields_an_internet_outage_after_restart(app, world, session, now):
    notice = world.notice(title="Satzung während des Ausfalls")
    other = make_world(world.factory, app, slug="nachbarort", ars="150855555556")
    session.commit()
    job = _job()
    t = now + timedelta(hours=1)
    for minute in range(5):  # the scheduler runs: one heartbeat a minute
        run_job(app, job, now=t + timedelta(minutes=minute, seconds=3))
    stopped = t + timedelta(minutes=4)
    restart = stopped + timedelta(minutes=6, seconds=20)  # down longer than 5 minutes
    assert session.query(InternetOutage).count() == 0
    run_job(app, job, now=restart)  # the job runs at once when the scheduler starts
    run_job(app, job, now=restart + timedelta(minutes=1))  # found once, not again

    outages = session.query(InternetOutage).all()
    assert len(outages) == 1  # only the tenant with a notice online
    outage = outages[0]
    assert outage.tenant_id == world.tenant.id != other.tenant.id
    assert outage.started_at == stopped.replace(second=0)
    assert outage.ended_at == restart
    assert outage.notice_numbers == [notice.number]
    assert session.query(ServerHeartbeat).count() == 7

    session.expire_all()
    notice = session.get(Notice, notice.id)
    record = build_aushangvermerk(notice, restart + timedelta(hours=1), public_url="http://x")
    internet = next(c for c in record["channels"] if c["kind"] == "internet")
    assert [(o["minutes"], o["decision"]) for o in internet["outages"]] == [(6, None)]
    assert extensions.pending(session, notice, restart)[0]["ref"] == f"internet:{outage.id}"


def test_short_pauses_and_quiet_times_are_no_outage(world, session, now):
    world.notice()
    t = now + timedelta(hours=1)
    availability.heartbeat(session, t, THRESHOLD)
    availability.heartbeat(session, t + timedelta(minutes=4), THRESHOLD)  # a slow minute
    assert session.query(InternetOutage).count() == 0
    # A gap while no notice is online is no outage of any notice's Internet channel.
    session.query(Notice).delete()
    availability.heartbeat(session, t + timedelta(hours=3), THRESHOLD)
    assert session.query(InternetOutage).count() == 0


def test_extend_decision_extends_without_new_version_and_checks_the_minimum(
    client, world, session, now, clock
):
    notice = world.notice(title="Verlängerte Satzung")  # 7 days minimum, 12-day window
    version_count, content_hash = len(notice.versions), notice.current_version.content_hash
    end, ends_at = notice.posting_end, notice.ends_at
    outage = InternetOutage(
        tenant_id=world.tenant.id,
        started_at=now + timedelta(days=1),
        ended_at=now + timedelta(days=1, hours=30),  # 30 hours: two days lost
        detected_at=now + timedelta(days=2),
        notices=notice.number,
    )
    session.add(outage)
    session.flush()

    with pytest.raises(ValidationFailed) as refused:
        availability.decide(session, outage, world.approver, "extend", "", now)
    assert "note" in refused.value.field_errors
    availability.decide(
        session, outage, world.approver, "extend", "Server war abgestürzt", now + timedelta(days=2)
    )
    availability.decide(  # deciding again extends once
        session, outage, world.approver, "extend", "bestätigt", now + timedelta(days=2)
    )
    session.commit()
    assert len(notice.extensions) == 1
    ext = notice.extensions[0]
    assert (ext.previous_end, ext.new_end) == (end, end + timedelta(days=2))
    assert ext.outage_ref == f"internet:{outage.id}" and ext.created_by_id == world.approver.id
    assert "Server war abgestürzt" in ext.reason
    assert notice.ends_at == ends_at + timedelta(days=2)
    assert notice.posting_end == end  # the signed window stays
    assert len(notice.versions) == version_count  # no new version, no new hash
    assert notice.current_version.content_hash == content_hash

    page = client.get(f"/musterstadt/bekanntmachungen/{notice.number}").get_data(as_text=True)
    assert f"Verlängert bis {ext.new_end:%d.%m.%Y}" in page
    assert f"bis einschließlich {ext.new_end:%d.%m.%Y}" in page
    login(client, world.editor.email)
    record = json.loads(
        client.get(f"/musterstadt/bekanntmachungen/{notice.number}/aushangvermerk.json").data
    )
    assert record["posting_window"]["extended_end"] == ext.new_end.isoformat()
    assert record["extensions"][0]["reason"] == ext.reason
    assert record["effective"]["per_channel"]["board"] == ext.new_end.isoformat()
    text = pdf_text(
        client.get(f"/musterstadt/bekanntmachungen/{notice.number}/aushangvermerk.pdf").data
    )
    assert f"verlängert bis {ext.new_end:%d.%m.%Y}" in text


def test_manual_extension_must_keep_the_minimum_period(world, session, now):
    start = now.date()
    notice = world.notice(start=start, end=start + timedelta(days=8))  # exactly 7 days
    session.add(
        InternetOutage(
            tenant_id=world.tenant.id,
            started_at=now + timedelta(days=2),
            ended_at=now + timedelta(days=2, hours=50),  # three days lost
            detected_at=now + timedelta(days=5),
            notices=notice.number,
        )
    )
    session.flush()
    with pytest.raises(ValidationFailed) as refused:
        extensions.extend(
            session, notice, world.approver, start + timedelta(days=10), "Ausfall", now
        )
    assert refused.value.field_errors["new_end"] == (
        "Die Mindestfrist von 7 Tagen ist nach Abzug der Ausfälle (3 Tage) erst mit dem "
        f"{start + timedelta(days=11):%d.%m.%Y} erreicht."
    )
    with pytest.raises(ValidationFailed):  # not after the current end
        extensions.extend(session, notice, world.approver, notice.posting_end, "x", now)
    with pytest.raises(PermissionDenied):  # editors may not extend
        extensions.extend(session, notice, world.editor, start + timedelta(days=11), "x", now)
    extensions.extend(session, notice, world.approver, start + timedelta(days=11), "Ausfall", now)
    assert session.query(NoticeExtension).count() == 1


def test_display_outage_decision_extend_records_the_extension(world, session, now):
    from server.models import Display, Outage
    from server.services.displays import reports

    notice = world.notice(title="Am Brett ausgefallen")
    display = Display(tenant_id=world.tenant.id, name="Rathaus Foyer", created_at=now)
    session.add(display)
    session.flush()
    outage = Outage(
        display_id=display.id,
        started_at=now + timedelta(hours=2),
        ended_at=now + timedelta(hours=5),
        detected_at=now + timedelta(hours=2, minutes=6),
        notices=notice.number,
    )
    session.add(outage)
    session.flush()
    admin = world.factory.user(world.tenant, "admin")
    reports.decide_outage(session, outage, admin, "extend", "Bildschirm defekt", now)
    assert [e.outage_ref for e in notice.extensions] == [f"display:{outage.id}"]
    assert notice.effective_posting_end == notice.posting_end + timedelta(days=1)
    assert "Rathaus Foyer" in notice.extensions[0].reason
