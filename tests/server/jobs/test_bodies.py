"""The job bodies: thin wrappers that call services with the session and ``now``."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

from sqlalchemy import select

from server.domain.alerts.polling import DashboardEntry, DashboardOk
from server.domain.oparl import OParlError
from server.jobs.alerts import poll_nina, tick_alerts
from server.jobs.displays import detect_outages
from server.jobs.notices import record_phase_changes
from server.jobs.oparl import sync_oparl_sources
from server.models import AlertFeed, AuditEntry, OParlSource
from server.sources.nina import NinaFeedError


def _actions(session, notice_id):
    rows = session.scalars(
        select(AuditEntry.action)
        .where(AuditEntry.object_type == "notice", AuditEntry.object_id == str(notice_id))
        .order_by(AuditEntry.seq)
    )
    return [a for a in rows if a in ("notice.publish", "notice.end")]


def test_phase_changes_are_recorded_once_each_and_caught_up(session, factory, now):
    tenant = factory.tenant()
    category = factory.category(tenant)
    editor, approver = factory.user(tenant, "editor"), factory.user(tenant, "approver")
    today = now.date()
    running = factory.released_notice(
        tenant, category, editor, approver, start=today, end=today + timedelta(days=14)
    )
    later = factory.released_notice(
        tenant,
        category,
        editor,
        approver,
        start=today + timedelta(days=30),
        end=today + timedelta(days=44),
        title="Später",
    )
    session.commit()

    assert record_phase_changes(session, now) == 1
    assert record_phase_changes(session, now) == 0
    assert _actions(session, running.id) == ["notice.publish"]
    assert _actions(session, later.id) == []

    # After downtime: both ends and the later start at once, each once.
    long_after = now + timedelta(days=60)
    assert record_phase_changes(session, long_after) == 3
    assert record_phase_changes(session, long_after) == 0
    assert _actions(session, running.id) == ["notice.publish", "notice.end"]
    assert _actions(session, later.id) == ["notice.publish", "notice.end"]
    assert running.end_recorded_at == long_after


class FakeMeetings:
    def __init__(self, error: Exception | None = None) -> None:
        self.error, self.asked = error, []

    def fetch_meetings(self, url, *, modified_since=None):
        self.asked.append((url, modified_since))
        if self.error:
            raise self.error
        return []


def _source(session, factory, url, *, active=True):
    tenant = factory.tenant(slug=url.rsplit("/", 1)[-1])
    source = OParlSource(
        tenant_id=tenant.id,
        url=url,
        category_id=factory.category(tenant).id,
        author_id=factory.user(tenant, "editor").id,
        active=active,
    )
    session.add(source)
    session.flush()
    return source


def test_oparl_job_syncs_active_sources_only(session, factory, now):
    active = _source(session, factory, "http://127.0.0.1:9/oparl/a")
    paused = _source(session, factory, "http://127.0.0.1:9/oparl/b", active=False)
    client = FakeMeetings()

    assert sync_oparl_sources(session, now, client) == 1
    assert client.asked == [(active.url, None)]
    assert active.synced_until == now and active.last_run_at == now
    assert paused.last_run_at is None

    later = now + timedelta(minutes=15)
    sync_oparl_sources(session, later, client)
    assert client.asked[-1] == (active.url, now)  # incremental: modified since last run


def test_oparl_job_stores_a_source_error_and_counts_it_as_not_synced(session, factory, now):
    source = _source(session, factory, "http://127.0.0.1:9/oparl/c")
    assert sync_oparl_sources(session, now, FakeMeetings(OParlError("nicht erreichbar"))) == 0
    assert "nicht erreichbar" in source.last_error
    assert source.synced_until is None and source.last_run_at == now


def test_outage_job_reads_its_threshold_from_config(app_ctx, session, now):
    app_ctx.config["AUSHANG_DISPLAY_OUTAGE_MINUTES"] = 3
    assert detect_outages(session, now) == 0
    assert detect_outages(session, now, minutes=10) == 0


def test_nina_job_makes_no_connection_unless_enabled(app_ctx, session, now):
    app_ctx.config["AUSHANG_NINA_ENABLED"] = False
    assert poll_nina(session, now) == 0
    assert tick_alerts(session, now) == 0


def test_oparl_job_builds_its_own_client_when_none_is_passed(app_ctx, session, now):
    app_ctx.config["AUSHANG_OPARL_USER_AGENT"] = "Aushang-Test/1"
    assert sync_oparl_sources(session, now) == 0  # no source: nothing fetched


class FlakyNina:
    """A NINA client whose dashboard answers empty or fails, as the test says."""

    base_url = "http://127.0.0.1:9/api31"

    def __init__(self) -> None:
        self.failing = False
        self.asked: list[str] = []

    def dashboard(self, key, *, etag=None, last_modified=None):
        self.asked.append(key)
        if self.failing:
            raise NinaFeedError("NINA antwortete mit HTTP 503.")
        return DashboardOk(entries=(), etag=None, last_modified=None)

    def warning(self, identifier):
        raise AssertionError("no entries, no details")


def test_nina_job_logs_a_stale_feed_once_and_its_recovery_once(
    app_ctx, session, factory, now, caplog
):
    caplog.set_level(logging.INFO, logger="aushang.jobs.alerts")
    app_ctx.config["AUSHANG_NINA_STALE_MINUTES"] = 3
    factory.tenant("sangerhausen", ars="150870045045")
    factory.tenant("helbra", ars="150875063015")  # same Kreis: one dashboard
    session.commit()
    nina = FlakyNina()

    def stale_lines():
        return [r for r in caplog.records if "event=disturbed" in r.getMessage()]

    assert poll_nina(session, now, nina) == 0
    assert nina.asked == ["150870000000"]
    nina.failing = True
    for minutes in (5, 6, 7):
        poll_nina(session, now + timedelta(minutes=minutes), nina)
    assert len(stale_lines()) == 1 and stale_lines()[0].levelno == logging.ERROR
    feed = session.scalar(select(AlertFeed).where(AlertFeed.key == "150870000000"))
    assert feed.stale_notified

    nina.failing = False
    poll_nina(session, now + timedelta(minutes=8), nina)
    poll_nina(session, now + timedelta(minutes=9), nina)
    assert [r.getMessage() for r in caplog.records if "event=recovered" in r.getMessage()] == [
        "nina feed=150870000000 event=recovered"
    ]
    assert not feed.stale_notified and len(stale_lines()) == 1


class NinaWithoutDetails(FlakyNina):
    """Lists one warning whose details answer an error (W2), until ``details_back``."""

    def dashboard(self, key, *, etag=None, last_modified=None):
        self.asked.append(key)
        return DashboardOk(entries=(DashboardEntry(id="mow.DE-ST-X-1", version=1),))

    def warning(self, identifier):
        raise NinaFeedError("NINA antwortete mit HTTP 404.")


def test_nina_job_treats_failing_details_as_a_disturbance_and_says_so_once(
    app_ctx, session, factory, now, caplog
):
    """A listed warning that cannot be fetched disturbs the feed (W2/W3) even though the
    dashboard answers: logged once and queued as one mail to civil protection."""
    from server.models import OutboxMessage

    caplog.set_level(logging.INFO, logger="aushang.jobs.alerts")
    tenant = factory.tenant("sangerhausen", ars="150870045045")
    factory.user(tenant, "alerter", email="kats@sangerhausen.example")
    session.commit()
    nina = NinaWithoutDetails()
    for minutes in (0, 1, 2):
        poll_nina(session, now + timedelta(minutes=minutes), nina)
    feed = session.scalar(select(AlertFeed).where(AlertFeed.key == "150870000000"))
    lines = [r.getMessage() for r in caplog.records if "event=disturbed" in r.getMessage()]
    assert feed.stale_notified and len(lines) == 1
    (queued,) = session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == "staff.nina.health")
    ).all()
    assert queued.recipient == "kats@sangerhausen.example"
    assert "mow.DE-ST-X-1" in json.loads(queued.payload)["error"]
