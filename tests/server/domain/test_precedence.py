"""The warning precedence rule: the shared table of cases and properties over random sets."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.config import PROJECT_ROOT
from server.domain.alerts.precedence import Mode, ScreenWarning, rotation_cycle, screen_plan

CASES = json.loads((PROJECT_ROOT / "contract" / "warning-precedence-cases.json").read_text())
NOW = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize("case", CASES["cases"], ids=lambda c: c["name"])
def test_the_shared_table_of_cases(case: dict[str, Any]) -> None:
    now = datetime.fromisoformat(case["now"].replace("Z", "+00:00"))
    plan = screen_plan(case["warnings"], now, case["is_test_display"])
    assert plan.as_json() == case["expect"]
    if "items" in case:
        assert rotation_cycle(case["items"], plan) == case["cycle"]


def test_the_table_covers_banner_pages_in_every_mode() -> None:
    with_pages = [c for c in CASES["cases"] if c["expect"]["banner_pages"]]
    assert {c["expect"]["mode"] for c in with_pages} == {"rotation", "entwarnung"}
    assert any(c.get("cycle") for c in with_pages)


def test_the_table_covers_the_issue_13_case() -> None:
    names = [c["name"] for c in CASES["cases"]]
    assert any("issue 13" in n for n in names)


# --- properties over random sets --------------------------------------------------------

_minutes = st.integers(min_value=-120, max_value=120)


@st.composite
def warnings(draw: st.DrawFn) -> ScreenWarning:
    entwarnung = draw(st.booleans())
    expires = draw(st.none() | _minutes)
    until = draw(st.none() | _minutes)
    return ScreenWarning(
        id=draw(st.text("abcdefgh", min_size=1, max_size=3)),
        behaviour="takeover"
        if entwarnung
        else draw(st.sampled_from(["takeover", "alternate", "banner"])),
        entwarnung=entwarnung,
        status=draw(st.sampled_from(["Actual", "Actual", "Exercise", "Test"])),
        warnstufe=draw(st.integers(min_value=1, max_value=3)),
        sent=NOW + timedelta(minutes=draw(st.integers(min_value=-600, max_value=0))),
        expires=None if expires is None or entwarnung else NOW + timedelta(minutes=expires),
        entwarnung_until=NOW + timedelta(minutes=until)
        if entwarnung and until is not None
        else None,
    )


def _unique(ws: list[ScreenWarning]) -> list[ScreenWarning]:
    seen: dict[str, ScreenWarning] = {}
    for w in ws:
        seen.setdefault(w.id, w)
    return list(seen.values())


warning_sets = st.lists(warnings(), max_size=8).map(_unique)


def _live(ws: list[ScreenWarning], test_display: bool) -> list[ScreenWarning]:
    return [
        w
        for w in ws
        if not w.entwarnung
        and (w.expires is None or NOW < w.expires)
        and (w.status == "Actual" or test_display)
    ]


@settings(max_examples=200, deadline=None)
@given(warning_sets, st.booleans())
def test_every_live_warning_is_on_screen_within_one_cycle(
    ws: list[ScreenWarning], test_display: bool
) -> None:
    plan = screen_plan(ws, NOW, test_display)
    cycle = plan.live_shown
    for w in _live(ws, test_display):
        # Once per cycle: the full-screen cycle, the rotation's warnings or the strips.
        assert cycle.count(w.id) == 1, (w, plan)
        if w.full_screen:
            where = plan.full_screen if plan.mode is Mode.TAKEOVER else plan.alternate
            assert w.id in where, (w, plan)
        else:
            assert w.id in plan.strips


@settings(max_examples=200, deadline=None)
@given(warning_sets, st.booleans())
def test_every_live_warnings_full_text_is_shown_within_one_cycle(
    ws: list[ScreenWarning], test_display: bool
) -> None:
    # W12: not only the banner's strip, its full pages too, unless a takeover hides them.
    plan = screen_plan(ws, NOW, test_display)
    full = plan.full_text_shown
    for w in _live(ws, test_display):
        if plan.mode is Mode.TAKEOVER and not w.full_screen:
            assert w.id in plan.strips and w.id not in full, (w, plan)
        else:
            assert full.count(w.id) == 1, (w, plan)
    assert not {w.id for w in ws if w.entwarnung} & set(plan.banner_pages)
    assert list(plan.banner_pages) == [i for i in plan.strips if i in plan.banner_pages]


@settings(max_examples=200, deadline=None)
@given(warning_sets, st.booleans(), st.integers(min_value=0, max_value=6))
def test_a_rotation_cycle_shows_every_slide_once_and_each_banner_once(
    ws: list[ScreenWarning], test_display: bool, slides: int
) -> None:
    plan = screen_plan(ws, NOW, test_display)
    items = [f"n{i}" for i in range(slides)]
    cycle = rotation_cycle(items, plan)
    if plan.mode is not Mode.ROTATION:
        assert cycle == []
        return
    assert [e for e in cycle if e.startswith("item:")] == [f"item:{i}" for i in items]
    for wid in plan.full_text_shown:
        assert f"warning:{wid}" in cycle
    for wid in plan.banner_pages:
        # Once per cycle, whatever the number of slides: the cost to D3 is its own pages.
        assert cycle.count(f"warning:{wid}") == 1
    # Banner pages come after the last slide, so the slides keep their rhythm.
    if items and plan.banner_pages:
        last = cycle.index(f"item:{items[-1]}")
        assert all(cycle.index(f"warning:{b}") > last for b in plan.banner_pages)


@settings(max_examples=200, deadline=None)
@given(warning_sets, st.booleans())
def test_an_entwarnung_never_hides_a_live_warning(
    ws: list[ScreenWarning], test_display: bool
) -> None:
    plan = screen_plan(ws, NOW, test_display)
    live_full = [w for w in _live(ws, test_display) if w.full_screen]
    cancels = {w.id for w in ws if w.entwarnung}
    if live_full:
        assert plan.mode is not Mode.ENTWARNUNG, plan
        assert not cancels & set(plan.full_screen), plan
    # Taking the Entwarnungen away changes nothing about the live warnings.
    without = screen_plan([w for w in ws if not w.entwarnung], NOW, test_display)
    if live_full or plan.mode is not Mode.ENTWARNUNG:
        assert plan.mode is without.mode
        assert plan.full_screen == without.full_screen
        assert plan.alternate == without.alternate
    assert [i for i in plan.strips if i not in cancels] == list(without.strips)


@settings(max_examples=150, deadline=None)
@given(warning_sets, st.booleans(), st.randoms(use_true_random=False))
def test_the_order_is_by_warnstufe_then_newest_and_ignores_input_order(
    ws: list[ScreenWarning], test_display: bool, rnd: Any
) -> None:
    plan = screen_plan(ws, NOW, test_display)
    shuffled = list(ws)
    rnd.shuffle(shuffled)
    again = screen_plan(shuffled, NOW, test_display)
    assert (again.mode, again.full_screen, again.alternate, again.strips, again.banner_pages) == (
        plan.mode,
        plan.full_screen,
        plan.alternate,
        plan.strips,
        plan.banner_pages,
    )
    assert sorted(again.hidden) == sorted(plan.hidden)
    by_id = {w.id: w for w in ws}
    for ids in (plan.full_screen if plan.mode is Mode.TAKEOVER else (), plan.alternate):
        keys = [(by_id[i].warnstufe, -by_id[i].sent.timestamp()) for i in ids]  # type: ignore[union-attr]
        assert keys == sorted(keys)


@settings(max_examples=150, deadline=None)
@given(warning_sets)
def test_exercises_never_reach_a_public_display(ws: list[ScreenWarning]) -> None:
    plan = screen_plan(ws, NOW, is_test_display=False)
    not_actual = {w.id for w in ws if w.status != "Actual"}
    assert not not_actual & set(plan.live_shown + plan.banner_pages)
    assert not_actual <= set(plan.hidden)


def test_manifest_shaped_dicts_and_dataclasses_give_the_same_plan() -> None:
    raw = [
        {"id": "1", "behaviour": "alternate", "msg_type": "Alert", "status": "Actual",
         "severity": "Severe", "sent": "2026-12-03T09:00:00Z", "expires": None,
         "entwarnung_until": None},
    ]  # fmt: skip
    plan = screen_plan(raw, NOW, False)
    assert plan == screen_plan([ScreenWarning.from_json(raw[0])], NOW, False)
    assert plan.mode is Mode.ROTATION and plan.alternate == ("1",)
