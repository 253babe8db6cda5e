"""Outages from heartbeat gaps (D2), the cycle rule for legal boards (D3), and slides
that never truncate (D4)."""

from __future__ import annotations

import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from server.domain.errors import ValidationFailed
from server.domain.playlist import PlaylistEntry, check_cycle, page_estimate
from server.jobs.displays import detect_outages
from server.models import Display, Outage
from server.services.displays import config as display_config
from server.services.displays.reports import record_heartbeat
from server.services.files import BlobStore

from .conftest import release


def _beat(session, display, at):
    record_heartbeat(session, display.id, {"player_version": "0.1.0"}, at)
    session.commit()


def test_ten_minute_gap_on_legal_board_is_exactly_one_outage(app, session, dw, now):
    display = session.get(Display, dw.display.id)
    display.legal_board = True
    _beat(session, display, now)
    for minute in range(1, 11):  # the job runs every minute during the gap
        detect_outages(session, now + timedelta(minutes=minute), minutes=5)
        session.commit()
    outages = session.scalars(select(Outage)).all()
    assert len(outages) == 1
    assert outages[0].started_at == now and outages[0].ended_at is None
    assert outages[0].notice_numbers == [dw.notice.number]
    _beat(session, display, now + timedelta(minutes=10, seconds=30))
    detect_outages(session, now + timedelta(minutes=11), minutes=5)
    detect_outages(session, now + timedelta(minutes=12), minutes=5)
    session.commit()
    outages = session.scalars(select(Outage)).all()
    assert len(outages) == 1
    assert outages[0].ended_at == now + timedelta(minutes=10, seconds=30)


def test_no_outage_without_a_notice_in_aushang(session, dw, now):
    display = session.get(Display, dw.other_display.id)  # other tenant: no notices
    _beat(session, display, now)
    detect_outages(session, now + timedelta(minutes=10), minutes=5)
    found = session.scalars(select(Outage.display_id)).all()
    assert display.id not in found and dw.display.id in found


def test_cycle_rule_refuses_with_reason():
    entries = [PlaylistEntry(f"N{i}", 20, 100, True, True) for i in range(16)]
    with pytest.raises(ValidationFailed) as exc:
        check_cycle(entries, orientation="landscape", width=1920, height=1080, limit_s=300)
    assert "5 min" in exc.value.message and "16 Bekanntmachungen" in exc.value.message
    assert check_cycle(entries[:15], orientation="landscape", width=1920, height=1080) == 300


def test_long_texts_count_their_pages():
    assert page_estimate("x" * 100, "landscape", 1920, 1080) == 1
    assert page_estimate("x" * 5000, "landscape", 1920, 1080) > 2
    assert page_estimate("x" * 5000, "portrait", 1080, 1920) >= page_estimate(
        "x" * 5000, "landscape", 1920, 1080
    )


def test_legal_board_configuration_refused_when_cycle_too_long(app, session, dw, now):
    for i in range(6):
        release(dw, session, now, title=f"Bekanntmachung {i}", body_md="Text. " * 400)
    store = BlobStore(app.config["AUSHANG_DATA_DIR"])
    data = display_config.DisplayInput(
        name="Rathaus Tafel", legal_board=True, notice_duration_s=60, cycle_limit_s=300
    )
    with pytest.raises(ValidationFailed) as exc:
        display_config.save_display(
            session, dw.tenant, dw.admin, data, now, store=store, base_url="http://x.example"
        )
    session.rollback()
    assert "mindestens einmal je 5 min" in exc.value.message
    data.notice_duration_s = 8
    display = display_config.save_display(
        session, dw.tenant, dw.admin, data, now, store=store, base_url="http://x.example"
    )
    session.commit()
    assert display.legal_board


class _Paged(HTMLParser):
    def __init__(self):
        super().__init__()
        self.depth = 0
        self.text = []

    def handle_starttag(self, tag, attrs):
        if self.depth:
            self.depth += 1
        elif "data-paged" in dict(attrs):
            self.depth = 1

    def handle_endtag(self, tag):
        if self.depth:
            self.depth -= 1

    def handle_data(self, data):
        if self.depth:
            self.text.append(data)


def test_slide_holds_the_whole_text_in_the_paged_element(app, client, session, dw, now):
    from .conftest import API

    long = " ".join(f"Wort{i}" for i in range(1500))
    notice = release(dw, session, now, title="Lange Satzung", body_md=long)
    body = client.get(API + "manifest", headers=dw.auth()).get_json()
    item = next(i for i in body["items"] if i.get("notice_id") == str(notice.id))
    html = client.get(API + f"assets/{item['slide']['sha256']}", headers=dw.auth()).data.decode()
    assert '<html lang="de">' in html
    assert not re.search(
        r"<script|https?://(?!x\.example|127\.0\.0\.1)[^\s\"<]*\.(css|js|woff)", html
    )
    parser = _Paged()
    parser.feed(html)
    paged = "".join(parser.text)
    assert long in paged  # never truncated (D4): the kiosk pages it
    assert "vh" in html and "Lange Satzung" in html and "<svg" in html  # QR inline
