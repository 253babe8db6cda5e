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


from ...models import ROLE_LABELS  # noqa: E402
from .audit_text import ACTION_LABELS as AUDIT_ACTION_LABELS  # noqa: E402
from .audit_text import DETAIL_LABELS, OBJECT_LABELS  # noqa: E402


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
        if key == "roles" and isinstance(value, list):  # role codes print in German
            text = ", ".join(ROLE_LABELS.get(str(v), str(v)) for v in value) or "–"
        out.append((str(DETAIL_LABELS.get(key, key)), text))
    return out


def audit_object(object_type: str) -> str:
    return OBJECT_LABELS.get(object_type, object_type)


def _register_audit_helpers(state: Any) -> None:
    state.app.add_template_global(audit_label, "audit_label")
    state.app.add_template_global(audit_details, "audit_details")
    state.app.add_template_global(audit_object, "audit_object")


bp.record_once(_register_audit_helpers)
