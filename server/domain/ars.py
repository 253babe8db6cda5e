"""Amtlicher Regionalschlüssel (ARS, 12 digits) and Gemeindeschlüssel (AGS, 8 digits).

The one implementation for the whole server (W1, W4). An ARS has 12 digits: Land (2),
Regierungsbezirk (1), Kreis (2), Gemeindeverband (4), Gemeinde (3). A code that ends in
zeros after one of these levels stands for the whole level, e.g. ``150000000000`` is
Sachsen-Anhalt and ``150870000000`` Mansfeld-Südharz.

Two kinds of value use the same digits with different rules:

* a *place* (a tenant, a display): :func:`validate_ars` – 12 digits with a Land prefix
  01–16. An 11- or 13-digit value is refused, not padded: a wrong key would silently
  select warnings for another region.
* a *warning area code* (``SHN``/``ARS`` geocodes, ``warnVerwaltungsbereiche``):
  :func:`validate_area_code` – additionally accepts ``000000000000``, the whole of
  Germany (Bund), which national warnings name.
"""

from __future__ import annotations

import re

from .errors import ValidationFailed

LAENDER = frozenset(f"{n:02d}" for n in range(1, 17))
BUND = "0" * 12

_ARS_RE = re.compile(r"^[0-9]{12}$")
# Lengths of the significant prefix for Land, Regierungsbezirk, Kreis, Gemeindeverband.
_LEVELS = (2, 3, 5, 9)

_DIGITS_HINT = "Genau 12 Ziffern, z. B. 150020000000 für Halle (Saale)."
_LAND_HINT = "Die ersten zwei Ziffern sind der Länderschlüssel (01–16)."


class InvalidArs(ValidationFailed, ValueError):
    """A value that is not a valid 12-digit Amtlicher Regionalschlüssel."""

    def __init__(self, value: str, field: str = "ars", *, land: bool = False) -> None:
        if land:
            message = (
                f"Der Regionalschlüssel (ARS) „{value}“ beginnt nicht mit einem "
                "Länderschlüssel (01–16)."
            )
            hint = _LAND_HINT
        else:
            digits = sum(ch.isdigit() for ch in value)
            message = (
                f"Ungültiger Regionalschlüssel „{value}“: erwartet werden genau 12 Ziffern "
                f"(angegeben: {len(value)} Zeichen, davon {digits} Ziffern)."
            )
            hint = _DIGITS_HINT
        super().__init__(message, {field: hint})
        self.value = value


def _twelve_digits(value: str, field: str, *, grouped: bool = False) -> str:
    text = (value or "").strip()
    if grouped:  # people type an ARS in groups: "15 08 5 0235 235"
        text = text.replace(" ", "")
    if not _ARS_RE.match(text):
        raise InvalidArs(value or "", field)
    return text


def validate_ars(value: str, field: str = "ars") -> str:
    """Return the ARS of a place if it is exactly 12 digits with a Land prefix 01–16.

    Surrounding whitespace and spaces between digit groups are tolerated; 11- or
    13-digit values and letters raise :class:`InvalidArs` (a :class:`ValidationFailed`
    naming ``field``).
    """
    ars = _twelve_digits(value, field, grouped=True)
    if ars[:2] not in LAENDER:
        raise InvalidArs(value, field, land=True)
    return ars


def validate_area_code(value: str, field: str = "ars") -> str:
    """Return a warning area code: a place's ARS or ``000000000000`` (Bund).

    Codes come from messages, not from people, so spaces inside are refused.
    """
    code = _twelve_digits(value, field)
    if code != BUND and code[:2] not in LAENDER:
        raise InvalidArs(value, field, land=True)
    return code


def is_ars(value: str) -> bool:
    """True if ``value`` is a valid ARS of a place."""
    try:
        validate_ars(value)
    except InvalidArs:
        return False
    return True


def is_area_code(value: str) -> bool:
    """True if ``value`` is a valid warning area code (an ARS or the Bund code)."""
    try:
        validate_area_code(value)
    except InvalidArs:
        return False
    return True


def nina_dashboard_key(ars: str) -> str:
    """The NINA dashboard key of the Kreis an ARS lies in: ``ARS[0:5] + "0000000"`` (W1)."""
    return validate_ars(ars)[:5] + "0000000"


def kreis_key(ars: str) -> str:
    """The five-digit Kreis key (Land + Regierungsbezirk + Kreis)."""
    return validate_ars(ars)[:5]


def ags(ars: str) -> str:
    """The 8-digit Amtlicher Gemeindeschlüssel: ARS digits 1–5 and 10–12."""
    ars = validate_ars(ars)
    return ars[:5] + ars[9:]


def significant_prefix(code: str) -> str:
    """The part of an area code that names its area; trailing zero levels are dropped.

    ``000000000000`` → empty (Bund), ``150000000000`` → ``15`` (Land),
    ``150870000000`` → ``15087`` (Kreis),
    ``150875012000`` → ``150875012`` (Gemeindeverband), a Gemeinde keeps all 12.
    """
    code = validate_area_code(code)
    if code == BUND:
        return ""
    for length in _LEVELS:
        if set(code[length:]) == {"0"}:
            return code[:length]
    return code


def ars_covers(area_code: str, target: str) -> bool:
    """True if the area named by ``area_code`` contains the area ``target``.

    Prefix semantics: a Land- or Kreis-wide code covers every Gemeinde in it, so a
    Kreis-wide warning is relevant for all its municipalities. Both sides are area
    codes, so ``000000000000`` is accepted on either side.
    """
    return validate_area_code(target).startswith(significant_prefix(area_code))
