"""Displays: a tenant with released notices, an enrolled display and a player client."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import jsonschema
import pytest

from server import runtime
from server.models import Display, Notice, Tenant, User
from server.services.displays import enrolment

SCHEMA = json.loads(
    (
        Path(__file__).resolve().parents[3] / "contract" / "player-protocol-v1.schema.json"
    ).read_text()
)
API = "/api/player/v1/"


def validate(name: str, value) -> None:
    """Server answers must follow the contract exactly."""
    jsonschema.Draft202012Validator(
        {**SCHEMA, "$ref": f"#/$defs/{name}"}, format_checker=jsonschema.FormatChecker()
    ).validate(value)


@pytest.fixture(autouse=True)
def fresh_caches(app):
    app.config["AUSHANG_NOTIFY_LISTENER"] = False
    runtime.reset(app)
    yield
    runtime.reset(app)


@pytest.fixture(autouse=True)
def clock(app, now):
    """The API's clock (AUSHANG_CLOCK); tests move it with ``clock.set(...)``."""

    class Clock:
        value = now

        def __call__(self):
            return self.value

        def set(self, value):
            self.value = value

    c = Clock()
    app.config["AUSHANG_CLOCK"] = c
    yield c
    app.config.pop("AUSHANG_CLOCK", None)


@dataclass
class DisplayWorld:
    tenant: Tenant
    other: Tenant
    editor: User
    approver: User
    admin: User
    notice: Notice
    display: Display
    token: str
    other_display: Display
    other_token: str
    factory: object
    cat: object

    def auth(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.token}"}


def enrolled_display(session, tenant, name, now, **kw) -> tuple[Display, str]:
    display = Display(tenant_id=tenant.id, name=name, created_at=now, **kw)
    session.add(display)
    session.flush()
    token = enrolment._issue(display, now)
    session.flush()
    return display, token


@pytest.fixture()
def dw(app_ctx, session, factory, now) -> DisplayWorld:
    tenant = factory.tenant("musterstadt", name="Stadt Musterstadt")
    other = factory.tenant("anderstadt", ars="150830000000", name="Gemeinde Anderstadt")
    cat = factory.category(tenant, "Satzungen", binding=("internet", "board"))
    editor = factory.user(tenant, "editor")
    approver = factory.user(tenant, "approver")
    admin = factory.user(tenant, "admin")
    notice = factory.released_notice(tenant, cat, editor, approver, title="Friedhofssatzung")
    display, token = enrolled_display(session, tenant, "Rathaus Foyer", now)
    other_display, other_token = enrolled_display(session, other, "Andere Tafel", now)
    session.commit()
    return DisplayWorld(
        tenant,
        other,
        editor,
        approver,
        admin,
        notice,
        display,
        token,
        other_display,
        other_token,
        factory,
        cat,
    )


def release(dw: DisplayWorld, session, at, **kw) -> Notice:
    notice = dw.factory.released_notice(dw.tenant, dw.cat, dw.editor, dw.approver, at=at, **kw)
    session.commit()
    return notice


__all__ = ["API", "DisplayWorld", "enrolled_display", "release", "timedelta", "validate"]
