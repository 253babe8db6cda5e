"""Evidence follows history (issue 17, build 1): the Aushangvermerk reports what a
display was while the notice hung, whatever its settings say today."""

from __future__ import annotations

from datetime import timedelta

from server.models import Display, DisplayState
from server.services import display_history
from server.services.displays.config import DisplayInput, save_display
from server.services.displays.evidence import display_records
from server.services.evidence import build_aushangvermerk

from ..publicworld import make_world


def _save(session, world, display, now, **flags) -> Display:
    data = DisplayInput(
        name=display.name if display else "Rathaus Foyer",
        location="Markt 1",
        legal_board=flags.get("legal_board", False),
        test_display=flags.get("test_display", False),
        all_categories=flags.get("all_categories", True),
        category_ids=flags.get("category_ids", []),
    )
    return save_display(
        session,
        world.tenant,
        world.factory.user(world.tenant, "admin") if display is None else world.approver,
        data,
        now,
        store=world.store,
        base_url="http://127.0.0.1",
        display=display,
    )


def test_changing_flags_afterwards_leaves_the_record_of_the_time(app_ctx, session, factory, now):
    world = make_world(factory, app_ctx)
    t0 = now - timedelta(days=30)
    display = _save(session, world, None, t0, legal_board=True)
    display.enrolled_at = t0
    display.token_hash = "hash-of-foyer"
    end = now.date() - timedelta(days=5)
    notice = world.notice(
        at=now - timedelta(days=21), start=end - timedelta(days=14), end=end, title="Satzung"
    )
    before = build_aushangvermerk(
        notice,
        now,
        public_url="http://x",
        extra_channels=[lambda n, t: display_records(session, n, t)],
    )
    assert [(d["name"], d["legal_board"]) for d in before["displays"]] == [("Rathaus Foyer", True)]

    # Today the board becomes a test display showing only another category.
    other = factory.category(world.tenant, "Sonstiges", binding=("internet",))
    _save(
        session,
        world,
        display,
        now,
        test_display=True,
        all_categories=False,
        category_ids=[other.id],
    )
    assert display.test_display and not display.legal_board
    rows = session.query(DisplayState).filter_by(display_id=display.id).all()
    assert [(r.legal_board, r.test_display) for r in rows] == [(True, False), (False, True)]

    after = build_aushangvermerk(
        notice,
        now + timedelta(hours=1),
        public_url="http://x",
        extra_channels=[lambda n, t: display_records(session, n, t)],
    )
    assert after["displays"][0]["legal_board"] is True
    assert after["displays"][0]["name"] == "Rathaus Foyer"
    assert [d["display_id"] for d in after["displays"]] == [display.id]

    # A notice posted after the change: the display is a test display now, no channel.
    tomorrow = now.date() + timedelta(days=1)
    later = world.notice(
        at=now + timedelta(hours=2),
        start=tomorrow,
        end=tomorrow + timedelta(days=14),
        title="Neue Satzung",
    )
    assert display_records(session, later, now + timedelta(days=2)) == []


def test_state_at_and_unchanged_saves(app_ctx, session, factory, now):
    world = make_world(factory, app_ctx)
    display = _save(session, world, None, now - timedelta(days=3))
    _save(session, world, display, now - timedelta(days=2))  # nothing changed: no row
    assert len(display_history.history(session, display.id)) == 1
    _save(session, world, display, now - timedelta(days=1), legal_board=True)
    assert not display_history.state_at(session, display, now - timedelta(days=2)).legal_board
    assert display_history.state_at(session, display, now).legal_board
    # Before the first row: its first known state.
    assert not display_history.state_at(session, display, now - timedelta(days=9)).legal_board
