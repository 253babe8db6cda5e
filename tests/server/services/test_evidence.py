"""The Aushangvermerk record (L16)."""

from __future__ import annotations

from datetime import timedelta

from server.domain.posting import to_local
from server.services import notices as svc
from server.services.evidence import build_aushangvermerk

from ..publicworld import make_world


def test_vermerk_has_both_dates_per_channel_and_the_hash(factory, app_ctx, now):
    public_world = make_world(factory, app_ctx)
    end = now.date() - timedelta(days=2)
    start = end - timedelta(days=10)
    notice = public_world.notice(at=now - timedelta(days=15), start=start, end=end)
    v = build_aushangvermerk(notice, now, public_url="http://x/n")
    by_kind = {c["kind"]: c for c in v["channels"]}
    internet, board = by_kind["internet"], by_kind["board"]
    assert internet["posted_from"] == f"{start.isoformat()}T00:00:00+01:00"  # provided_at
    assert internet["posted_until"].startswith((end + timedelta(days=1)).isoformat())
    assert board["posted_from"] == f"{start.isoformat()}T00:00:00+01:00"
    assert board["posted_until"] == f"{(end + timedelta(days=1)).isoformat()}T00:00:00+01:00"
    assert internet["completed"] and board["completed"]
    assert internet["binding"] and board["binding"]
    assert v["notice"]["content_hash"] == notice.current_version.content_hash
    assert v["versions"][0]["released_by"]["email"] == public_world.approver.email
    assert v["versions"][0]["created_by"]["email"] == public_world.editor.email
    assert v["effective"]["per_channel"] == {
        "internet": notice.provided_on.isoformat(),
        "board": end.isoformat(),
    }
    assert v["effective"]["overall"] == end.isoformat()
    assert v["displays"] == []


def test_running_and_withdrawn_postings(factory, app_ctx, now):
    public_world = make_world(factory, app_ctx)
    running = public_world.notice()
    v = build_aushangvermerk(running, now, public_url="http://x/n")
    board = next(c for c in v["channels"] if c["kind"] == "board")
    assert board["completed"] is False and "geplant" in board["note"]

    withdrawn = public_world.notice()
    later = now + timedelta(days=1)
    svc.withdraw(
        factory.session, withdrawn, public_world.approver, "ended_early", "Baustelle fertig", later
    )
    v = build_aushangvermerk(withdrawn, later + timedelta(hours=1), public_url="http://x/n")
    board = next(c for c in v["channels"] if c["kind"] == "board")
    assert board["posted_until"] == to_local(later, public_world.tenant.timezone).isoformat()
    assert board["completed"] is True
    assert v["withdrawal"]["kind"] == "ended_early"
    assert v["withdrawal"]["reason"] == "Baustelle fertig"


def test_extra_channels_extension_point(factory, app_ctx, now):
    public_world = make_world(factory, app_ctx)
    notice = public_world.notice()

    def displays(n, at):
        return [
            {
                "kind": "display",
                "name": "Rathaus Foyer",
                "location": "Markt 1",
                "posted_from": "2026-11-20T00:00:00+01:00",
                "posted_until": None,
                "outages": [
                    {"start": "2026-11-20T03:00:00+01:00", "end": "2026-11-20T03:10:00+01:00"}
                ],
            }
        ]

    v = build_aushangvermerk(notice, now, public_url="http://x/n", extra_channels=[displays])
    assert v["displays"][0]["name"] == "Rathaus Foyer"
    assert len(v["displays"][0]["outages"]) == 1
