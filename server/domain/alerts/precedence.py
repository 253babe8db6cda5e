"""What a warning screen shows, and in which order: the one precedence rule (W7, W8, W12).

The same rule runs twice by necessity: here (staff preview, delivery expectations) and in
the kiosk page (``player/kiosk/precedence.js``). Both are checked against one table of
cases, ``contract/warning-precedence-cases.json``, so there is one truth.

The rule:

* A *live* warning (not a Cancel, not expired) always wins over any Entwarnung.
* Live ``takeover`` warnings take the full screen. When at least one exists, the live
  ``alternate`` warnings join that cycle (otherwise the takeover would hide them for as long
  as it lasts); the cycle is ordered by Warnstufe (1 = extreme danger first), then newest
  first, and shown with a visible "1 von 2".
* Without a live takeover, live ``alternate`` warnings are shown between the slides of the
  rotation, in the same order.
* Live ``banner`` warnings are strips in their own space on every screen. Unless a live
  takeover hides everything, their full warning pages (every language, every page, W12) are
  shown as well (``banner_pages``): in the rotation once per cycle, after the last notice
  slide (see :func:`rotation_cycle`); beside a full-screen Entwarnung, after its screens in
  the full-screen cycle. Once per cycle, not after every slide, because a long banner
  warning has several 12-second pages per language: after every slide it would stretch the
  rotation's cycle many times over and break D3 (every notice at least every 5 minutes);
  once per cycle it adds only its own pages to that cycle, and its strip stays meanwhile.
* An Entwarnung takes the full screen only when no live takeover or alternate warning
  remains; otherwise it is a strip that covers nothing.
* ``Exercise``/``Test`` messages are shown only on test displays (W7).

Pure: no Flask, no SQL, ``now`` is a parameter.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

SEVERITY_WARNSTUFE: Mapping[str, int] = {"Extreme": 1, "Severe": 2}
DEFAULT_WARNSTUFE = 3


class Mode(StrEnum):
    """What the whole screen is doing."""

    TAKEOVER = "takeover"  # live warnings cycle full screen
    ENTWARNUNG = "entwarnung"  # the all-clear screen(s) cycle full screen
    ROTATION = "rotation"  # the notice rotation, live alternate warnings between slides


@dataclass(frozen=True)
class ScreenWarning:
    """The fields of one active warning that the rule looks at."""

    id: str
    behaviour: str  # "takeover" | "alternate" | "banner"
    entwarnung: bool = False
    status: str = "Actual"
    warnstufe: int = DEFAULT_WARNSTUFE
    sent: datetime | None = None
    expires: datetime | None = None
    entwarnung_until: datetime | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ScreenWarning:
        """From a manifest ``warning`` (or the kiosk view of one, or a case of the table)."""
        entwarnung = bool(data.get("entwarnung")) or data.get("msg_type") == "Cancel"
        warnstufe = data.get("warnstufe")
        if not isinstance(warnstufe, int):
            warnstufe = SEVERITY_WARNSTUFE.get(str(data.get("severity")), DEFAULT_WARNSTUFE)
        return cls(
            id=str(data["id"]),
            behaviour=str(data.get("behaviour") or "banner"),
            entwarnung=entwarnung,
            status=str(data.get("status") or "Actual"),
            warnstufe=warnstufe,
            sent=_parse(data.get("sent")),
            expires=_parse(data.get("expires")),
            entwarnung_until=_parse(data.get("entwarnung_until")),
        )

    @property
    def full_screen(self) -> bool:
        """A warning that needs the whole screen (takeover or alternating takeover)."""
        return self.behaviour in ("takeover", "alternate")


@dataclass(frozen=True)
class ScreenPlan:
    """What the screen shows. Lists hold warning ids in the order they are shown."""

    mode: Mode
    full_screen: tuple[str, ...] = ()  # cycled full screen (warnings or Entwarnungen)
    alternate: tuple[str, ...] = ()  # between the slides of the rotation (mode rotation)
    strips: tuple[str, ...] = ()  # live banners first, then Entwarnungen as strips
    hidden: tuple[str, ...] = field(default=())  # not for this screen (exercise, expired)
    # Live banners whose full pages are shown once per cycle: after the last notice slide
    # (mode rotation) or after the Entwarnung screens (mode entwarnung); none in a takeover.
    banner_pages: tuple[str, ...] = ()

    @property
    def live_shown(self) -> tuple[str, ...]:
        """Every id on screen within one cycle, as full screen, between slides or as strip."""
        return self.full_screen + self.alternate + self.strips

    @property
    def full_text_shown(self) -> tuple[str, ...]:
        """Every id whose full warning pages are on screen within one cycle."""
        return self.full_screen + self.alternate + self.banner_pages

    def as_json(self) -> dict[str, Any]:
        """The plan in the shape of the shared case table's ``expect``."""
        return {
            "mode": self.mode.value,
            "full_screen": list(self.full_screen),
            "alternate": list(self.alternate),
            "strips": list(self.strips),
            "hidden": list(self.hidden),
            "banner_pages": list(self.banner_pages),
        }


def _parse(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    text = str(value)
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def is_active(warning: ScreenWarning, now: datetime) -> bool:
    """A warning is live until it expires; an Entwarnung stays until ``entwarnung_until``."""
    if warning.entwarnung:
        return warning.entwarnung_until is not None and now < warning.entwarnung_until
    return warning.expires is None or now < warning.expires


def may_show(warning: ScreenWarning, *, is_test_display: bool) -> bool:
    """Exercise and Test messages reach test displays only (W7)."""
    return warning.status == "Actual" or is_test_display


def _order(warnings: Iterable[ScreenWarning]) -> list[ScreenWarning]:
    # Highest Warnstufe (1) first, then the newest, then the id so the order is total.
    def key(w: ScreenWarning) -> tuple[int, float, str]:
        sent = -w.sent.timestamp() if w.sent else 0.0
        return (w.warnstufe, sent, w.id)

    return sorted(warnings, key=key)


def _newest_first(warnings: Iterable[ScreenWarning]) -> list[ScreenWarning]:
    return sorted(warnings, key=lambda w: (-(w.sent.timestamp() if w.sent else 0.0), w.id))


def screen_plan(
    warnings: Iterable[ScreenWarning | Mapping[str, Any]],
    now: datetime,
    is_test_display: bool,
) -> ScreenPlan:
    """What the screen shows at ``now`` given the active warnings and Entwarnungen.

    ``warnings`` may be :class:`ScreenWarning` values or manifest-shaped dicts. See the
    module docstring for the rule; ``contract/warning-precedence-cases.json`` for examples.
    """
    shown, hidden = _partition(warnings, now, is_test_display)
    live = [w for w in shown if not w.entwarnung]
    cancels = tuple(w.id for w in _newest_first(w for w in shown if w.entwarnung))
    full = [w for w in live if w.full_screen]
    banners = tuple(w.id for w in _order(w for w in live if not w.full_screen))
    if any(w.behaviour == "takeover" for w in full):
        return ScreenPlan(
            mode=Mode.TAKEOVER,
            full_screen=tuple(w.id for w in _order(full)),
            strips=banners + cancels,
            hidden=hidden,
        )
    if full:
        return ScreenPlan(
            mode=Mode.ROTATION,
            alternate=tuple(w.id for w in _order(full)),
            strips=banners + cancels,
            hidden=hidden,
            banner_pages=banners,
        )
    mode = Mode.ENTWARNUNG if cancels else Mode.ROTATION
    return ScreenPlan(
        mode=mode, full_screen=cancels, strips=banners, hidden=hidden, banner_pages=banners
    )


def _partition(
    warnings: Iterable[ScreenWarning | Mapping[str, Any]], now: datetime, is_test_display: bool
) -> tuple[list[ScreenWarning], tuple[str, ...]]:
    # Split into what this screen may show now and the ids it must not (expired, exercise).
    items = [w if isinstance(w, ScreenWarning) else ScreenWarning.from_json(w) for w in warnings]
    shown = [w for w in items if is_active(w, now) and may_show(w, is_test_display=is_test_display)]
    kept = {id(w) for w in shown}
    return shown, tuple(w.id for w in items if id(w) not in kept)


def rotation_cycle(items: Iterable[str], plan: ScreenPlan) -> list[str]:
    """One cycle of the rotation in mode rotation: ``item:<id>`` and ``warning:<id>`` entries.

    After every notice slide come the live ``alternate`` warnings; after the last slide (and
    its alternates) the full pages of the live banners, once per cycle (the module docstring
    says why). Without slides the warnings alone make the cycle. In the other modes the
    rotation is not running: the full-screen cycle is ``full_screen`` then ``banner_pages``.
    """
    if plan.mode is not Mode.ROTATION:
        return []
    alternates = [f"warning:{i}" for i in plan.alternate]
    cycle: list[str] = []
    for item in items:
        cycle.append(f"item:{item}")
        cycle.extend(alternates)
    if not cycle:
        cycle.extend(alternates)
    cycle.extend(f"warning:{i}" for i in plan.banner_pages)
    return cycle
