"""Helpers shared by the staff pages: the acting user, form parsing, navigation."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from flask import current_app, request
from flask_login import current_user

from ...models import User
from ..clock import request_now
from ..forms import parse_date
from .blueprint import bp

__all__ = [
    "actor",
    "add_nav",
    "form_text",
    "has_endpoint",
    "parse_date",
    "parse_int",
    "request_now",
]


def actor() -> User:
    """The logged-in user as a model instance (not the Flask-Login proxy)."""
    return current_user._get_current_object()  # type: ignore[no-any-return]


def form_text(name: str) -> str:
    """A form field as text; Windows line ends from browsers become plain newlines."""
    return (request.form.get(name) or "").replace("\r\n", "\n")


def parse_int(
    raw: str | None, field: str, errors: dict[str, str], message: str = "Bitte eine ganze Zahl."
) -> int | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        errors[field] = message
        return None


def has_endpoint(name: str) -> bool:
    """Whether a route exists, so templates can link to pages other areas provide."""
    return name in current_app.view_functions


def add_nav(entries: Iterable[tuple[str, str, tuple[str, ...]]]) -> None:
    """Add (endpoint, label, roles) entries to the staff navigation of the app."""
    items = list(entries)

    def register(state: Any) -> None:
        state.app.extensions["aushang_admin_nav"].extend(items)

    bp.record_once(register)


def _register_globals(state: Any) -> None:
    state.app.add_template_global(has_endpoint, "has_endpoint")


bp.record_once(_register_globals)


AUDIT_ACTION_LABELS = {
    "notice.create": "Bekanntmachung angelegt",
    "notice.update": "Entwurf geändert",
    "notice.attachment_add": "Anlage hinzugefügt",
    "notice.attachment_remove": "Anlage entfernt",
    "notice.submit": "Zur Freigabe vorgelegt",
    "notice.send_back": "An die Redaktion zurückgegeben",
    "notice.recall": "Zurückgeholt",
    "notice.release": "Freigegeben",
    "notice.correction_start": "Berichtigung begonnen",
    "notice.withdrawn": "Zurückgezogen",
    "notice.ended_early": "Aushang vorzeitig beendet",
    "notice.delete_draft": "Entwurf gelöscht",
    "notice.hint_posted": "Hinweis ausgehängt",
    "notice.publish": "Aushang begonnen",
    "notice.end": "Aushang beendet",
    "tenant.create": "Kommune angelegt",
    "tenant.settings": "Einstellungen geändert",
    "category.create": "Kategorie angelegt",
    "category.update": "Kategorie geändert",
    "channel.create": "Bekanntmachungsform angelegt",
    "channel.update": "Bekanntmachungsform geändert",
    "channel.delete": "Bekanntmachungsform gelöscht",
    "user.create": "Konto angelegt",
    "user.roles": "Rollen geändert",
    "user.activate": "Konto aktiviert",
    "user.deactivate": "Konto deaktiviert",
    "user.password_reset": "Passwort neu gesetzt",
    "user.password_change": "Passwort geändert",
    "user.login": "Anmeldung",
    "user.locked": "Konto vorübergehend gesperrt",
}


def audit_label(action: str) -> str:
    return AUDIT_ACTION_LABELS.get(action, action)


def audit_details(raw: str) -> list[tuple[str, str]]:
    """The canonical JSON of an audit row as (key, text) pairs for display."""
    try:
        data = json.loads(raw or "{}")
    except ValueError:
        return [("Rohdaten", raw)]
    if not isinstance(data, dict):
        return [("Wert", str(data))]
    out = []
    for key, value in data.items():
        if isinstance(value, list):
            text = ", ".join(str(v) for v in value) or "–"
        elif value is None:
            text = "–"
        elif isinstance(value, bool):
            text = "ja" if value else "nein"
        else:
            text = str(value)
        out.append((key, text))
    return out


def _register_audit_helpers(state: Any) -> None:
    state.app.add_template_global(audit_label, "audit_label")
    state.app.add_template_global(audit_details, "audit_details")


bp.record_once(_register_audit_helpers)
