"""Dates, times and sizes as German readers expect them (pages, PDFs, mails)."""

from __future__ import annotations

from datetime import date, datetime

from .posting import to_local


def de_date(value: date | datetime | None, tz: str = "Europe/Berlin") -> str:
    if value is None:
        return "–"
    if isinstance(value, datetime):
        value = to_local(value, tz).date()
    return value.strftime("%d.%m.%Y")


def de_datetime(value: datetime | None, tz: str = "Europe/Berlin") -> str:
    if value is None:
        return "–"
    return to_local(value, tz).strftime("%d.%m.%Y, %H:%M Uhr")


def filesize(value: int) -> str:
    if value < 1024:
        return f"{value} Byte"
    if value < 1024 * 1024:
        return f"{value / 1024:.0f} KB".replace(".", ",")
    return f"{value / 1024 / 1024:.1f} MB".replace(".", ",")
