"""Playlists of displays: paging estimates, the cycle rule for legal boards (D3), screen
hours and the next moment a display's content changes by time alone.

Pure: no Flask, no SQL; ``now`` is a parameter.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from .errors import ValidationFailed

DEFAULT_CYCLE_LIMIT_S = 300
_TIME_RE = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")

# Slide text metrics, kept equal to templates/display/slide.html: font size and the
# share of the screen the paged text box takes, both relative to the screen height.
TEXT_FONT_VH = {"landscape": 3.4, "portrait": 2.3}
TEXT_BOX_HEIGHT = {"landscape": 0.56, "portrait": 0.58}
TEXT_BOX_WIDTH = 0.9
LINE_HEIGHT = 1.4
CHAR_WIDTH_EM = 0.55  # average advance of DejaVu Sans for German text


@dataclass(frozen=True)
class PlaylistEntry:
    """One item of a rotation as the cycle check sees it."""

    label: str
    duration_s: int
    text_chars: int = 0
    paged: bool = False
    is_notice: bool = False
    max_pages: int = 0  # pages shown per cycle (the rest in the next ones); 0 = all


def page_estimate(text: str | int, orientation: str, width: int, height: int) -> int:
    """How many pages the kiosk will need for a text on this screen (≥ 1).

    A conservative estimate from the slide's metrics: lines of average width, plus one
    line per paragraph break, since pre-wrapped text starts a new line there.
    """
    if isinstance(text, str):
        chars = len(text)
        breaks = text.count("\n")
    else:
        chars, breaks = int(text), 0
    if chars <= 0:
        return 1
    height = max(height, 1)
    font_px = TEXT_FONT_VH.get(orientation, 3.4) / 100 * height
    box_w = width * TEXT_BOX_WIDTH
    box_h = height * TEXT_BOX_HEIGHT.get(orientation, 0.56)
    per_line = max(1, int(box_w / (font_px * CHAR_WIDTH_EM)))
    lines_per_page = max(1, int(box_h / (font_px * LINE_HEIGHT)))
    lines = -(-chars // per_line) + breaks
    return max(1, -(-lines // lines_per_page))


def cycle_seconds(entries: Sequence[PlaylistEntry], orientation: str, w: int, h: int) -> int:
    """Seconds one full rotation takes: each item's duration per page shown in a cycle."""
    total = 0
    for entry in entries:
        pages = page_estimate(entry.text_chars, orientation, w, h) if entry.paged else 1
        if entry.max_pages:
            pages = min(pages, entry.max_pages)
        total += entry.duration_s * pages
    return total


def check_cycle(
    entries: Sequence[PlaylistEntry],
    *,
    orientation: str,
    width: int,
    height: int,
    limit_s: int = DEFAULT_CYCLE_LIMIT_S,
) -> int:
    """D3: on a legal board, every notice in Aushang must come round at least once per
    ``limit_s``. Returns the cycle length; raises ValidationFailed with the reason."""
    total = cycle_seconds(entries, orientation, width, height)
    if total > limit_s:
        notices = sum(1 for e in entries if e.is_notice)
        raise ValidationFailed(
            f"Als rechtsverbindliche Bekanntmachungstafel muss die Anzeige jede "
            f"Bekanntmachung im Aushang mindestens einmal je {_duration(limit_s)} zeigen. "
            f"Mit dieser Einstellung dauert ein Durchlauf etwa {_duration(total)} "
            f"({notices} Bekanntmachungen, {len(entries)} Einträge einschließlich "
            f"Folgeseiten langer Texte). Bitte die Anzeigedauer je Seite verkürzen, "
            f"weitere Inhalte herausnehmen oder die Auswahl auf mehrere Anzeigen verteilen.",
            {"notice_duration_s": f"Durchlauf {_duration(total)} > {_duration(limit_s)}."},
        )
    return total


def _duration(seconds: int) -> str:
    minutes, rest = divmod(int(seconds), 60)
    if not minutes:
        return f"{rest} s"
    return f"{minutes} min {rest} s" if rest else f"{minutes} min"


# --- screen hours -------------------------------------------------------------------


def parse_schedule(rows: Iterable[tuple[str, str, str]]) -> list[dict[str, object]]:
    """Screen hours from form rows (weekdays as "1-5" or "1,2,3", on, off) into the
    contract's schedule list. Empty rows are skipped; an empty list means always on."""
    schedule: list[dict[str, object]] = []
    errors: dict[str, str] = {}
    for n, (days_raw, on, off) in enumerate(rows):
        days_raw, on, off = days_raw.strip(), on.strip(), off.strip()
        if not (days_raw or on or off):
            continue
        try:
            days = _weekdays(days_raw)
        except ValueError:
            errors[f"screen_days_{n}"] = "Wochentage als 1–7 (Mo–So), z. B. „1-5“ oder „6,7“."
            continue
        if not _TIME_RE.match(on) or not _TIME_RE.match(off):
            errors[f"screen_times_{n}"] = "Uhrzeiten als HH:MM, z. B. 06:00 und 22:00."
            continue
        if on == off:
            errors[f"screen_times_{n}"] = "Ein- und Ausschaltzeit dürfen nicht gleich sein."
            continue
        schedule.append({"weekdays": days, "on": on, "off": off})
    if errors:
        raise ValidationFailed("Bitte prüfen Sie die Bildschirmzeiten.", errors)
    return schedule


def _weekdays(raw: str) -> list[int]:
    days: set[int] = set()
    for part in raw.replace(" ", "").split(","):
        if not part:
            continue
        if "-" in part:
            a, b = (int(x) for x in part.split("-", 1))
            if a > b:
                raise ValueError(raw)
            days.update(range(a, b + 1))
        else:
            days.add(int(part))
    if not days or min(days) < 1 or max(days) > 7:
        raise ValueError(raw)
    return sorted(days)


def format_weekdays(days: Sequence[int]) -> str:
    """The inverse of the form parsing: [1,2,3,4,5] → "1-5"."""
    days = sorted(set(days))
    parts: list[str] = []
    start = prev = None
    for d in days:
        if start is None:
            start = prev = d
        elif d == prev + 1:  # type: ignore[operator]
            prev = d
        else:
            parts.append(f"{start}-{prev}" if start != prev else str(start))
            start = prev = d
    if start is not None:
        parts.append(f"{start}-{prev}" if start != prev else str(start))
    return ",".join(parts)


def next_boundary(moments: Iterable[datetime | None], now: datetime) -> datetime | None:
    """The earliest of ``moments`` after ``now``: when content changes by time alone."""
    future = [m for m in moments if m is not None and m > now]
    return min(future) if future else None
