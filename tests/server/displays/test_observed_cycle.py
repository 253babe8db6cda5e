"""The observed cycle (issue 16): from the display's proof of play, the longest time
between two shows of one notice slide; the staff page warns when it exceeds the limit."""

from __future__ import annotations

import uuid
from datetime import timedelta

from server.models import PlayEvent
from server.services.displays.cycle import observed_cycle
from tests.conftest import login


def _play(session, display, item, at, notice_id=1):
    session.add(
        PlayEvent(
            event_id=str(uuid.uuid4()),
            display_id=display.id,
            kind="play",
            item_id=item,
            notice_id=notice_id,
            at=at,
            received_at=at,
        )
    )


def test_longest_gap_between_shows_of_one_notice(client, dw, session, now):
    display = dw.display
    assert observed_cycle(session, display, now) is None
    start = now - timedelta(minutes=50)
    # Two notices alternating: a 200 s cycle, once stretched to 340 s (a long page run);
    # a 2-hour-old play and a 40-minute screen-off gap do not count.
    times = [0, 200, 400, 740, 940]
    for t in times:
        _play(session, display, "notice-1-v1", start + timedelta(seconds=t))
        _play(session, display, "notice-2-v1", start + timedelta(seconds=t + 100), 2)
    _play(session, display, "notice-1-v1", now - timedelta(hours=3))
    _play(session, display, "notice-2-v1", start + timedelta(seconds=1040 + 2400), 2)
    _play(session, display, "content-7", start + timedelta(seconds=50), None)
    _play(session, display, "content-7", start + timedelta(seconds=900), None)
    session.commit()
    seen = observed_cycle(session, display, now)
    assert (seen.seconds, seen.item_id) == (340, "notice-1-v1")

    display.legal_board = True
    display.cycle_limit_s = 300
    session.commit()
    login(client, dw.admin.email)
    page = client.get(f"/admin/{dw.tenant.slug}/anzeigen/{display.id}").get_data(as_text=True)
    assert "5 min 40 s" in page and "länger als die Grenze von 300 s" in page
    assert "nicht jede Bekanntmachung oft genug" in page
